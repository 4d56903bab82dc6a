//! ImageMagick's motion blur, as the reference calls it through Wand
//! (`MagickMotionBlurImage(wand, radius, sigma, angle)` on an 8-bit PNG,
//! then the PNG read back with OpenCV).
//!
//! Written from ImageMagick 6.9.11-60's `MotionBlurImageChannel`
//! (magick/effect.c; Debian 12's libmagickwand-6.q16-6, a Q16 build without
//! HDRI, which the cross-check runs): a one-sided Gaussian kernel of
//! `2·ceil(radius) + 1` taps (`GetOptimalKernelWidth1D`), `k[i] ∝
//! exp(-i²/2σ²)`, applied along the angle at integer offsets rounded from
//! `i·(cos, sin)`, the image's edge repeating beyond its border (the
//! default virtual-pixel method). Pixels are 16-bit quanta (byte × 257);
//! the sum is rounded to a quantum (`ClampToQuantum`), and the PNG encoder
//! reduces the image to its 8-bit depth (`SetImageDepth` in coders/png.c:
//! `ScaleQuantumToAny(q, 255)`, which truncates 255·q/65535). How it is checked:
//! `tests/reference.rs` runs the reference's `motion_blur` and `snow`
//! through Wand with the angle robbench drew, and compares bytes.

/// Motion blur of an H×W image with `channels` bytes per pixel (1 or 3).
pub(crate) fn motion_blur(
    pixels: &[u8],
    h: usize,
    w: usize,
    channels: usize,
    radius: f64,
    sigma: f64,
    angle: f64,
) -> Vec<u8> {
    let width = (2.0 * radius.ceil() + 1.0) as usize;
    let sigma = if sigma.abs() < 1e-12 { 1e-12 } else { sigma };
    const SQRT_2PI: f64 = 2.506_628_274_631_000_241_612_355_239_340_104_162_693_023_681_640_62;
    let mut kernel: Vec<f64> =
        (0..width).map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp() / (SQRT_2PI * sigma)).collect();
    let normalize = kernel.iter().fold(0.0, |s, &k| s + k);
    for k in &mut kernel {
        *k /= normalize;
    }
    let radians = std::f64::consts::PI * angle / 180.0;
    let (px, py) = (width as f64 * radians.sin(), width as f64 * radians.cos());
    let norm = px.hypot(py);
    let offsets: Vec<(isize, isize)> = (0..width)
        .map(|i| {
            let dx = (i as f64 * py / norm - 0.5).ceil() as isize;
            let dy = (i as f64 * px / norm - 0.5).ceil() as isize;
            (dx, dy)
        })
        .collect();
    let mut out = vec![0u8; pixels.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels {
                let mut sum = 0.0;
                for (k, &(dx, dy)) in kernel.iter().zip(&offsets) {
                    let sx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                    let sy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                    sum += k * f64::from(257 * u16::from(pixels[(sy * w + sx) * channels + c]));
                }
                out[(y * w + x) * channels + c] = quantum_to_byte(clamp_to_quantum(sum));
            }
        }
    }
    out
}

/// `ClampToQuantum` (Q16, no HDRI): rounded half up into 0..=65535.
fn clamp_to_quantum(v: f64) -> u32 {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= 65535.0 {
        65535
    } else {
        (v + 0.5) as u32
    }
}

/// `ScaleQuantumToAny(q, 255)` (Q16, no HDRI): `(255.0 · q) / 65535`, truncated.
fn quantum_to_byte(q: u32) -> u8 {
    (255.0 * f64::from(q) / 65535.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quanta_round_trip_bytes() {
        for v in 0..=255u32 {
            assert_eq!(quantum_to_byte(clamp_to_quantum(f64::from(v * 257))), v as u8);
        }
    }

    #[test]
    fn a_flat_image_stays_flat_and_a_dot_smears_along_the_angle() {
        let flat = vec![90u8; 8 * 8];
        assert_eq!(motion_blur(&flat, 8, 8, 1, 3.0, 1.0, 30.0), flat);
        let mut dot = vec![0u8; 9 * 9];
        dot[4 * 9 + 4] = 255;
        // Angle 0: offsets run along +x, so the dot spreads to the pixels on its left.
        let out = motion_blur(&dot, 9, 9, 1, 2.0, 1.0, 0.0);
        assert!(out[4 * 9 + 3] > 0 && out[4 * 9 + 5] == 0 && out[3 * 9 + 4] == 0, "{out:?}");
    }
}
