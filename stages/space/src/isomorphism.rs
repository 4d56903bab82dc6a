//! NAS-Bench-201's isomorphism rule (`to_unique_str(consider_zero=True)`):
//! each node is described by the sorted sum of its incoming terms, where a
//! `skip_connect` passes its input's description through, a `none` edge — or
//! any edge leaving a node that is exactly zero — contributes the zero term
//! `#`, and any other op wraps its input as `(input)@op`. Two cells are
//! isomorphic when their output nodes have the same description.

use crate::{Arch, Op};

/// The canonical description of the cell's output node.
pub fn canonical_form(arch: &Arch) -> String {
    let mut nodes: Vec<String> = vec!["0".to_string()];
    for node in 1..=3 {
        let mut terms: Vec<String> = arch
            .edge_list()
            .filter(|&(to, _, _)| to == node)
            .map(|(_, from, op)| {
                let input = &nodes[from];
                match op {
                    _ if op == Op::None || input == "#" => "#".to_string(),
                    Op::SkipConnect => input.clone(),
                    _ => format!("({input})@{op}"),
                }
            })
            .collect();
        terms.sort();
        nodes.push(terms.join("+"));
    }
    nodes.pop().expect("three nodes")
}
