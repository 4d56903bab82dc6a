//! Two-objective Pareto fronts (both maximised) and their hypervolume.

/// The non-dominated points among `points` (both coordinates maximised),
/// sorted by the first coordinate, descending. Duplicated points are kept once
/// (the first occurrence).
pub fn pareto_front<T: Clone>(points: &[(T, [f64; 2])]) -> Vec<(T, [f64; 2])> {
    let mut sorted: Vec<&(T, [f64; 2])> = points.iter().collect();
    // Descending first coordinate, ties by descending second: a point is then
    // dominated exactly when some earlier point has a second coordinate >= its own.
    sorted.sort_by(|a, b| b.1[0].total_cmp(&a.1[0]).then(b.1[1].total_cmp(&a.1[1])));
    let mut front: Vec<(T, [f64; 2])> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| p.1[1] > last.1[1]) {
            front.push(p.clone());
        }
    }
    front
}

/// Area dominated by `points` and bounded below by `reference` (both
/// coordinates maximised); points not above the reference add nothing.
pub fn hypervolume(points: &[[f64; 2]], reference: [f64; 2]) -> f64 {
    let tagged: Vec<((), [f64; 2])> =
        points.iter().filter(|p| p[0] > reference[0] && p[1] > reference[1]).map(|&p| ((), p)).collect();
    let mut area = 0.0;
    let mut floor = reference[1];
    for (_, [x, y]) in pareto_front(&tagged) {
        area += (x - reference[0]) * (y - floor);
        floor = y;
    }
    area
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_and_hypervolume_of_a_hand_computed_case() {
        let points = [("a", [3.0, 1.0]), ("b", [2.0, 2.0]), ("c", [1.0, 3.0]), ("d", [1.0, 1.0]), ("e", [2.0, 1.5])];
        let front: Vec<&str> = pareto_front(&points).into_iter().map(|p| p.0).collect();
        assert_eq!(front, ["a", "b", "c"]);
        // Staircase: 3·1 + 2·(2−1) + 1·(3−2) = 6.
        let all: Vec<[f64; 2]> = points.iter().map(|p| p.1).collect();
        assert_eq!(hypervolume(&all, [0.0, 0.0]), 6.0);
        // Against (1, 0): 2·1 + 1·1 + 0 = 3 (c lies on the reference's edge).
        assert_eq!(hypervolume(&all, [1.0, 0.0]), 3.0);
        assert_eq!(hypervolume(&[], [0.0, 0.0]), 0.0);
    }

    #[test]
    fn equal_points_and_ties_are_not_both_on_the_front() {
        let points = [(1, [2.0, 2.0]), (2, [2.0, 2.0]), (3, [2.0, 1.0]), (4, [1.0, 2.0])];
        let front: Vec<i32> = pareto_front(&points).into_iter().map(|p| p.0).collect();
        assert_eq!(front, [1]);
    }
}
