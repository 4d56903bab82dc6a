//! Correlation statistics.
//!
//! All three statistics drop every pair in which either value is NaN (pairwise
//! deletion, as `scipy.stats.*(nan_policy="omit")` does for paired data) and
//! return `None` when fewer than 2 pairs remain or either variable is constant.
//! `-0.0` and `0.0` count as tied.

use std::cmp::Ordering;

fn finite_pairs(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    x.iter().zip(y).filter(|(a, b)| !a.is_nan() && !b.is_nan()).map(|(&a, &b)| (a, b)).unzip()
}

/// Comparison for NaN-free data (NaNs were dropped by `finite_pairs`), so that
/// `-0.0 == 0.0`, unlike `total_cmp`.
fn cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).expect("NaN pairs are dropped before comparing")
}

/// Pearson's r.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let (x, y) = finite_pairs(x, y);
    pearson_finite(&x, &y)
}

fn pearson_finite(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Average ranks (ties get the mean of their positions), 1-based.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| cmp(v[a], v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Spearman's ρ: Pearson's r of the average (mid-)ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (x, y) = finite_pairs(x, y);
    pearson_finite(&ranks(&x), &ranks(&y))
}

/// Number of pairs within runs of equal values of the sorted slice `v`.
fn tied_pairs(v: &[f64]) -> u64 {
    let (mut total, mut run) = (0u64, 1u64);
    for w in v.windows(2) {
        if w[0] == w[1] {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
        }
    }
    total + run * (run - 1) / 2
}

/// Stable merge sort of `v` that returns how many swaps of adjacent elements a
/// bubble sort would need (the number of strictly inverted pairs).
fn sort_counting_inversions(v: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let (left_buf, right_buf) = buf.split_at_mut(mid);
    let mut swaps =
        sort_counting_inversions(&mut v[..mid], left_buf) + sort_counting_inversions(&mut v[mid..], right_buf);
    buf[..n].copy_from_slice(v);
    let (left, right) = buf[..n].split_at(mid);
    let (mut i, mut j) = (0, 0);
    for slot in v.iter_mut() {
        // Take from the left on ties: equal values are not inversions.
        if j == right.len() || (i < left.len() && cmp(left[i], right[j]) != Ordering::Greater) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[j];
            j += 1;
            swaps += (left.len() - i) as u64;
        }
    }
    swaps
}

/// Kendall's τ-b, ties handled in both variables:
/// (C − D) / √((n₀ − n₁)(n₀ − n₂)), with n₀ = n(n−1)/2 and n₁, n₂ the pairs
/// tied in x and in y. O(n log n) (Knight, 1966): sort by (x, y), then count the
/// inversions of y with a merge sort; C − D = n₀ − n₁ − n₂ + n₃ − 2·swaps,
/// where n₃ counts the pairs tied in both.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let (x, y) = finite_pairs(x, y);
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(x[a], x[b]).then(cmp(y[a], y[b])));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let mut ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();

    let tied_x = tied_pairs(&xs);
    // Pairs tied in x and y: runs of equal (x, y), adjacent after the sort.
    let (mut tied_xy, mut run) = (0u64, 1u64);
    for k in 1..n {
        if xs[k] == xs[k - 1] && ys[k] == ys[k - 1] {
            run += 1;
        } else {
            tied_xy += run * (run - 1) / 2;
            run = 1;
        }
    }
    tied_xy += run * (run - 1) / 2;

    let mut buf = vec![0.0; n];
    let swaps = sort_counting_inversions(&mut ys, &mut buf);
    let tied_y = tied_pairs(&ys);

    let pairs = (n as u64) * (n as u64 - 1) / 2;
    let numerator = pairs as f64 - tied_x as f64 - tied_y as f64 + tied_xy as f64 - 2.0 * swaps as f64;
    let denominator = ((pairs - tied_x) as f64 * (pairs - tied_y) as f64).sqrt();
    (denominator > 0.0).then(|| (numerator / denominator).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use robbench_rng::Rng;

    /// O(n²) τ-b straight from the definition, to cross-check Knight's algorithm.
    fn kendall_tau_b_naive(x: &[f64], y: &[f64]) -> Option<f64> {
        let (x, y) = finite_pairs(x, y);
        let n = x.len();
        if n < 2 {
            return None;
        }
        let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..n {
            for j in i + 1..n {
                match (cmp(x[i], x[j]), cmp(y[i], y[j])) {
                    (Ordering::Equal, Ordering::Equal) => {
                        tied_x += 1;
                        tied_y += 1;
                    }
                    (Ordering::Equal, _) => tied_x += 1,
                    (_, Ordering::Equal) => tied_y += 1,
                    (a, b) if a == b => concordant += 1,
                    _ => discordant += 1,
                }
            }
        }
        let pairs = (n * (n - 1) / 2) as i64;
        let denominator = (((pairs - tied_x) * (pairs - tied_y)) as f64).sqrt();
        (denominator > 0.0).then(|| (concordant - discordant) as f64 / denominator)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn matches_hand_computed_values_with_ties() {
        // 6 pairs: 3 concordant, 1 discordant, 1 tied in x only, 1 tied in y
        // only, so tau-b = (3 - 1) / sqrt((6 - 1)(6 - 1)) = 0.4. Deviations from
        // the means give r = 1 / sqrt(2 * 2) = 0.5, and on mid-ranks rho = 0.5.
        let (x, y) = ([1.0, 2.0, 2.0, 3.0], [1.0, 3.0, 2.0, 2.0]);
        assert!(close(kendall_tau_b(&x, &y), 0.4));
        assert!(close(kendall_tau_b_naive(&x, &y), 0.4));
        assert!(close(spearman(&x, &y), 0.5));
        assert!(close(pearson(&x, &y), 0.5));
        let z = [4.0, 3.0, 2.0, 1.0];
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &z), Some(-1.0));
        assert_eq!(kendall_tau_b(&z, &z), Some(1.0));
    }

    #[test]
    fn matches_values_published_in_scipy_docs() {
        // scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) = -0.47140452079103173
        // (ties in both variables and one pair tied in both): by hand,
        // C = 2, D = 6, n1 = 2, n2 = 1, so (2 - 6) / sqrt(8 * 9) = -0.4714045...
        let (x, y) = ([12.0, 2.0, 1.0, 12.0, 2.0], [1.0, 4.0, 7.0, 1.0, 0.0]);
        assert!(close(kendall_tau_b(&x, &y), -0.47140452079103173));
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
        let (x, y) = ([1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!(close(spearman(&x, &y), 0.8207826816681233));
    }

    #[test]
    fn undefined_cases_and_nan_pairs() {
        let x = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(kendall_tau_b(&x, &[1.0; 4]), None);
        assert_eq!(spearman(&[1.0; 4], &x), None);
        assert_eq!(pearson(&x, &[2.0; 4]), None);
        assert_eq!(spearman(&[1.0], &[2.0]), None);
        assert_eq!(kendall_tau_b(&[], &[]), None);
        // The NaN pair is dropped; what remains is perfectly monotone.
        assert_eq!(pearson(&[1.0, f64::NAN, 3.0], &[1.0, 5.0, 3.0]), Some(1.0));
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[1.0, 2.0, f64::NAN]), Some(1.0));
        assert_eq!(spearman(&[3.0, f64::NAN, 1.0], &[2.0, 0.0, 1.0]), Some(1.0));
        assert_eq!(kendall_tau_b(&[f64::NAN, 1.0], &[1.0, 2.0]), None);
        // Signed zeros are equal, so these are ties, not a concordant pair.
        assert_eq!(
            kendall_tau_b(&[-0.0, 0.0, 1.0], &[1.0, 2.0, 3.0]),
            kendall_tau_b(&[0.0, 0.0, 1.0], &[1.0, 2.0, 3.0])
        );
    }

    #[test]
    fn knight_agrees_with_naive_on_random_data_with_ties() {
        let mut rng = Rng::new(7);
        for case in 0..60 {
            let n = 2 + rng.below(300) as usize;
            // Few distinct levels => many ties in x, in y, and in both.
            let levels = 1 + rng.below(if case % 2 == 0 { 5 } else { 1000 }) as usize;
            let draw = |rng: &mut Rng| (rng.below(levels as u64) as f64) - levels as f64 / 2.0;
            let x: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
            let y: Vec<f64> = x.iter().map(|&a| if rng.below(3) == 0 { a } else { draw(&mut rng) }).collect();
            let (fast, slow) = (kendall_tau_b(&x, &y), kendall_tau_b_naive(&x, &y));
            match (fast, slow) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "case {case}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "case {case}"),
            }
        }
    }

    #[test]
    fn spearman_equals_pearson_of_mid_ranks_and_is_rank_invariant() {
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..200).map(|_| rng.below(20) as f64).collect();
        let y: Vec<f64> = x.iter().map(|&a| a + rng.below(10) as f64).collect();
        let rho = spearman(&x, &y).unwrap();
        // A strictly increasing transform of either variable keeps every rank.
        let y_exp: Vec<f64> = y.iter().map(|v| (v / 10.0).exp()).collect();
        assert!(close(spearman(&x, &y_exp), rho));
        assert!(close(kendall_tau_b(&x, &y_exp), kendall_tau_b(&x, &y).unwrap()));
        assert!(rho > 0.5 && rho < 1.0);
    }
}
