//! The `scipy.ndimage` functions the reference calls (scikit-image's
//! `gaussian` is `gaussian_filter`), ported from SciPy 1.17's
//! `ndimage/src/ni_filters.c`, `ni_support.c`, `ni_interpolation.c` and
//! `ni_splines.c`, keeping their order of float64 operations.
//!
//! Arrays are C-ordered float64 buffers with a shape; `f32` outputs are
//! rounded to float32 after every pass, as SciPy stores into a float32
//! output array.

use std::ops::Range;

use crate::numpy::pairwise_sum;

/// How lines are extended past their ends (`mode=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `aaaa|abcd|dddd`
    Nearest,
    /// `dcba|abcd|dcba` (SciPy's "reflect": the edge sample repeats)
    Reflect,
}

impl Mode {
    /// Index `i` of a line of `len` extended this way (`NI_ExtendLine`).
    fn index(self, i: isize, len: usize) -> usize {
        let n = len as isize;
        match self {
            Mode::Nearest => i.clamp(0, n - 1) as usize,
            Mode::Reflect => {
                let m = i.rem_euclid(2 * n);
                (if m < n { m } else { 2 * n - 1 - m }) as usize
            }
        }
    }
}

/// `gaussian_filter(input, sigmas, mode=mode, truncate=truncate)`: a 1-D
/// Gaussian along every axis whose σ exceeds 1e-15, in axis order.
pub(crate) fn gaussian_filter(
    data: &[f64],
    shape: &[usize],
    sigmas: &[f64],
    mode: Mode,
    truncate: f64,
    f32_output: bool,
) -> Vec<f64> {
    let mut out = data.to_vec();
    for (axis, &sigma) in sigmas.iter().enumerate() {
        if sigma > 1e-15 {
            let radius = (truncate * sigma + 0.5) as usize;
            out = correlate1d(&out, shape, axis, &gaussian_kernel(sigma, radius), mode);
            if f32_output {
                round_f32(&mut out);
            }
        }
    }
    out
}

/// `_gaussian_kernel1d(sigma, 0, radius)`: exp(-x²/2σ²) over -radius..=radius,
/// divided by its (pairwise) sum.
fn gaussian_kernel(sigma: f64, radius: usize) -> Vec<f64> {
    let r = radius as i64;
    let factor = -0.5 / (sigma * sigma);
    let phi: Vec<f64> = (-r..=r).map(|x| (factor * (x * x) as f64).exp()).collect();
    let sum = pairwise_sum(&phi);
    phi.iter().map(|p| p / sum).collect()
}

/// `correlate1d` with a symmetric, odd-sized kernel: each output is
/// `in[i]·w[0] + Σ_j (in[i-j] + in[i+j])·w[j]`, outermost pair first
/// (`NI_Correlate1D`'s symmetric branch).
fn correlate1d(data: &[f64], shape: &[usize], axis: usize, weights: &[f64], mode: Mode) -> Vec<f64> {
    let len = shape[axis];
    let stride: usize = shape[axis + 1..].iter().product();
    let half = weights.len() / 2;
    let w = &weights[half..];
    let mut out = vec![0.0; data.len()];
    let mut line = vec![0.0; len + 2 * half];
    let outer = data.len() / (len * stride);
    for o in 0..outer {
        for inner in 0..stride {
            let base = o * len * stride + inner;
            for (k, slot) in line.iter_mut().enumerate() {
                *slot = data[base + mode.index(k as isize - half as isize, len) * stride];
            }
            for i in 0..len {
                let c = i + half;
                let mut s = line[c] * w[0];
                for j in (1..=half).rev() {
                    s += (line[c - j] + line[c + j]) * w[j];
                }
                out[base + i * stride] = s;
            }
        }
    }
    out
}

fn round_f32(values: &mut [f64]) {
    for v in values {
        *v = f64::from(*v as f32);
    }
}

/// Order-1 spline weights at a coordinate (`get_spline_interpolation_weights`):
/// `w0 = 1 - t`, `w1 = 1 - w0`, with t the fractional part.
fn linear_weights(cc: f64) -> [f64; 2] {
    let t = cc - cc.floor();
    let w0 = 1.0 - t;
    [w0, 1.0 - w0]
}

/// Where an out-of-range spline tap reads (`map_coordinate` in mirror mode,
/// which `zoom`'s constant mode uses for taps: `cbabcd|dcb`).
fn mirror_tap(i: isize, len: usize) -> usize {
    let n = len as isize;
    if n <= 1 {
        return 0;
    }
    let period = 2 * n - 2;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - m }) as usize
}

/// One axis of `zoom` to `output` samples, at the output indices
/// `window`: the two taps' indices and weights, or `None` where SciPy's
/// constant mode puts `cval` (a coordinate beyond the last sample).
fn zoom_axis(input: usize, output: usize, window: Range<usize>) -> Vec<Option<([usize; 2], [f64; 2])>> {
    let zoom = if output > 1 { (input - 1) as f64 / (output - 1) as f64 } else { 1.0 };
    window
        .map(|k| {
            let cc = k as f64 * zoom;
            if cc > (input - 1) as f64 {
                return None;
            }
            let start = cc.floor() as isize;
            let taps = [mirror_tap(start, input), mirror_tap(start + 1, input)];
            Some((taps, linear_weights(cc)))
        })
        .collect()
}

/// The `window`×`window` part of `scipy.ndimage.zoom(input, (z, z, 1),
/// order=1)` of a side×side×C array zoomed to `out_side`×`out_side`×C
/// (`mode='constant'`, `grid_mode=False`: output corners land on input
/// corners). Each value is the sum over the 2×2×2
/// taps, last axis fastest, of `value · w_row · w_col · w_channel`
/// (`NI_ZoomShift`). The channel weights are 1 on the channel and 0 on its
/// neighbour; the zero terms add ±0, which changes no sum but the sign of a
/// zero, so they are left out.
pub(crate) fn zoom(
    data: &[f64],
    side: usize,
    channels: usize,
    out_side: usize,
    window: Range<usize>,
    f32_output: bool,
) -> Vec<f64> {
    let axis = zoom_axis(side, out_side, window);
    let n = axis.len();
    let mut out = vec![0.0; n * n * channels];
    for (i, row) in axis.iter().enumerate() {
        for (j, col) in axis.iter().enumerate() {
            for c in 0..channels {
                let (Some((rows, wr)), Some((cols, wc))) = (row, col) else { continue };
                let mut t = 0.0;
                for a in 0..2 {
                    for b in 0..2 {
                        t += data[(rows[a] * side + cols[b]) * channels + c] * wr[a] * wc[b];
                    }
                }
                out[(i * n + j) * channels + c] = if f32_output { f64::from(t as f32) } else { t };
            }
        }
    }
    out
}

/// `map_coordinate` in reflect mode for a coordinate outside [0, len-1].
fn reflect_coordinate(cc: f64, len: usize) -> f64 {
    let n = len as f64;
    if len <= 1 {
        return 0.0;
    }
    let period = 2 * len as i64;
    if cc < 0.0 {
        let mut c = cc;
        if c < -(period as f64) {
            c += (period * ((-c) / period as f64) as i64) as f64;
        }
        if c < -n { c + period as f64 } else { (if c > -1e-15 { 1e-15 } else { -c }) - 1.0 }
    } else if cc > n - 1.0 {
        let c = cc - (period * (cc / period as f64) as i64) as f64;
        if c >= n { period as f64 - c - 1.0 } else { c }
    } else {
        cc
    }
}

/// Reflect-mode index of a spline tap (`map_coordinate` on an integer).
fn reflect_tap(i: isize, len: usize) -> usize {
    reflect_coordinate(i as f64, len) as usize
}

/// `map_coordinates(image, (rows, cols, channel), order=1, mode='reflect')`
/// for an H×W×3 float32 image, where every output is sampled at
/// `(y + dy[y, x], x + dx[y, x], c)`: float64 coordinates, float32 output.
/// As in [`zoom`], the channel axis's zero-weight taps are left out.
pub(crate) fn map_coordinates_reflect(image: &[f64], side: usize, dy: &[f64], dx: &[f64]) -> Vec<f64> {
    const C: usize = 3;
    let mut out = vec![0.0; side * side * C];
    let axis = |cc: f64, len: usize| -> ([usize; 2], [f64; 2]) {
        let cc = reflect_coordinate(cc, len);
        let start = cc.floor() as isize;
        ([reflect_tap(start, len), reflect_tap(start + 1, len)], linear_weights(cc))
    };
    for y in 0..side {
        for x in 0..side {
            let (rows, wr) = axis(y as f64 + dy[y * side + x], side);
            let (cols, wc) = axis(x as f64 + dx[y * side + x], side);
            for c in 0..C {
                let mut t = 0.0;
                for a in 0..2 {
                    for b in 0..2 {
                        t += image[(rows[a] * side + cols[b]) * C + c] * wr[a] * wc[b];
                    }
                }
                out[(y * side + x) * C + c] = f64::from(t as f32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_repeats_the_edge_sample_and_has_period_twice_the_length() {
        let idx: Vec<usize> = (-5..9).map(|i| Mode::Reflect.index(i, 4)).collect();
        assert_eq!(idx, [3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
        assert_eq!(reflect_coordinate(-0.25, 4), -0.75);
        assert_eq!(reflect_coordinate(3.5, 4), 3.5);
        assert_eq!(reflect_coordinate(4.25, 4), 2.75);
    }

    #[test]
    fn gaussian_kernel_sums_to_one_and_zoom_by_one_is_the_identity() {
        let k = gaussian_kernel(1.0, 4);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15 && k.len() == 9);
        let data: Vec<f64> = (0..48).map(f64::from).collect();
        assert_eq!(zoom(&data, 4, 3, 4, 0..4, false), data);
        assert_eq!(zoom(&data, 4, 3, 4, 1..3, false), [&data[15..21], &data[27..33]].concat());
    }
}
