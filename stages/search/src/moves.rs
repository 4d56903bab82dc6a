//! Moves in the cell space: one-edge mutations and neighbourhoods, by class.

use robbench_rng::Rng;
use robbench_space::{Arch, Op, Space};

/// Every cell that differs from `cell` in one edge's operation (24 of them).
fn one_edge_changes(cell: usize) -> impl Iterator<Item = usize> {
    let space = Space::nb201();
    let edges = space.archs()[cell].edges();
    (0..6).flat_map(move |edge| {
        Op::ALL.into_iter().filter(move |&op| op != edges[edge]).map(move |op| {
            let mut changed = edges;
            changed[edge] = op;
            space.index_of(&Arch::new(changed))
        })
    })
}

/// The one-edge neighbourhood of `cell` as classes: one cell per isomorphism
/// class reachable by changing one edge, excluding `cell`'s own class (a
/// change on an edge that does not reach the output leaves the function, and
/// so the class, unchanged: that is not a move). In edge, then op order.
pub fn neighbours(cell: usize) -> Vec<usize> {
    let space = Space::nb201();
    let own = space.unique_index(cell).expect("cell index in range");
    let mut seen = vec![own];
    let mut out = Vec::new();
    for next in one_edge_changes(cell) {
        let class = space.unique_index(next).expect("index in range");
        if !seen.contains(&class) {
            seen.push(class);
            out.push(next);
        }
    }
    out
}

/// Mutates one edge of `cell` (Real et al.: one edge gets a different
/// operation), uniformly over the moves into a different class that `accept`s
/// (e.g. covered by the table and not yet evaluated). `None` when no move is
/// acceptable.
pub fn mutate(cell: usize, rng: &mut Rng, accept: impl Fn(usize) -> bool) -> Option<usize> {
    let space = Space::nb201();
    let own = space.unique_index(cell).expect("cell index in range");
    let moves: Vec<usize> = one_edge_changes(cell)
        .filter(|&next| {
            let class = space.unique_index(next).expect("index in range");
            class != own && accept(class)
        })
        .collect();
    (!moves.is_empty()).then(|| moves[rng.below(moves.len() as u64) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differing_edges(a: usize, b: usize) -> usize {
        let space = Space::nb201();
        let (a, b) = (space.archs()[a].edges(), space.archs()[b].edges());
        a.iter().zip(&b).filter(|(x, y)| x != y).count()
    }

    #[test]
    fn mutation_changes_one_edge_and_always_the_class() {
        let space = Space::nb201();
        let mut rng = Rng::new(7);
        for cell in (0..robbench_space::SPACE_SIZE).step_by(97) {
            for _ in 0..5 {
                let child = mutate(cell, &mut rng, |_| true).expect("edge 0→3 always changes the class");
                assert!(child < robbench_space::SPACE_SIZE);
                assert_eq!(differing_edges(cell, child), 1, "{cell} → {child}");
                assert_ne!(space.unique_index(child).unwrap(), space.unique_index(cell).unwrap());
            }
        }
    }

    #[test]
    fn neighbourhood_holds_each_other_class_once() {
        let space = Space::nb201();
        // All-none cell: an op on 0→3 reaches the output (4 classes), and so
        // does one on 2→3, since NB201's rule describes node 2 (the sum of
        // two zero edges) as `#+#`, not as zero (4 more). Ops on 0→1, 0→2,
        // 1→2 and 1→3 leave the function unchanged.
        let none = space.index_of(&Arch::new([Op::None; 6]));
        let n = neighbours(none);
        assert_eq!(n.len(), 8, "{n:?}");
        for cell in n {
            let edges = space.archs()[cell].edges();
            assert!(edges[3] != Op::None || edges[5] != Op::None, "{}", space.archs()[cell]);
        }
        for cell in [0, 1462, 5000, 15624, none] {
            let n = neighbours(cell);
            let mut classes: Vec<usize> = n.iter().map(|&c| space.unique_index(c).unwrap()).collect();
            classes.sort();
            classes.dedup();
            assert_eq!(classes.len(), n.len());
            assert!(!classes.contains(&space.unique_index(cell).unwrap()));
            assert!(n.iter().all(|&c| differing_edges(cell, c) == 1));
        }
        // A cell with six convolutions has all 24 changes in distinct classes.
        let conv = space.index_of(&Arch::new([Op::NorConv3x3; 6]));
        assert_eq!(neighbours(conv).len(), 24);
    }

    #[test]
    fn mutation_respects_the_acceptance_rule() {
        let space = Space::nb201();
        let mut rng = Rng::new(1);
        let cell = space.index_of(&Arch::new([Op::NorConv3x3; 6]));
        let allowed = space.unique_index(neighbours(cell)[3]).unwrap();
        for _ in 0..10 {
            let child = mutate(cell, &mut rng, |c| c == allowed).unwrap();
            assert_eq!(space.unique_index(child).unwrap(), allowed);
        }
        assert_eq!(mutate(cell, &mut rng, |_| false), None);
    }
}
