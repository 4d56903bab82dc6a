//! scikit-image's `rgb2hsv` and `hsv2rgb` (skimage/color/colorconv.py),
//! one pixel at a time in float64.

use crate::numpy::remainder;

/// `rgb2hsv`: V = max, S = (max - min) / max, H from whichever channel is the
/// maximum (blue over green over red on ties), 0 where max = min.
pub(crate) fn rgb2hsv([r, g, b]: [f64; 3]) -> [f64; 3] {
    let v = r.max(g).max(b);
    let delta = v - r.min(g).min(b);
    if delta == 0.0 {
        return [0.0, 0.0, v];
    }
    let s = delta / v;
    let mut h = 0.0;
    if r == v {
        h = (g - b) / delta;
    }
    if g == v {
        h = 2.0 + (b - r) / delta;
    }
    if b == v {
        h = 4.0 + (r - g) / delta;
    }
    [remainder(h / 6.0, 1.0), s, v]
}

/// `hsv2rgb`: the sector `floor(6h) mod 6` picks the channels' order.
pub(crate) fn hsv2rgb([h, s, v]: [f64; 3]) -> [f64; 3] {
    let hi = (h * 6.0).floor();
    let f = h * 6.0 - hi;
    let p = v * (1.0 - s);
    let q = v * (1.0 - f * s);
    let t = v * (1.0 - (1.0 - f) * s);
    match hi as u8 % 6 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_round_trips() {
        for rgb in [[0.2, 0.4, 0.6], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.1, 0.9, 0.3], [0.7, 0.2, 0.65]] {
            let back = hsv2rgb(rgb2hsv(rgb));
            assert!(rgb.iter().zip(back).all(|(a, b)| (a - b).abs() < 1e-12), "{rgb:?} -> {back:?}");
        }
        assert_eq!(rgb2hsv([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]);
    }
}
