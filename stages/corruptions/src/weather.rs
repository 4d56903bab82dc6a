//! The weather family (make_cifar_c.py: `snow`, `frost`, `fog`, `spatter`;
//! brightness, also weather, is with the colour corruptions in `digital`).

use crate::Image;
use crate::blur::clipped_zoom;
use crate::draws::Source;
use crate::magick;
use crate::numpy::{clip01, clip01_f32, to_u8};
use crate::opencv;
use crate::scipy::{self, Mode};
use crate::textures::textures;

/// Falling snow: a thresholded, zoomed noise layer streaked by ImageMagick's
/// motion blur (angle in [-135°, -45°)), added twice (once rotated by 180°)
/// to the image lightened towards 1.5·grey + 0.5.
pub(crate) fn snow(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (loc, scale, zoom, threshold, radius, sigma, blend) = [
        (0.1, 0.2, 1.0, 0.6, 8.0, 3.0, 0.95),
        (0.1, 0.2, 1.0, 0.5, 10.0, 4.0, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10.0, 4.0, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12.0, 6.0, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14.0, 12.0, 0.8),
    ][s];
    let side = image.width();
    let layer: Vec<f64> = source.normal(side * side).into_iter().map(|z| loc + scale * z).collect();
    let layer = clipped_zoom(&layer, side, 1, zoom, false);
    let bytes: Vec<u8> = layer.iter().map(|&v| if v < threshold { 0 } else { to_u8(clip01(v) * 255.0) }).collect();
    let angle = -135.0 + (-45.0 - -135.0) * source.uniform(1)[0];
    let streaks = magick::motion_blur(&bytes, side, side, 1, radius, sigma, angle);
    let streak = |i: usize| f64::from(streaks[i]) / 255.0;

    let x = image.unit_f32();
    let (keep, lift) = (blend as f32, (1.0 - blend) as f32);
    let mut out = vec![0u8; x.len()];
    for p in 0..side * side {
        let grey = opencv::rgb_to_gray(x[3 * p], x[3 * p + 1], x[3 * p + 2]) * 1.5 + 0.5;
        for c in 0..3 {
            let v = x[3 * p + c];
            let lifted = keep * v + lift * v.max(grey);
            // The layer, then the layer turned by 180° (np.rot90(k=2)).
            out[3 * p + c] = to_u8(clip01(f64::from(lifted) + streak(p) + streak(side * side - 1 - p)) * 255.0);
        }
    }
    out
}

/// A random frost texture (one of the first five) resized by 0.2, a random
/// side×side crop of it added with weight b to the image at weight a.
pub(crate) fn frost(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (a, b) = [(1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)][s];
    let texture = &textures()[source.randint(0, 5) as usize];
    let side = image.width();
    let rows = opencv::resize_axis(texture.height, 0.2);
    let cols = opencv::resize_axis(texture.width, 0.2);
    let top = source.randint(0, (rows.len() - side) as i64) as usize;
    let left = source.randint(0, (cols.len() - side) as i64) as usize;
    let mut out = vec![0u8; side * side * 3];
    for i in 0..side {
        for j in 0..side {
            for c in 0..3 {
                let texel = |r: usize, col: usize| texture.rgb[(r * texture.width + col) * 3 + c];
                let f = opencv::resize_sample(texel, rows[top + i], cols[left + j]);
                let at = (i * side + j) * 3 + c;
                let v = a * f64::from(image.pixels()[at]) + b * f64::from(f);
                out[at] = to_u8(v.clamp(0.0, 255.0));
            }
        }
    }
    out
}

/// The reference's `plasma_fractal`: a side×side diamond-square height map
/// (side a power of two), each new point the mean of its four neighbours
/// (wrapping around) plus uniform noise whose scale is divided by `decay`
/// every level, then scaled to [0, 1].
fn plasma_fractal(side: usize, decay: f64, source: &mut Source) -> Vec<f64> {
    let mut map = vec![0.0f64; side * side];
    let mut step = side;
    let mut wibble = 100.0f64;
    let at = |i: usize, j: usize| i * side + j;
    while step >= 2 {
        let half = step / 2;
        let k = side / step;
        let wrap = |i: usize, d: isize| (i as isize + d).rem_euclid(k as isize) as usize;
        let wibbled_mean = |sums: Vec<f64>, source: &mut Source| -> Vec<f64> {
            let u = source.uniform(sums.len());
            sums.iter().zip(u).map(|(&s, u)| s / 4.0 + wibble * (-wibble + (wibble - -wibble) * u)).collect()
        };
        // Squares: the centre of each square of corners.
        let corner = |i: usize, j: usize| map[at(i * step, j * step)];
        let column_pairs: Vec<f64> = (0..k * k).map(|n| corner(n / k, n % k) + corner(wrap(n / k, 1), n % k)).collect();
        let sums: Vec<f64> = (0..k * k).map(|n| column_pairs[n] + column_pairs[(n / k) * k + wrap(n % k, 1)]).collect();
        for (n, v) in wibbled_mean(sums, source).into_iter().enumerate() {
            map[at(half + (n / k) * step, half + (n % k) * step)] = v;
        }
        // Diamonds: the midpoints of the squares' top and left edges.
        let dr = |i: usize, j: usize| map[at(half + i * step, half + j * step)];
        let ul = |i: usize, j: usize| map[at(i * step, j * step)];
        let top: Vec<f64> = (0..k * k)
            .map(|n| {
                let (i, j) = (n / k, n % k);
                (dr(i, j) + dr(wrap(i, -1), j)) + (ul(i, j) + ul(i, wrap(j, 1)))
            })
            .collect();
        let left: Vec<f64> = (0..k * k)
            .map(|n| {
                let (i, j) = (n / k, n % k);
                (dr(i, j) + dr(i, wrap(j, -1))) + (ul(i, j) + ul(wrap(i, 1), j))
            })
            .collect();
        for (n, v) in wibbled_mean(top, source).into_iter().enumerate() {
            map[at((n / k) * step, half + (n % k) * step)] = v;
        }
        for (n, v) in wibbled_mean(left, source).into_iter().enumerate() {
            map[at(half + (n / k) * step, (n % k) * step)] = v;
        }
        step /= 2;
        wibble /= decay;
    }
    let min = map.iter().copied().fold(f64::INFINITY, f64::min);
    for v in &mut map {
        *v -= min;
    }
    let max = map.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    map.iter().map(|v| v / max).collect()
}

/// A plasma fractal added, then the image rescaled to keep its maximum.
pub(crate) fn fog(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (c, decay) = [(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)][s];
    let side = image.width();
    let x = image.unit_f64();
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let plasma = plasma_fractal(side, decay, source);
    x.iter().enumerate().map(|(i, &v)| to_u8(clip01((v + c * plasma[i / 3]) * max / (max + c)) * 255.0)).collect()
}

/// Liquid on the lens: smoothed noise above a threshold. Severities 1-3:
/// water, its edges shaded through Canny, a distance transform, histogram
/// equalisation and an emboss kernel, tinted pale turquoise; 4-5: mud,
/// brown blobs replacing the image.
pub(crate) fn spatter(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let (loc, scale, sigma, threshold, intensity, mud) = [
        (0.62, 0.1, 0.7, 0.7, 0.5, false),
        (0.65, 0.1, 0.8, 0.7, 0.5, false),
        (0.65, 0.3, 1.0, 0.69, 0.5, false),
        (0.65, 0.1, 0.7, 0.69, 0.6, true),
        (0.65, 0.1, 0.5, 0.68, 0.6, true),
    ][s];
    let side = image.width();
    let n = side * side;
    let x = image.unit_f32();
    let noise: Vec<f64> = source.normal(n).into_iter().map(|z| loc + scale * z).collect();
    let mut liquid = scipy::gaussian_filter(&noise, &[side, side], &[sigma, sigma], Mode::Nearest, 4.0, false);
    for v in &mut liquid {
        if *v < threshold {
            *v = 0.0;
        }
    }
    if mud {
        // The mask blurred with σ = intensity (the reference's c[4]) in float32.
        let mask: Vec<f64> = liquid.iter().map(|&v| if v > threshold { 1.0 } else { 0.0 }).collect();
        let m: Vec<f32> =
            scipy::gaussian_filter(&mask, &[side, side], &[intensity, intensity], Mode::Nearest, 4.0, true)
                .into_iter()
                .map(|v| if (v as f32) < 0.8 { 0.0 } else { v as f32 })
                .collect();
        let colour = [(63.0 / 255.0) as f32, (42.0 / 255.0) as f32, (20.0 / 255.0) as f32];
        return (0..n * 3)
            .map(|i| {
                let m = m[i / 3];
                let v = x[i] * (1.0 - m) + colour[i % 3] * m;
                to_u8(f64::from(clip01_f32(v) * 255.0))
            })
            .collect();
    }
    // `(liquid_layer * 255).astype(np.uint8)`: x86 keeps the low byte of the integer part.
    let liquid: Vec<u8> = liquid.iter().map(|&v| (v * 255.0) as i64 as u8).collect();
    let edges = opencv::canny(&liquid, side, side, 50, 150);
    let not_edges: Vec<u8> = edges.iter().map(|&e| 255 - e).collect();
    // THRESH_TRUNC at 20.
    let dist: Vec<f32> = opencv::distance_transform(&not_edges, side, side).into_iter().map(|d| d.min(20.0)).collect();
    let dist: Vec<u8> = opencv::blur3_f32(&dist, side, side).into_iter().map(|d| d as u8).collect();
    let dist = opencv::equalize_hist(&dist);
    let dist = opencv::filter2d_u8(&dist, side, side, [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]);
    let dist = opencv::blur3_u8(&dist, side, side);
    let m: Vec<f32> = liquid.iter().zip(&dist).map(|(&l, &d)| f32::from(l) * f32::from(d)).collect();
    let max = m.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let intensity = intensity as f32;
    let colour = [(175.0 / 255.0) as f32, (238.0 / 255.0) as f32, (238.0 / 255.0) as f32];
    (0..n * 3)
        .map(|i| {
            // A layer without liquid divides 0 by 0: NaN, which np.uint8 makes 0, as here.
            let m = m[i / 3] / max * intensity;
            to_u8(f64::from(clip01_f32(x[i] + m * colour[i % 3]) * 255.0))
        })
        .collect()
}
