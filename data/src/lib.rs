//! The published reference data robbench uses, byte-identical to its sources
//! (provenance, versions and licences in this crate's `README.md`), compiled
//! into the binary so that a clone, a release or a cluster node needs nothing
//! beside it.
//!
//! Importers take an [`Input`]: a file the user names, or one of these shipped
//! copies, written `shipped:<name>` wherever a path is accepted (configs, the
//! command line).

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// One shipped file: its path under `data/` and its bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Shipped {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

impl Shipped {
    /// The file as text (every shipped file is UTF-8; a test checks it).
    pub fn text(&self) -> &'static str {
        std::str::from_utf8(self.bytes).expect("shipped files are UTF-8")
    }
}

macro_rules! shipped {
    ($name:literal) => {
        Shipped { name: $name, bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $name)) }
    };
}

/// The 15,625 NAS-Bench-201 cell strings, line i = official index i.
pub const NB201_ARCHS: Shipped = shipped!("nb201_archs.txt");
/// The released NAS-RobBench-201 table as its project page serves it (`acc={...}`).
pub const NASROBBENCH201_HTML: Shipped = shipped!("nas-robbench-201/NAS-RobBench-201_html.json");
/// NAS-RobBench-201's `ops.json` (`arch=[...]`): each index's cell as six op digits.
pub const NASROBBENCH201_OPS: Shipped = shipped!("nas-robbench-201/ops.json");
/// Jung et al.'s `meta.json` (byte-identical to NAS-RobBench-201's): index → cell and representative, ε lists.
pub const ROBUSTNESS_META: Shipped = shipped!("robustness-dataset/meta.json");
/// Jung et al.'s `*_accuracy.json` files for CIFAR-10 and CIFAR-100.
pub const ROBUSTNESS_ACCURACIES: [Shipped; 10] = [
    shipped!("robustness-dataset/cifar10/aa_apgd-ce@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar10/aa_square@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar10/clean_accuracy.json"),
    shipped!("robustness-dataset/cifar10/fgsm@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar10/pgd@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar100/aa_apgd-ce@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar100/aa_square@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar100/clean_accuracy.json"),
    shipped!("robustness-dataset/cifar100/fgsm@Linf_accuracy.json"),
    shipped!("robustness-dataset/cifar100/pgd@Linf_accuracy.json"),
];
/// NAS-Bench-201's CIFAR-10 200-epoch accuracies for all 15,625 indices.
pub const NB201_CIFAR10: Shipped = shipped!("nas-bench-201/cifar10_200epoch.csv");
/// NAS-Bench-Suite-Zero zero-cost proxies on CIFAR-10.
pub const ZERO_COST_CIFAR10: Shipped = shipped!("zero-cost/nb201_cifar10_zc_proxies.csv");
/// NAS-Bench-Suite-Zero zero-cost proxies on ImageNet16-120.
pub const ZERO_COST_IMAGENET16: Shipped = shipped!("zero-cost/nb201_imagenet16-120_zc_proxies.csv");

/// Every shipped file.
pub fn all() -> impl Iterator<Item = &'static Shipped> {
    const SINGLE: [&Shipped; 7] = [
        &NB201_ARCHS,
        &NASROBBENCH201_HTML,
        &NASROBBENCH201_OPS,
        &ROBUSTNESS_META,
        &NB201_CIFAR10,
        &ZERO_COST_CIFAR10,
        &ZERO_COST_IMAGENET16,
    ];
    SINGLE.into_iter().chain(ROBUSTNESS_ACCURACIES.iter())
}

/// The shipped file called `name` (its path under `data/`).
pub fn by_name(name: &str) -> Option<&'static Shipped> {
    all().find(|s| s.name == name)
}

/// Prefix that names a shipped copy where a path is expected.
pub const SHIPPED_PREFIX: &str = "shipped:";

/// An importer's input: a file, or a copy shipped in the binary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Input {
    File(PathBuf),
    Shipped(&'static Shipped),
}

impl Input {
    /// The bytes, read from disk for a file.
    pub fn bytes(&self) -> std::io::Result<Cow<'static, [u8]>> {
        match self {
            Input::File(path) => std::fs::read(path).map(Cow::Owned),
            Input::Shipped(shipped) => Ok(Cow::Borrowed(shipped.bytes)),
        }
    }

    /// The text; a file that is not UTF-8 is an `InvalidData` error.
    pub fn text(&self) -> std::io::Result<Cow<'static, str>> {
        match self.bytes()? {
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Cow::Owned(bytes) => String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }

    /// How errors name the input: the path, or `shipped:<name>`.
    pub fn origin(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }

    /// The file name (last path component), e.g. `pgd@Linf_accuracy.json`.
    pub fn file_name(&self) -> String {
        let origin = self.origin();
        origin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::File(path) => write!(f, "{}", path.display()),
            Input::Shipped(shipped) => write!(f, "{SHIPPED_PREFIX}{}", shipped.name),
        }
    }
}

impl std::str::FromStr for Input {
    type Err = String;

    fn from_str(text: &str) -> Result<Input, String> {
        match text.strip_prefix(SHIPPED_PREFIX) {
            Some(name) => by_name(name).map(Input::Shipped).ok_or_else(|| {
                let known: Vec<&str> = all().map(|s| s.name).collect();
                format!("no shipped file `{name}` (shipped: {})", known.join(", "))
            }),
            None if text.is_empty() => Err("empty path".into()),
            None => Ok(Input::File(PathBuf::from(text))),
        }
    }
}

impl From<Input> for String {
    fn from(input: Input) -> String {
        input.to_string()
    }
}

impl TryFrom<String> for Input {
    type Error = String;

    fn try_from(text: String) -> Result<Input, String> {
        text.parse()
    }
}

impl From<&'static Shipped> for Input {
    fn from(shipped: &'static Shipped) -> Input {
        Input::Shipped(shipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_file_is_utf8_and_named_by_its_path() {
        for shipped in all() {
            assert!(std::str::from_utf8(shipped.bytes).is_ok(), "{} is not UTF-8", shipped.name);
            let input: Input = format!("shipped:{}", shipped.name).parse().unwrap();
            assert_eq!(input, Input::Shipped(shipped));
            assert_eq!(input.to_string(), format!("shipped:{}", shipped.name));
        }
    }

    #[test]
    fn shipped_copies_are_byte_identical_to_their_recorded_hashes() {
        // The README's table gives each file's blake3; a changed copy must be noticed.
        let readme = include_str!("../README.md");
        for shipped in all() {
            let hash = blake3::hash(shipped.bytes).to_hex().to_string();
            let row = readme.lines().find(|l| l.contains(&format!("`{}`", shipped.name)));
            let row = row.unwrap_or_else(|| panic!("README.md has no row for {}", shipped.name));
            assert!(
                row.contains(&hash[..16]),
                "{}: blake3 {} is not the one README.md records",
                shipped.name,
                &hash[..16]
            );
        }
    }

    #[test]
    fn unknown_shipped_names_and_empty_paths_are_refused() {
        let err = "shipped:nope.json".parse::<Input>().unwrap_err();
        assert!(err.contains("no shipped file `nope.json`") && err.contains("nb201_archs.txt"), "{err}");
        assert!("".parse::<Input>().is_err());
        assert_eq!("x/y.csv".parse::<Input>().unwrap(), Input::File("x/y.csv".into()));
    }
}
