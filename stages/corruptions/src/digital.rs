//! The digital family (make_cifar_c.py: `contrast`, `elastic_transform`,
//! `pixelate`, `jpeg_compression`, `saturate`) and `brightness`, which
//! shares saturate's HSV round trip.

use crate::Image;
use crate::draws::Source;
use crate::numpy::{clip01, clip01_f32, to_u8};
use crate::opencv;
use crate::pillow;
use crate::scipy::{self, Mode};
use crate::skimage::{hsv2rgb, rgb2hsv};

/// Every pixel through `rgb2hsv`, `edit`, `hsv2rgb`.
fn in_hsv(image: &Image, edit: impl Fn([f64; 3]) -> [f64; 3]) -> Vec<u8> {
    let x = image.unit_f64();
    x.chunks_exact(3)
        .flat_map(|p| hsv2rgb(edit(rgb2hsv([p[0], p[1], p[2]]))).map(|v| to_u8(clip01(v) * 255.0)))
        .collect()
}

/// Value (HSV) raised by c.
pub(crate) fn brightness(image: &Image, s: usize) -> Vec<u8> {
    let c = [0.05, 0.1, 0.15, 0.2, 0.3][s];
    in_hsv(image, |[h, sat, v]| [h, sat, clip01(v + c)])
}

/// Saturation scaled by c0, plus c1.
pub(crate) fn saturate(image: &Image, s: usize) -> Vec<u8> {
    let (scale, shift) = [(0.3, 0.0), (0.1, 0.0), (1.5, 0.0), (2.0, 0.1), (2.5, 0.2)][s];
    in_hsv(image, |[h, sat, v]| [h, clip01(sat * scale + shift), v])
}

/// Deviations from each channel's mean scaled by c. The means are NumPy's
/// `mean(axis=(0, 1))` of a C-ordered image: a running sum over the pixels
/// (the reduced axes are not the innermost), divided by their number.
pub(crate) fn contrast(image: &Image, s: usize) -> Vec<u8> {
    let c = [0.75, 0.5, 0.4, 0.3, 0.15][s];
    let x = image.unit_f64();
    let mut means = [0.0f64; 3];
    for p in x.chunks_exact(3) {
        for (m, &v) in means.iter_mut().zip(p) {
            *m += v;
        }
    }
    let count = (x.len() / 3) as f64;
    let means = means.map(|m| m / count);
    x.iter().enumerate().map(|(i, &v)| to_u8(clip01((v - means[i % 3]) * c + means[i % 3]) * 255.0)).collect()
}

/// A random affine warp of the three points around the centre (OpenCV),
/// then a smooth random displacement field (SciPy): the reference's
/// `elastic_transform`, with its `IMSIZE` the image's side.
pub(crate) fn elastic_transform(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let size = image.width() as f64;
    let (alpha, sigma, affine) = [
        (size * 0.0, size * 0.0, size * 0.08),
        (size * 0.05, size * 0.2, size * 0.07),
        (size * 0.08, size * 0.06, size * 0.06),
        (size * 0.1, size * 0.04, size * 0.05),
        (size * 0.1, size * 0.03, size * 0.03),
    ][s];
    let side = image.width();
    let centre = (side / 2) as f32;
    let third = (side / 3) as f32;
    let from = [[centre + third, centre + third], [centre + third, centre - third], [centre - third, centre - third]];
    let u = source.uniform(6);
    let shift = |k: usize| (-affine + (affine - -affine) * u[k]) as f32;
    let to = [0, 1, 2].map(|i| [from[i][0] + shift(2 * i), from[i][1] + shift(2 * i + 1)]);
    let warped = opencv::warp_affine(&image.unit_f32(), side, side, opencv::affine_transform(from, to));

    let mut field = || -> Vec<f64> {
        let u: Vec<f64> = source.uniform(side * side).into_iter().map(|u| -1.0 + (1.0 - -1.0) * u).collect();
        scipy::gaussian_filter(&u, &[side, side], &[sigma, sigma], Mode::Reflect, 3.0, false)
            .into_iter()
            .map(|v| f64::from((v * alpha) as f32))
            .collect()
    };
    let dx = field();
    let dy = field();
    let warped: Vec<f64> = warped.iter().map(|&v| f64::from(v)).collect();
    scipy::map_coordinates_reflect(&warped, side, &dy, &dx)
        .into_iter()
        .map(|v| to_u8(f64::from(clip01_f32(v as f32) * 255.0)))
        .collect()
}

/// Pillow's BOX resize down to `int(side · c)` and back.
pub(crate) fn pixelate(image: &Image, s: usize) -> Vec<u8> {
    let c = [0.95, 0.9, 0.85, 0.75, 0.65][s];
    let side = image.width();
    let small = (side as f64 * c) as usize;
    let down = pillow::resize_box(image.pixels(), side, side, small, small);
    pillow::resize_box(&down, small, small, side, side)
}

/// Saved as a JPEG of quality c and read back. Pillow writes with
/// libjpeg-turbo: baseline, IJG quality scaling of the standard tables,
/// 4:2:0 chroma, islow DCT; jpeg-encoder does the same steps. Decoding
/// (zune-jpeg) rounds its inverse DCT, upsampling and colour conversion
/// differently from libjpeg-turbo, so values may differ by a few levels.
pub(crate) fn jpeg_compression(image: &Image, s: usize) -> Vec<u8> {
    let quality = [80, 65, 58, 50, 40][s];
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, quality);
    // libjpeg averages each 2×2 block of chroma; jpeg-encoder's default takes its first pixel.
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    encoder
        .encode(image.pixels(), image.width() as u16, image.height() as u16, jpeg_encoder::ColorType::Rgb)
        .expect("check_size admits only sizes JPEG can hold");
    let mut decoder = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(&bytes));
    decoder.decode().expect("a JPEG written here decodes")
}
