//! NumPy's arithmetic where its order of operations shows in the last bit.

/// `np.uint8(x)` of a float the reference has clipped to [0, 255]:
/// truncation toward zero (NaN, which NumPy turns into 0 on x86, too).
pub(crate) fn to_u8(x: f64) -> u8 {
    x as u8
}

/// `np.clip(x, 0, 1)`.
pub(crate) fn clip01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// `np.clip(x, 0, 1)` in float32.
pub(crate) fn clip01_f32(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

/// `np.sum` of a contiguous float array: NumPy's pairwise summation (eight
/// accumulators per block of up to 128, halves above that), accumulated in
/// the array's own type as NumPy does (float32 stays float32).
pub(crate) fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T> + std::ops::AddAssign>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(T::default(), |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [T::default(); 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(block) {
                *acc += x;
            }
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            s += x;
        }
        return s;
    }
    let half = n / 2 - (n / 2) % 8;
    pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
}

/// `np.arange(start, stop, step)` for floats: `ceil((stop - start) / step)`
/// values `start + i * delta`, where `delta` is the difference of the first
/// two (so `np.arange(1, 1.06, 0.01)` has 7 values, 1.06 among them).
pub(crate) fn arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let len = ((stop - start) / step).ceil().max(0.0) as usize;
    let delta = (start + step) - start;
    (0..len).map(|i| if i == 0 { start } else { start + i as f64 * delta }).collect()
}

/// Python's (and `np.remainder`'s) float modulo: the sign of the divisor.
pub(crate) fn remainder(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        m + b
    } else if m == 0.0 {
        0.0f64.copysign(b)
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arange_has_numpys_length_and_values() {
        let lens: Vec<usize> =
            [1.06, 1.11, 1.16, 1.21, 1.26].iter().map(|&stop| arange(1.0, stop, 0.01).len()).collect();
        assert_eq!(lens, [7, 12, 16, 21, 26]);
        assert_eq!(arange(1.0, 1.06, 0.01)[6], 1.06);
        assert_eq!(arange(1.0, 1.16, 0.01)[15], 1.1500000000000001);
    }

    #[test]
    fn remainder_follows_the_divisor() {
        assert_eq!(remainder(-0.25, 1.0), 0.75);
        assert_eq!(remainder(1.25, 1.0), 0.25);
        assert_eq!(remainder(-1.0, 1.0), 0.0);
    }

    #[test]
    fn pairwise_sum_is_a_sum() {
        let a: Vec<f64> = (0..300).map(|i| f64::from(i) * 0.5).collect();
        assert_eq!(pairwise_sum(&a), 0.5 * 299.0 * 300.0 / 2.0);
        let b: Vec<f32> = (0..289).map(|i| (i % 2) as f32).collect();
        assert_eq!(pairwise_sum(&b), 144.0);
    }
}
