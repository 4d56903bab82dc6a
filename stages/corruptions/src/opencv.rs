//! The OpenCV functions the reference calls, as opencv-python 4.14 computes
//! them on x86-64: `GaussianBlur` (float32, 3×3), `filter2D`,
//! `cvtColor(RGB2GRAY)` (float32), `getAffineTransform`, `warpAffine`
//! (float32), `Canny`, `distanceTransform` (L2, 5×5 mask), `blur` (3×3),
//! `equalizeHist` and `resize` (bilinear, bytes). Each was checked value for
//! value against cv2 on random inputs while writing it (its operation
//! order, fused or not, is the one that matched); `tests/reference.rs`
//! checks them inside the corruptions.

/// `borderInterpolate(p, len, BORDER_REFLECT_101)`: `gfedcb|abcdefgh|gfedcba`.
pub(crate) fn reflect101(p: isize, len: usize) -> usize {
    let n = len as isize;
    if n == 1 {
        return 0;
    }
    let mut p = p;
    while p < 0 || p >= n {
        p = if p < 0 { -p } else { 2 * n - 2 - p };
    }
    p as usize
}

/// `getGaussianKernel(3, sigma, CV_32F)` as (side, centre) weights:
/// exp(-x²/2σ²) normalised in float64 (OpenCV's soft-float kernel), then
/// rounded to float32.
fn gaussian_kernel3(sigma: f64) -> (f32, f32) {
    let t = (4.0 * (-0.125 / (sigma * sigma))).exp();
    let mul = 1.0 / (t * 2.0 + 1.0);
    ((t * mul) as f32, mul as f32)
}

/// `GaussianBlur(image, (3, 3), sigma)` of a float32 image with the default
/// BORDER_REFLECT_101: rows then columns, `centre·k0 + (left + right)·k1`
/// in float32 without fused multiply-adds.
pub(crate) fn gaussian_blur3(data: &[f32], h: usize, w: usize, sigma: f64) -> Vec<f32> {
    let (side, centre) = gaussian_kernel3(sigma);
    let mut rows = vec![0.0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            let at = |dx: isize| data[y * w + reflect101(x as isize + dx, w)];
            rows[y * w + x] = at(0) * centre + (at(-1) + at(1)) * side;
        }
    }
    let mut out = vec![0.0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            let at = |dy: isize| rows[reflect101(y as isize + dy, h) * w + x];
            out[y * w + x] = at(0) * centre + (at(-1) + at(1)) * side;
        }
    }
    out
}

/// `filter2D(channel, -1, kernel)` of a float64 channel with a float32
/// k×k kernel (anchor at the centre, BORDER_REFLECT_101). OpenCV convolves
/// kernels this large by DFT; the direct sum here differs from it by
/// rounding (~1e-16). Zero weights, most of a defocus kernel, are skipped.
pub(crate) fn filter2d(channel: &[f64], h: usize, w: usize, kernel: &[f32], k: usize) -> Vec<f64> {
    let half = (k / 2) as isize;
    let taps: Vec<(isize, isize, f64)> = (0..k * k)
        .filter(|&t| kernel[t] != 0.0)
        .map(|t| ((t / k) as isize - half, (t % k) as isize - half, f64::from(kernel[t])))
        .collect();
    let mut out = vec![0.0; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for &(dy, dx, weight) in &taps {
                s += weight * channel[reflect101(y as isize + dy, h) * w + reflect101(x as isize + dx, w)];
            }
            out[y * w + x] = s;
        }
    }
    out
}

/// `cvtColor(rgb, COLOR_RGB2GRAY)` of one float32 pixel:
/// fma(B, 0.114, fma(R, 0.299, G·0.587)).
pub(crate) fn rgb_to_gray(r: f32, g: f32, b: f32) -> f32 {
    b.mul_add(0.114, r.mul_add(0.299, g * 0.587))
}

/// `getAffineTransform(src, dst)`: the 2×3 matrix, row-major, from the 6×6
/// system solved by LU with partial pivoting (`LUImpl`), in float64.
pub(crate) fn affine_transform(src: [[f32; 2]; 3], dst: [[f32; 2]; 3]) -> [f64; 6] {
    let mut a = [[0.0f64; 6]; 6];
    let mut b = [0.0f64; 6];
    for i in 0..3 {
        let (x, y) = (f64::from(src[i][0]), f64::from(src[i][1]));
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0];
        b[2 * i] = f64::from(dst[i][0]);
        b[2 * i + 1] = f64::from(dst[i][1]);
    }
    for i in 0..6 {
        let pivot = (i..6).fold(i, |k, j| if a[j][i].abs() > a[k][i].abs() { j } else { k });
        a.swap(i, pivot);
        b.swap(i, pivot);
        let d = -1.0 / a[i][i];
        let pivot_row = a[i];
        for j in i + 1..6 {
            let alpha = a[j][i] * d;
            for (x, &p) in a[j][i + 1..].iter_mut().zip(&pivot_row[i + 1..]) {
                *x += alpha * p;
            }
            b[j] += alpha * b[i];
        }
    }
    for i in (0..6).rev() {
        let mut s = b[i];
        for k in i + 1..6 {
            s -= a[i][k] * b[k];
        }
        b[i] = s / a[i][i];
    }
    b
}

/// `warpAffine(image, m, (w, h), borderMode=BORDER_REFLECT_101)` of an
/// H×W×3 float32 image, bilinear: the inverse map in float64, source
/// coordinates in fixed point with 1/32-pixel steps (AB_BITS 10,
/// INTER_BITS 5), weights from OpenCV's float32 table, summed left to right.
pub(crate) fn warp_affine(image: &[f32], h: usize, w: usize, m: [f64; 6]) -> Vec<f32> {
    const AB_SCALE: f64 = 1024.0;
    const ROUND_DELTA: i64 = 1024 / 32 / 2;
    let mut m = m;
    let d = m[0] * m[4] - m[1] * m[3];
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (a11, a22) = (m[4] * d, m[0] * d);
    m[0] = a11;
    m[1] *= -d;
    m[3] *= -d;
    m[4] = a22;
    let b1 = -m[0] * m[2] - m[1] * m[5];
    let b2 = -m[3] * m[2] - m[4] * m[5];
    m[2] = b1;
    m[5] = b2;

    let tab: Vec<[f32; 2]> = (0..32).map(|k| [1.0 - k as f32 / 32.0, k as f32 / 32.0]).collect();
    let round = |v: f64| v.round_ties_even() as i64;
    let mut out = vec![0.0f32; h * w * 3];
    for y in 0..h {
        let x0 = round((m[1] * y as f64 + m[2]) * AB_SCALE) + ROUND_DELTA;
        let y0 = round((m[4] * y as f64 + m[5]) * AB_SCALE) + ROUND_DELTA;
        for x in 0..w {
            let sx = (x0 + round(m[0] * x as f64 * AB_SCALE)) >> 5;
            let sy = (y0 + round(m[3] * x as f64 * AB_SCALE)) >> 5;
            let (ix, iy) = ((sx >> 5) as isize, (sy >> 5) as isize);
            let (fx, fy) = ((sx & 31) as usize, (sy & 31) as usize);
            let weights =
                [tab[fy][0] * tab[fx][0], tab[fy][0] * tab[fx][1], tab[fy][1] * tab[fx][0], tab[fy][1] * tab[fx][1]];
            let (c0, c1) = (reflect101(ix, w), reflect101(ix + 1, w));
            let (r0, r1) = (reflect101(iy, h), reflect101(iy + 1, h));
            let taps = [(r0, c0), (r0, c1), (r1, c0), (r1, c1)];
            for c in 0..3 {
                let v = |k: usize| image[(taps[k].0 * w + taps[k].1) * 3 + c];
                out[(y * w + x) * 3 + c] =
                    v(0) * weights[0] + v(1) * weights[1] + v(2) * weights[2] + v(3) * weights[3];
            }
        }
    }
    out
}

/// `Canny(image, low, high)` (aperture 3, L1 gradient): 3×3 Sobel with
/// replicated borders, |dx| + |dy|, non-maximum suppression along the
/// gradient's sector (tan 22.5° in 15-bit fixed point), then hysteresis from
/// the pixels above `high`. 255 on edges, 0 elsewhere.
pub(crate) fn canny(image: &[u8], h: usize, w: usize, low: i32, high: i32) -> Vec<u8> {
    const TG22: i64 = 13573; // (int)(tan(22.5°) * 2^15 + 0.5)
    let px = |y: isize, x: isize| {
        i32::from(image[y.clamp(0, h as isize - 1) as usize * w + x.clamp(0, w as isize - 1) as usize])
    };
    let mut dx = vec![0i32; h * w];
    let mut dy = vec![0i32; h * w];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let at = y as usize * w + x as usize;
            dx[at] = (px(y - 1, x + 1) + 2 * px(y, x + 1) + px(y + 1, x + 1))
                - (px(y - 1, x - 1) + 2 * px(y, x - 1) + px(y + 1, x - 1));
            dy[at] = (px(y + 1, x - 1) + 2 * px(y + 1, x) + px(y + 1, x + 1))
                - (px(y - 1, x - 1) + 2 * px(y - 1, x) + px(y - 1, x + 1));
        }
    }
    // Magnitudes and the map carry a one-pixel frame: magnitude 0, map 1 (no edge).
    let (mh, mw) = (h + 2, w + 2);
    let mut magnitude = vec![0i32; mh * mw];
    for y in 0..h {
        for x in 0..w {
            magnitude[(y + 1) * mw + x + 1] = dx[y * w + x].abs() + dy[y * w + x].abs();
        }
    }
    // 0: may be an edge, 1: is not, 2: is.
    let mut map = vec![1u8; mh * mw];
    let mut stack = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let at = (y + 1) * mw + x + 1;
            let m = magnitude[at];
            let mut state = 1;
            if m > low {
                let (xs, ys) = (dx[y * w + x], dy[y * w + x]);
                let ax = i64::from(xs.abs());
                let ay = i64::from(ys.abs()) << 15;
                let tg22x = ax * TG22;
                let is_max = if ay < tg22x {
                    m > magnitude[at - 1] && m >= magnitude[at + 1]
                } else if ay > tg22x + (ax << 16) {
                    m > magnitude[at - mw] && m >= magnitude[at + mw]
                } else {
                    let s: isize = if (xs ^ ys) < 0 { -1 } else { 1 };
                    m > magnitude[(at as isize - mw as isize - s) as usize]
                        && m > magnitude[(at as isize + mw as isize + s) as usize]
                };
                if is_max {
                    state = if m > high { 2 } else { 0 };
                }
            }
            map[at] = state;
            if state == 2 {
                stack.push(at);
            }
        }
    }
    while let Some(at) = stack.pop() {
        for n in [at - mw - 1, at - mw, at - mw + 1, at - 1, at + 1, at + mw - 1, at + mw, at + mw + 1] {
            if map[n] == 0 {
                map[n] = 2;
                stack.push(n);
            }
        }
    }
    (0..h * w).map(|i| if map[(i / w + 1) * mw + i % w + 1] == 2 { 255 } else { 0 }).collect()
}

/// `distanceTransform(image, DIST_L2, 5)`: the distance to the nearest zero
/// pixel by the 5×5 chamfer (steps 1, 1.4, 2.1969), two raster passes in
/// float32 (as the IPP routine opencv-python runs).
pub(crate) fn distance_transform(image: &[u8], h: usize, w: usize) -> Vec<f32> {
    const FORWARD: [(isize, isize, f32); 8] = [
        (-2, -1, 2.1969),
        (-2, 1, 2.1969),
        (-1, -2, 2.1969),
        (-1, -1, 1.4),
        (-1, 0, 1.0),
        (-1, 1, 1.4),
        (-1, 2, 2.1969),
        (0, -1, 1.0),
    ];
    let (ph, pw) = (h + 4, w + 4);
    let mut d = vec![f32::INFINITY; ph * pw];
    for y in 0..h {
        for x in 0..w {
            if image[y * w + x] == 0 {
                d[(y + 2) * pw + x + 2] = 0.0;
            }
        }
    }
    let mut relax = |y: usize, x: usize, sign: isize| {
        let at = y * pw + x;
        let mut v = d[at];
        for (dy, dx, step) in FORWARD {
            let t = d[((y as isize + sign * dy) as usize) * pw + (x as isize + sign * dx) as usize] + step;
            if t < v {
                v = t;
            }
        }
        d[at] = v;
    };
    for y in 2..h + 2 {
        for x in 2..w + 2 {
            relax(y, x, 1);
        }
    }
    for y in (2..h + 2).rev() {
        for x in (2..w + 2).rev() {
            relax(y, x, -1);
        }
    }
    (0..h * w).map(|i| d[(i / w + 2) * pw + i % w + 2]).collect()
}

/// The 3×3 sums of `blur` (BORDER_REFLECT_101), exact in integers or float64.
fn box3<T: Copy>(data: &[T], h: usize, w: usize, zero: f64, add: impl Fn(f64, T) -> f64) -> Vec<f64> {
    let mut out = vec![zero; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut s = zero;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    s = add(s, data[reflect101(y as isize + dy, h) * w + reflect101(x as isize + dx, w)]);
                }
            }
            out[y * w + x] = s;
        }
    }
    out
}

/// `blur(image, (3, 3))` of float32: the float64 sum times 1/9, to float32.
pub(crate) fn blur3_f32(data: &[f32], h: usize, w: usize) -> Vec<f32> {
    box3(data, h, w, 0.0, |s, v| s + f64::from(v)).into_iter().map(|s| (s * (1.0 / 9.0)) as f32).collect()
}

/// `blur(image, (3, 3))` of bytes: the sum divided by 9 in 16-bit fixed
/// point, `(s + 4) · 7282 >> 16` (`ColumnSum<ushort, uchar>`).
pub(crate) fn blur3_u8(data: &[u8], h: usize, w: usize) -> Vec<u8> {
    box3(data, h, w, 0.0, |s, v| s + f64::from(v)).into_iter().map(|s| (((s as u32 + 4) * 7282) >> 16) as u8).collect()
}

/// `equalizeHist`: the cumulative histogram from the first occupied level,
/// scaled by 255 / (n - count of that level) in float32 and rounded.
pub(crate) fn equalize_hist(data: &[u8]) -> Vec<u8> {
    let mut hist = [0u32; 256];
    for &v in data {
        hist[usize::from(v)] += 1;
    }
    let first = hist.iter().position(|&c| c > 0).unwrap_or(0);
    let total = data.len() as u32;
    if hist[first] == total {
        return vec![first as u8; data.len()];
    }
    let scale = 255.0f32 / (total - hist[first]) as f32;
    let mut lut = [0u8; 256];
    let mut sum = 0u32;
    for i in first + 1..256 {
        sum += hist[i];
        lut[i] = (sum as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    data.iter().map(|&v| lut[usize::from(v)]).collect()
}

/// `filter2D(image, CV_8U, kernel)` with a 3×3 integer kernel
/// (BORDER_REFLECT_101): the exact sum, clipped to a byte.
pub(crate) fn filter2d_u8(data: &[u8], h: usize, w: usize, kernel: [[i32; 3]; 3]) -> Vec<u8> {
    let mut out = vec![0u8; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0;
            for (i, row) in kernel.iter().enumerate() {
                for (j, &k) in row.iter().enumerate() {
                    let v = data
                        [reflect101(y as isize + i as isize - 1, h) * w + reflect101(x as isize + j as isize - 1, w)];
                    s += k * i32::from(v);
                }
            }
            out[y * w + x] = s.clamp(0, 255) as u8;
        }
    }
    out
}

/// One axis of `resize(..., INTER_LINEAR)` for bytes: the output size for
/// scale `factor` and, per output index, two source indices and their
/// 11-bit fixed-point weights (source centre `(d + 0.5) / factor - 0.5`,
/// clamped to the edges).
pub(crate) fn resize_axis(len: usize, factor: f64) -> Vec<([usize; 2], [i32; 2])> {
    let out = (len as f64 * factor).round_ties_even() as usize;
    let scale = 1.0 / factor;
    (0..out)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as isize;
            let mut frac = f - s as f32;
            if s < 0 {
                (s, frac) = (0, 0.0);
            }
            if s >= len as isize - 1 {
                (s, frac) = (len as isize - 1, 0.0);
            }
            let w0 = ((1.0 - frac) * 2048.0).round_ties_even() as i32;
            let w1 = (frac * 2048.0).round_ties_even() as i32;
            let s = s as usize;
            ([s, (s + 1).min(len - 1)], [w0, w1])
        })
        .collect()
}

/// One resized byte from its two rows' and two columns' taps: horizontal
/// sums with 11-bit weights, then the vertical pass rounded off 22 bits.
pub(crate) fn resize_sample(
    at: impl Fn(usize, usize) -> u8,
    (rows, wy): ([usize; 2], [i32; 2]),
    (cols, wx): ([usize; 2], [i32; 2]),
) -> u8 {
    let row = |r: usize| i64::from(at(r, cols[0])) * i64::from(wx[0]) + i64::from(at(r, cols[1])) * i64::from(wx[1]);
    let v = (row(rows[0]) * i64::from(wy[0]) + row(rows[1]) * i64::from(wy[1]) + (1 << 21)) >> 22;
    v.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect101_skips_the_edge_sample() {
        let idx: Vec<usize> = (-3..7).map(|p| reflect101(p, 4)).collect();
        assert_eq!(idx, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn affine_transform_solves_a_known_map() {
        // dst = (2x + 1, y - 3)
        let src = [[26.0, 26.0], [26.0, 6.0], [6.0, 6.0]];
        let dst = src.map(|[x, y]| [2.0 * x + 1.0, y - 3.0]);
        let m = affine_transform(src, dst);
        let want = [2.0, 0.0, 1.0, 0.0, 1.0, -3.0];
        assert!(m.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{m:?}");
    }

    #[test]
    fn distance_transform_steps_by_the_chamfer_weights() {
        let mut image = vec![255u8; 36];
        image[0] = 0;
        let d = distance_transform(&image, 6, 6);
        assert_eq!([d[1], d[7], d[8], d[14], d[35]], [1.0, 1.4, 2.1969, 2.8, 7.0]);
    }

    #[test]
    fn resize_by_a_fifth_picks_every_fifth_pixel() {
        let axis = resize_axis(900, 0.2);
        assert_eq!(axis.len(), 180);
        assert_eq!(axis[3], ([17, 18], [2048, 0]));
    }
}
