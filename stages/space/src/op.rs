//! The five NAS-Bench-201 edge operations.

use std::fmt;
use std::str::FromStr;

/// An edge operation, in NAS-Bench-201's op-index order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    None,
    SkipConnect,
    NorConv1x1,
    NorConv3x3,
    AvgPool3x3,
}

impl Op {
    /// All operations in op-index order (the order cells are generated in).
    pub const ALL: [Op; 5] = [Op::None, Op::SkipConnect, Op::NorConv1x1, Op::NorConv3x3, Op::AvgPool3x3];

    pub fn name(self) -> &'static str {
        match self {
            Op::None => "none",
            Op::SkipConnect => "skip_connect",
            Op::NorConv1x1 => "nor_conv_1x1",
            Op::NorConv3x3 => "nor_conv_3x3",
            Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// Position in [`Op::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Kernel size of a convolution op, `None` for parameter-free ops.
    pub fn conv_kernel(self) -> Option<usize> {
        match self {
            Op::NorConv1x1 => Some(1),
            Op::NorConv3x3 => Some(3),
            _ => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Op, String> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| format!("unknown operation `{s}` (expected one of {})", Op::ALL.map(Op::name).join(", ")))
    }
}
