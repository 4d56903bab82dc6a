//! A NAS-Bench-201 cell and its string form
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.

use std::fmt;
use std::str::FromStr;

use crate::{Op, SpaceError};

/// (to node, from node) of each edge, in string order.
pub const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// A cell: one operation per edge, in string order
/// (0→1), (0→2), (1→2), (0→3), (1→3), (2→3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arch {
    edges: [Op; 6],
}

impl Arch {
    pub fn new(edges: [Op; 6]) -> Arch {
        Arch { edges }
    }

    pub fn edges(&self) -> [Op; 6] {
        self.edges
    }

    /// (to node, from node, op) for every edge, in string order.
    pub fn edge_list(&self) -> impl Iterator<Item = (usize, usize, Op)> + '_ {
        EDGES.iter().zip(self.edges).map(|(&(to, from), op)| (to, from, op))
    }

    /// Position in NAS-Bench-201's generation order (before the shuffle):
    /// the edges read as base-5 digits, first edge most significant.
    pub fn generation_index(&self) -> usize {
        self.edges.iter().fold(0, |acc, op| acc * 5 + op.index())
    }

    pub fn from_generation_index(mut index: usize) -> Arch {
        let mut edges = [Op::None; 6];
        for slot in edges.iter_mut().rev() {
            *slot = Op::ALL[index % 5];
            index /= 5;
        }
        Arch { edges }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut edge = 0;
        for node in 1..=3 {
            if node > 1 {
                f.write_str("+")?;
            }
            f.write_str("|")?;
            for input in 0..node {
                write!(f, "{}~{input}|", self.edges[edge])?;
                edge += 1;
            }
        }
        Ok(())
    }
}

impl FromStr for Arch {
    type Err = SpaceError;

    fn from_str(s: &str) -> Result<Arch, SpaceError> {
        let bad = |reason: String| SpaceError::BadArch { arch: s.to_string(), reason };
        let nodes: Vec<&str> = s.trim().split('+').collect();
        if nodes.len() != 3 {
            return Err(bad(format!("expected 3 nodes separated by `+`, found {}", nodes.len())));
        }
        let mut edges = Vec::with_capacity(6);
        for (i, node) in nodes.iter().enumerate() {
            let node_id = i + 1;
            let inner = node
                .strip_prefix('|')
                .and_then(|n| n.strip_suffix('|'))
                .ok_or_else(|| bad(format!("node {node_id} `{node}` must start and end with `|`")))?;
            let tokens: Vec<&str> = inner.split('|').collect();
            if tokens.len() != node_id {
                return Err(bad(format!("node {node_id} `{node}` needs {node_id} edge(s), found {}", tokens.len())));
            }
            for (input, token) in tokens.iter().enumerate() {
                let (op, from) = token
                    .split_once('~')
                    .ok_or_else(|| bad(format!("edge `{token}` into node {node_id} must be `op~input`")))?;
                let op: Op = op.parse().map_err(|e| bad(format!("edge `{token}` into node {node_id}: {e}")))?;
                if from != input.to_string() {
                    return Err(bad(format!(
                        "edge `{token}` into node {node_id}: expected input node {input} at this position"
                    )));
                }
                edges.push(op);
            }
        }
        Ok(Arch { edges: edges.try_into().expect("3 nodes with 1 + 2 + 3 edges") })
    }
}
