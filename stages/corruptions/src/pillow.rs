//! Pillow's `Image.resize(size, Image.BOX)` for RGB images
//! (`src/libImaging/Resample.c`, Pillow 12): a horizontal then a vertical
//! pass, each with box weights normalised and fixed to 22 fractional bits,
//! rounded and clipped to bytes.

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per output index: the first input index and the fixed-point weights
/// (`precompute_coeffs` with the box filter, support 0.5, then
/// `normalize_coeffs_8bpc`).
fn box_coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = 0.5 * filter_scale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let weights: Vec<f64> = (xmin..xmax)
                .map(|x| {
                    let t = (x as f64 - center + 0.5) / filter_scale;
                    if t > -0.5 && t <= 0.5 { 1.0 } else { 0.0 }
                })
                .collect();
            let total: f64 = weights.iter().fold(0.0, |s, &w| s + w);
            let fixed = weights
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    (0.5 + w * f64::from(1u32 << PRECISION_BITS)) as i64
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// `clip8`: the rounded sum's integer part, clipped to a byte.
fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// An H×W RGB image resized to `out_h`×`out_w` with Pillow's BOX filter.
pub(crate) fn resize_box(pixels: &[u8], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<u8> {
    let mut horizontal = pixels.to_vec();
    let mut width = w;
    if out_w != w {
        let coefficients = box_coefficients(w, out_w);
        horizontal = vec![0; h * out_w * 3];
        for y in 0..h {
            for (x, (start, weights)) in coefficients.iter().enumerate() {
                for c in 0..3 {
                    let sum = weights.iter().enumerate().fold(1i64 << (PRECISION_BITS - 1), |s, (k, &wt)| {
                        s + i64::from(pixels[(y * w + start + k) * 3 + c]) * wt
                    });
                    horizontal[(y * out_w + x) * 3 + c] = clip8(sum);
                }
            }
        }
        width = out_w;
    }
    if out_h == h {
        return horizontal;
    }
    let coefficients = box_coefficients(h, out_h);
    let mut out = vec![0; out_h * width * 3];
    for (y, (start, weights)) in coefficients.iter().enumerate() {
        for x in 0..width {
            for c in 0..3 {
                let sum = weights.iter().enumerate().fold(1i64 << (PRECISION_BITS - 1), |s, (k, &wt)| {
                    s + i64::from(horizontal[((start + k) * width + x) * 3 + c]) * wt
                });
                out[(y * width + x) * 3 + c] = clip8(sum);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_resize_keeps_flat_images_and_averages_halves() {
        let flat = vec![77u8; 8 * 8 * 3];
        assert_eq!(resize_box(&flat, 8, 8, 5, 5), vec![77u8; 5 * 5 * 3]);
        let row: Vec<u8> = [0u8, 0, 0, 100, 100, 100].to_vec();
        assert_eq!(resize_box(&row, 1, 2, 1, 1), vec![50, 50, 50]);
    }
}
