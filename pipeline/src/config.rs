//! Experiment configuration: a TOML tree with `--set` overrides.
//!
//! The engine treats the config as data: stages declare which key paths each
//! unit reads, and a unit's key hashes only those values. Typed validation is
//! supplied by the application through [`ConfigSchema`], which also fills in
//! defaults, so that writing a default value explicitly never changes a key.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// A configuration problem, always naming the key (or file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("`--set {assignment}`: expected `section.key=value`")]
    BadAssignment { assignment: String },
    #[error("`--set {key}=...`: `{parent}` is a value, not a section")]
    NotASection { key: String, parent: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// Validates a raw config and returns it normalised (defaults filled in).
pub trait ConfigSchema: Send + Sync {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError>;
}

/// A TOML configuration tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    root: Table,
}

impl Config {
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let root: Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        Ok(Config { root })
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    pub fn from_table(root: Table) -> Self {
        Config { root }
    }

    /// Serialises a typed config back into a tree.
    pub fn from_serialize<T: Serialize>(value: &T) -> Result<Self, ConfigError> {
        match Value::try_from(value) {
            Ok(Value::Table(root)) => Ok(Config { root }),
            Ok(_) => Err(invalid("", "config must be a table")),
            Err(e) => Err(invalid("", &e.to_string())),
        }
    }

    pub fn table(&self) -> &Table {
        &self.root
    }

    /// Applies `section.key=value`. The value is read as TOML (`0.1`, `true`,
    /// `[1, 2]`, `"text"`); anything that is not valid TOML is taken as a string.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let (key, raw) = assignment
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| ConfigError::BadAssignment { assignment: assignment.to_string() })?;
        let key = key.trim();
        let value = parse_value(raw.trim());
        let parts: Vec<&str> = key.split('.').collect();
        let mut table = &mut self.root;
        for (depth, part) in parts[..parts.len() - 1].iter().enumerate() {
            let entry = table.entry(part.to_string()).or_insert_with(|| Value::Table(Table::new()));
            table = entry
                .as_table_mut()
                .ok_or_else(|| ConfigError::NotASection { key: key.to_string(), parent: parts[..=depth].join(".") })?;
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
        Ok(())
    }

    /// The value at a dotted path, if present.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.root.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    /// Deserialises the value at `path` (the whole tree for `""`), naming the
    /// exact key on error.
    pub fn typed<T: DeserializeOwned>(&self, path: &str) -> Result<T, ConfigError> {
        let value = if path.is_empty() {
            Value::Table(self.root.clone())
        } else {
            self.get(path).cloned().ok_or_else(|| invalid(path, "missing"))?
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            let key = match (path.is_empty(), inner == ".") {
                (true, _) => inner,
                (false, true) => path.to_string(),
                (false, false) => format!("{path}.{inner}"),
            };
            invalid(&key, &e.into_inner().to_string())
        })
    }

    /// The sub-tree made of the given paths only (absent paths are omitted):
    /// what a unit is allowed to read, and what its key hashes.
    pub fn slice(&self, paths: &[&str]) -> Config {
        let mut out = Config::default();
        for path in paths {
            if let Some(value) = self.get(path) {
                let mut table = &mut out.root;
                let parts: Vec<&str> = path.split('.').collect();
                for part in &parts[..parts.len() - 1] {
                    table = table
                        .entry(part.to_string())
                        .or_insert_with(|| Value::Table(Table::new()))
                        .as_table_mut()
                        .expect("slice paths nest inside tables");
                }
                table.insert(parts[parts.len() - 1].to_string(), value.clone());
            }
        }
        out
    }

    /// Canonical JSON (sorted keys), the input of unit keys and config hashes.
    pub fn canonical_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.root).expect("TOML values are JSON-representable")
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(&self.root).expect("config serialises")
    }
}

fn parse_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

/// Helper for schema implementations: an `Invalid` error for `key`.
pub fn invalid(key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Train {
        lr: f64,
        epochs: u32,
    }

    #[test]
    fn set_parses_toml_values_and_creates_sections() {
        let mut c = Config::from_toml_str("[train]\nlr = 0.1\n", "test").unwrap();
        c.set("train.lr=0.05").unwrap();
        c.set("train.name=fast run").unwrap();
        c.set("evaluation.pgd.steps=10").unwrap();
        assert_eq!(c.get("train.lr"), Some(&Value::Float(0.05)));
        assert_eq!(c.get("train.name"), Some(&Value::String("fast run".into())));
        assert_eq!(c.get("evaluation.pgd.steps"), Some(&Value::Integer(10)));
        assert!(matches!(c.set("train.lr.x=1"), Err(ConfigError::NotASection { .. })));
        assert!(matches!(c.set("novalue"), Err(ConfigError::BadAssignment { .. })));
    }

    #[test]
    fn typed_errors_name_the_key() {
        let c = Config::from_toml_str("[train]\nlr = \"fast\"\nepochs = 3\n", "t").unwrap();
        let e = c.typed::<Train>("train").unwrap_err().to_string();
        assert!(e.contains("`train.lr`"), "{e}");
        let c = Config::from_toml_str("[train]\nlr = 0.1\nepochs = 3\nbogus = 1\n", "t").unwrap();
        let e = c.typed::<Train>("train").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn slice_keeps_only_named_paths() {
        let c = Config::from_toml_str("[a]\nx = 1\ny = 2\n[b]\nz = 3\n", "t").unwrap();
        let s = c.slice(&["a.x", "b", "missing.key"]);
        assert_eq!(s.canonical_json(), serde_json::json!({"a": {"x": 1}, "b": {"z": 3}}));
    }
}
