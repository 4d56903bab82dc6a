//! The blur family (make_cifar_c.py: `defocus_blur`, `glass_blur`,
//! `motion_blur`, `zoom_blur`, `gaussian_blur`), and the reference's
//! `clipped_zoom`, which snow uses too.

use crate::Image;
use crate::draws::Source;
use crate::magick;
use crate::numpy::{arange, clip01, clip01_f32, pairwise_sum, to_u8};
use crate::opencv;
use crate::scipy::{self, Mode};

/// skimage's `gaussian(x, sigma, channel_axis=-1)` of an HWC float64 image.
fn gaussian_hwc(x: &[f64], side: usize, sigma: f64) -> Vec<f64> {
    scipy::gaussian_filter(x, &[side, side, 3], &[sigma, sigma, 0.0], Mode::Nearest, 4.0, false)
}

pub(crate) fn gaussian_blur(image: &Image, s: usize) -> Vec<u8> {
    let sigma = [0.4, 0.6, 0.7, 0.8, 1.0][s];
    gaussian_hwc(&image.unit_f64(), image.width(), sigma).iter().map(|&v| to_u8(clip01(v) * 255.0)).collect()
}

/// Blur, cut to bytes, move pixels by up to one step up or left, blur again.
/// The reference's "swap" `x[h, w], x[h', w'] = x[h', w'], x[h, w]` acts on
/// NumPy views, so it copies `x[h', w']` into `x[h, w]` and leaves
/// `x[h', w']` as it was; so does this.
pub(crate) fn glass_blur(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (sigma, delta, iterations) = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)][s];
    let side = image.width();
    let mut x: Vec<u8> = gaussian_hwc(&image.unit_f64(), side, sigma).iter().map(|&v| to_u8(v * 255.0)).collect();
    for _ in 0..iterations {
        // range(side - delta, delta, -1); randint(-delta, delta) is in [-delta, delta).
        for h in (delta as usize + 1..=side - delta as usize).rev() {
            for w in (delta as usize + 1..=side - delta as usize).rev() {
                let dx = source.randint(-delta, delta);
                let dy = source.randint(-delta, delta);
                let from = ((h as i64 + dy) as usize * side + (w as i64 + dx) as usize) * 3;
                let to = (h * side + w) * 3;
                x.copy_within(from..from + 3, to);
            }
        }
    }
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v) / 255.0).collect();
    gaussian_hwc(&x, side, sigma).iter().map(|&v| to_u8(clip01(v) * 255.0)).collect()
}

/// The reference's `disk`: a 17×17 float32 disk of `radius`, normalised,
/// then anti-aliased by `cv2.GaussianBlur(..., (3, 3), alias_blur)`.
fn disk(radius: f64, alias_blur: f64) -> Vec<f32> {
    const HALF: i64 = 8; // L = arange(-8, 8 + 1) for every radius <= 8
    let side = (2 * HALF + 1) as usize;
    let mut aliased: Vec<f32> = (-HALF..=HALF)
        .flat_map(|y| (-HALF..=HALF).map(move |x| if ((x * x + y * y) as f64) <= radius * radius { 1.0 } else { 0.0 }))
        .collect();
    let total = pairwise_sum(&aliased);
    for v in &mut aliased {
        *v /= total;
    }
    opencv::gaussian_blur3(&aliased, side, side, alias_blur)
}

/// Each channel correlated with the anti-aliased disk (`cv2.filter2D`).
pub(crate) fn defocus_blur(image: &Image, s: usize) -> Vec<u8> {
    let (radius, alias_blur) = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)][s];
    let kernel = disk(radius, alias_blur);
    let side = image.width();
    let x = image.unit_f64();
    let mut out = vec![0u8; x.len()];
    for c in 0..3 {
        let channel: Vec<f64> = x.iter().skip(c).step_by(3).copied().collect();
        for (i, v) in opencv::filter2d(&channel, side, side, &kernel, 17).into_iter().enumerate() {
            out[i * 3 + c] = to_u8(clip01(v) * 255.0);
        }
    }
    out
}

/// ImageMagick's motion blur at a uniform angle in [-45°, 45°).
pub(crate) fn motion_blur(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (radius, sigma) = [(6.0, 1.0), (6.0, 1.5), (6.0, 2.0), (8.0, 2.0), (9.0, 2.5)][s];
    let angle = -45.0 + (45.0 - -45.0) * source.uniform(1)[0];
    let side = image.width();
    magick::motion_blur(image.pixels(), side, side, 3, radius, sigma, angle)
}

/// The reference's `clipped_zoom`: the central `ceil(side / z)` square,
/// zoomed by z (`scipy.ndimage.zoom`, order 1), its central side×side.
pub(crate) fn clipped_zoom(x: &[f64], side: usize, channels: usize, z: f64, f32_output: bool) -> Vec<f64> {
    let crop = (side as f64 / z).ceil() as usize;
    let top = (side - crop) / 2;
    let cropped: Vec<f64> = (top..top + crop)
        .flat_map(|row| x[(row * side + top) * channels..(row * side + top + crop) * channels].iter().copied())
        .collect();
    let zoomed_side = (crop as f64 * z).round_ties_even() as usize;
    let trim = (zoomed_side - side) / 2;
    scipy::zoom(&cropped, crop, channels, zoomed_side, trim..trim + side, f32_output)
}

/// The mean of the image and its zooms by 1, 1.01, ... (float32).
pub(crate) fn zoom_blur(image: &Image, s: usize) -> Vec<u8> {
    let zooms = arange(1.0, [1.06, 1.11, 1.16, 1.21, 1.26][s], 0.01);
    let side = image.width();
    let x: Vec<f32> = image.unit_f64().iter().map(|&v| v as f32).collect();
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut sum = vec![0.0f32; x.len()];
    for &z in &zooms {
        for (acc, v) in sum.iter_mut().zip(clipped_zoom(&x64, side, 3, z, true)) {
            *acc += v as f32;
        }
    }
    let count = (zooms.len() + 1) as f32;
    x.iter().zip(sum).map(|(&x, sum)| to_u8(f64::from(clip01_f32((x + sum) / count) * 255.0))).collect()
}
