//! The path encoding of a cell (White et al., BANANAS): which sequences of
//! operations lead from the input node to the output node.

use robbench_space::{Op, Space};

/// Input-to-output paths as edge positions in string order
/// (0→1, 0→2, 1→2, 0→3, 1→3, 2→3).
const PATHS: [&[usize]; 4] = [&[3], &[0, 4], &[1, 5], &[0, 2, 5]];

/// Bit set over the 4 + 16 + 64 = 84 op sequences of length 1, 2 and 3 that
/// avoid `none` (a `none` edge cuts its path). Computed on the class
/// representative, so isomorphic cells share one encoding.
pub fn path_encoding(cell: usize) -> u128 {
    let space = Space::nb201();
    let class = space.unique_index(cell).expect("cell index in range");
    let edges = space.archs()[class].edges();
    let mut bits = 0u128;
    for path in PATHS {
        let mut code = 0usize;
        let mut live = true;
        for &edge in path {
            if edges[edge] == Op::None {
                live = false;
                break;
            }
            code = code * 4 + (edges[edge].index() - 1);
        }
        if live {
            let offset = match path.len() {
                1 => 0,
                2 => 4,
                _ => 20,
            };
            bits |= 1u128 << (offset + code);
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use robbench_space::Arch;

    #[test]
    fn encodes_live_paths_only() {
        let space = Space::nb201();
        assert_eq!(path_encoding(space.index_of(&Arch::new([Op::None; 6]))), 0);
        // Four live paths, all of 3x3 convolutions: codes 2, 2·4+2 (twice) and 2·16+2·4+2.
        let conv = space.index_of(&Arch::new([Op::NorConv3x3; 6]));
        assert_eq!(path_encoding(conv), (1 << 2) | (1 << (4 + 10)) | (1 << (20 + 42)));
        // Isomorphic cells share the encoding.
        for cell in (0..robbench_space::SPACE_SIZE).step_by(131) {
            assert_eq!(path_encoding(cell), path_encoding(space.unique_index(cell).unwrap()));
        }
    }
}
