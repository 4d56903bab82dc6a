//! The NAS-Bench-201 cell search space: cell strings, the official index
//! order, isomorphism classes, and parameter/FLOP counts.
//!
//! A cell has four nodes; each of its six edges carries one of five
//! operations, so there are 5⁶ = 15,625 cells. NAS-Bench-201 numbers them by
//! generating them in base-5 order and shuffling with CPython's
//! `random.seed(88); random.shuffle(...)`, reproduced here bit for bit.

mod arch;
mod cost;
mod isomorphism;
mod mt19937;
mod op;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use arch::{Arch, EDGES};
pub use cost::{Cost, ModelShape, cost};
pub use isomorphism::canonical_form;
pub use mt19937::Mt19937;
pub use op::Op;

/// Number of cells in the space.
pub const SPACE_SIZE: usize = 15_625;

#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    #[error("bad NAS-Bench-201 cell string `{arch}`: {reason}")]
    BadArch { arch: String, reason: String },
    #[error("architecture index {0} is out of range (0..15624)")]
    BadIndex(usize),
}

/// The whole space in official index order, with isomorphism classes.
pub struct Space {
    archs: Vec<Arch>,
    index_by_generation: Vec<u32>,
    /// Each cell's class representative, computed on first use (the
    /// canonical forms take most of the space's construction).
    unique: OnceLock<Vec<u32>>,
}

impl Space {
    /// The NAS-Bench-201 space (built once per process).
    pub fn nb201() -> &'static Space {
        static SPACE: OnceLock<Space> = OnceLock::new();
        SPACE.get_or_init(Space::build)
    }

    fn build() -> Space {
        let mut archs: Vec<Arch> = (0..SPACE_SIZE).map(Arch::from_generation_index).collect();
        Mt19937::from_python_seed(88).shuffle(&mut archs);
        let mut index_by_generation = vec![0u32; SPACE_SIZE];
        for (i, a) in archs.iter().enumerate() {
            index_by_generation[a.generation_index()] = i as u32;
        }
        Space { archs, index_by_generation, unique: OnceLock::new() }
    }

    fn unique(&self) -> &[u32] {
        self.unique.get_or_init(|| {
            // Indices are visited in increasing order, so the first member
            // seen of each class is its smallest index.
            let mut first_of_class: HashMap<String, u32> = HashMap::new();
            let archs = self.archs.iter().enumerate();
            archs.map(|(i, a)| *first_of_class.entry(canonical_form(a)).or_insert(i as u32)).collect()
        })
    }

    /// All cells; position = official index.
    pub fn archs(&self) -> &[Arch] {
        &self.archs
    }

    pub fn arch(&self, index: usize) -> Result<Arch, SpaceError> {
        self.archs.get(index).copied().ok_or(SpaceError::BadIndex(index))
    }

    pub fn index_of(&self, arch: &Arch) -> usize {
        self.index_by_generation[arch.generation_index()] as usize
    }

    /// Index of the representative (smallest index) of the cell's isomorphism class.
    pub fn unique_index(&self, index: usize) -> Result<usize, SpaceError> {
        self.unique().get(index).map(|&u| u as usize).ok_or(SpaceError::BadIndex(index))
    }

    /// The representatives of all isomorphism classes, in index order.
    pub fn representatives(&self) -> Vec<usize> {
        let unique = self.unique();
        (0..SPACE_SIZE).filter(|&i| unique[i] as usize == i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_order_matches_every_line_of_the_reference_file() {
        let reference = robbench_published::NB201_ARCHS.text();
        let lines: Vec<&str> = reference.lines().collect();
        assert_eq!(lines.len(), SPACE_SIZE);
        let space = Space::nb201();
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(space.archs()[i].to_string(), *line, "index {i}");
            let parsed: Arch = line.parse().unwrap();
            assert_eq!(space.index_of(&parsed), i);
        }
    }

    #[test]
    fn there_are_6466_classes_matching_the_released_benchmark() {
        let space = Space::nb201();
        assert_eq!(space.representatives().len(), 6466);
        // The released NAS-RobBench-201 maps every non-representative index to
        // its representative (as a string) and evaluates the representatives.
        let text = robbench_published::NASROBBENCH201_HTML.text();
        let json: serde_json::Value =
            serde_json::from_str(text.trim().trim_start_matches("acc=").trim_end_matches(';')).unwrap();
        for i in 0..SPACE_SIZE {
            let expected = match &json[i.to_string()] {
                serde_json::Value::String(rep) => rep.parse::<usize>().unwrap(),
                serde_json::Value::Array(_) => i,
                other => panic!("index {i}: unexpected entry {other}"),
            };
            assert_eq!(space.unique_index(i).unwrap(), expected, "index {i}");
        }
    }

    #[test]
    fn parameter_and_flop_counts_match_nas_bench_201() {
        let space = Space::nb201();
        for (index, classes, size, params, mflops) in [
            (0, 10, 32, 129_306, 15.64737),
            (0, 120, 16, 136_456, 3.91948),
            (1462, 10, 32, 1_531_546, 220.11969),
            (1007, 10, 32, 73_306, 7.78305),
            (2581, 100, 32, 1_079_316, 153.27882),
        ] {
            let c = cost(&space.arch(index).unwrap(), &ModelShape::nb201(classes, size));
            assert_eq!(c.params, params, "params of {index}");
            assert!((c.flops - mflops).abs() < 1e-5, "flops of {index}: {} vs {mflops}", c.flops);
        }
    }

    #[test]
    fn malformed_strings_name_the_bad_edge() {
        let cases = [
            ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "3 nodes"),
            ("|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "conv_5x5"),
            (
                "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                "avg_pool_3x3~2",
            ),
            ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "node 2"),
            (
                "nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                "node 1",
            ),
            (
                "|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                "op~input",
            ),
        ];
        for (s, needle) in cases {
            let e = s.parse::<Arch>().unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }

    #[test]
    fn strings_round_trip_and_generation_order_is_base_5() {
        let s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
        let a: Arch = s.parse().unwrap();
        assert_eq!(a.to_string(), s);
        assert_eq!(Arch::from_generation_index(a.generation_index()), a);
        assert_eq!(Arch::from_generation_index(0).edges(), [Op::None; 6]);
        assert_eq!(Arch::from_generation_index(1).edges()[5], Op::SkipConnect);
    }
}
