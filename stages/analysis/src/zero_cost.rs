//! NAS-Bench-Suite-Zero zero-cost proxies for the NAS-Bench-201 cells
//! (`nb201_{dataset}_zc_proxies.csv`).
//!
//! Columns: `net`, the cell as a NASLib op tuple such as `(4, 0, 3, 1, 4, 3)`;
//! optionally `net_str`, the NAS-Bench-201 string; every other column is a
//! proxy (`epe_nas`, `fisher`, …, `zen`, and the baselines `flops`, `params`).
//! The tuple lists edges (0→1, 0→2, 0→3, 1→2, 1→3, 2→3) with NASLib's op codes
//! (0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3);
//! it is decoded when `net_str` is absent and checked against it otherwise.

use robbench_published::Input;

use serde::{Deserialize, Serialize};

use crate::cell::cell_string;
use crate::error::{AnalysisError, csv_reader};
use crate::record::canonical_dataset;

/// One proxy score of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyScore {
    /// NAS-Bench-201 cell string.
    pub arch: String,
    /// Canonical dataset name.
    pub dataset: String,
    /// Proxy name as in the CSV header.
    pub proxy: String,
    /// The score (may be NaN when the source has none; correlations drop it).
    pub value: f64,
}

const NASLIB_OPS: [&str; 5] = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"];

/// Decodes a NASLib op tuple `(a, b, c, d, e, f)` into the NB201 string.
fn decode_naslib(net: &str) -> Option<String> {
    let inner = net.trim().strip_prefix('(')?.strip_suffix(')')?;
    let ops: Vec<&str> = inner
        .split(',')
        .map(|code| code.trim().parse::<usize>().ok().and_then(|c| NASLIB_OPS.get(c).copied()))
        .collect::<Option<_>>()?;
    let [e01, e02, e03, e12, e13, e23]: [&str; 6] = ops.try_into().ok()?;
    Some(cell_string([e01, e02, e12, e03, e13, e23]))
}

/// Imports the proxies of `dataset` (any name [`canonical_dataset`] knows)
/// from one CSV, row by row, proxies in header order.
pub fn import_zero_cost(input: &Input, dataset: &str) -> Result<Vec<ProxyScore>, AnalysisError> {
    let dataset = canonical_dataset(dataset).ok_or_else(|| AnalysisError::UnknownDataset(dataset.to_owned()))?;
    let csv = &input.origin();
    let csv_error = |source| AnalysisError::Csv { path: csv.to_owned(), source };
    let mut reader = csv_reader(input)?;
    let headers = reader.headers().map_err(csv_error)?.clone();
    let net_col = headers
        .iter()
        .position(|h| h == "net")
        .ok_or_else(|| AnalysisError::malformed(csv, "header", "has no column `net`"))?;
    let str_col = headers.iter().position(|h| h == "net_str");
    let proxies: Vec<(usize, &str)> =
        headers.iter().enumerate().filter(|&(c, _)| c != net_col && Some(c) != str_col).collect();

    let mut scores = Vec::new();
    // Line numbers for messages: the header is line 1, records are one line each.
    for (line, row) in (2..).zip(reader.records()) {
        let row = row.map_err(csv_error)?;
        let bad = |reason: String| AnalysisError::malformed(csv, format!("line {line}"), reason);
        let arch = decode_naslib(&row[net_col])
            .ok_or_else(|| bad(format!("net `{}` is not six NASLib op codes", &row[net_col])))?;
        if let Some(c) = str_col
            && row[c] != arch
        {
            return Err(bad(format!("net_str {} disagrees with net {} = {arch}", &row[c], &row[net_col])));
        }
        for &(c, proxy) in &proxies {
            let value = row[c].parse().map_err(|_| bad(format!("{proxy} `{}` is not a number", &row[c])))?;
            scores.push(ProxyScore { arch: arch.clone(), dataset: dataset.into(), proxy: proxy.into(), value });
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::decode_naslib;

    #[test]
    fn decodes_naslib_tuples() {
        assert_eq!(
            decode_naslib("(4, 0, 3, 1, 4, 3)").as_deref(),
            Some("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|")
        );
        assert_eq!(decode_naslib("(4, 0, 3, 1, 4)"), None);
        assert_eq!(decode_naslib("(4, 0, 3, 1, 4, 5)"), None);
    }
}
