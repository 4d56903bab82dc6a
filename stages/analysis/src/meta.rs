//! `meta.json` of Jung et al.'s robustness dataset, byte-identical to the one
//! released with NAS-RobBench-201: `ids` maps every NAS-Bench-201 index to its
//! cell string and to `isomorph`, the index of the evaluated representative of
//! its isomorphism class; `epsilons` lists the ε (units of 1/255) per attack.

use robbench_published::Input;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::error::{AnalysisError, parse_json, read};

#[derive(Deserialize)]
struct RawMeta {
    ids: HashMap<String, RawId>,
    #[serde(default)]
    epsilons: BTreeMap<String, Vec<f64>>,
}

#[derive(Deserialize)]
struct RawId {
    #[serde(rename = "nb201-string")]
    arch: String,
    isomorph: String,
}

/// The parsed and validated `meta.json`.
#[derive(Debug, Clone)]
pub struct Meta {
    archs: Vec<String>,
    representatives: Vec<u32>,
    epsilons: BTreeMap<String, Vec<f64>>,
}

impl Meta {
    /// Loads `meta.json`, checking that the indices are exactly 0..n and that
    /// every `isomorph` names an index that is its own representative.
    pub fn load(input: &Input) -> Result<Meta, AnalysisError> {
        let path = &input.origin();
        let raw: RawMeta = parse_json(path, &read(input)?)?;
        let n = raw.ids.len();
        let mut archs = vec![String::new(); n];
        let mut representatives = vec![u32::MAX; n];
        let index = |key: &str, what: &str| -> Result<usize, AnalysisError> {
            key.parse::<usize>().ok().filter(|&i| i < n).ok_or_else(|| {
                AnalysisError::malformed(path, format!("ids.{key}"), format!("{what} is not an index below {n}"))
            })
        };
        for (key, id) in raw.ids {
            let i = index(&key, "the key")?;
            representatives[i] = index(&id.isomorph, "`isomorph`")? as u32;
            archs[i] = id.arch;
        }
        for (i, &rep) in representatives.iter().enumerate() {
            if representatives[rep as usize] != rep {
                return Err(AnalysisError::malformed(
                    path,
                    format!("ids.{i}"),
                    format!("isomorph {rep} is not its own representative"),
                ));
            }
        }
        Ok(Meta { archs, representatives, epsilons: raw.epsilons })
    }

    /// Number of NAS-Bench-201 indices.
    pub fn len(&self) -> usize {
        self.archs.len()
    }

    /// Whether the file listed no index at all.
    pub fn is_empty(&self) -> bool {
        self.archs.is_empty()
    }

    /// Cell string of `index` (panics when out of range).
    pub fn arch(&self, index: usize) -> &str {
        &self.archs[index]
    }

    /// Index of the evaluated representative of `index`, `None` when out of range.
    pub fn representative(&self, index: usize) -> Option<u32> {
        self.representatives.get(index).copied()
    }

    /// The representatives, ascending.
    pub fn representatives(&self) -> Vec<u32> {
        (0..self.len() as u32).filter(|&i| self.representatives[i as usize] == i).collect()
    }

    /// The ε list (units of 1/255) for an attack key such as `pgd@Linf`.
    pub fn epsilons(&self, attack: &str) -> Option<&[f64]> {
        self.epsilons.get(attack).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn meta_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn rejects_an_isomorph_that_is_not_a_representative() {
        let file = meta_file(
            r#"{"ids": {"0": {"nb201-string": "a", "isomorph": "1"},
                        "1": {"nb201-string": "b", "isomorph": "0"}}}"#,
        );
        let err = Meta::load(&Input::File(file.path().into())).unwrap_err().to_string();
        assert!(err.contains("ids.0") && err.contains("isomorph 1"), "{err}");
    }

    #[test]
    fn rejects_gaps_in_the_indices() {
        let file = meta_file(
            r#"{"ids": {"0": {"nb201-string": "a", "isomorph": "0"}, "5": {"nb201-string": "b", "isomorph": "5"}}}"#,
        );
        let err = Meta::load(&Input::File(file.path().into())).unwrap_err().to_string();
        assert!(err.contains("ids.5"), "{err}");
    }
}
