//! NAS-Bench-201 cell strings from per-edge operation lists.

/// Operation names in NAS-Bench-201's order (the digits of `ops.json`).
pub const NB201_OPS: [&str; 5] = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

/// Renders ops on the edges (0→1, 0→2, 1→2, 0→3, 1→3, 2→3) as the cell string
/// `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
pub fn cell_string(ops: [&str; 6]) -> String {
    format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|", ops[0], ops[1], ops[2], ops[3], ops[4], ops[5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_edges_in_nb201_order() {
        let ops = ["skip_connect", "nor_conv_3x3", "nor_conv_1x1", "none", "skip_connect", "nor_conv_3x3"];
        assert_eq!(
            cell_string(ops),
            "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|skip_connect~1|nor_conv_3x3~2|"
        );
    }
}
