//! What a unit reads from the config, by construction.
//!
//! Each unit deserialises its settings into a *view*: a struct whose serde
//! field names are the config paths it reads — a whole section (`model`) or
//! one key (`#[serde(rename = "evaluation.pgd.steps")]`). [`paths`] takes the
//! unit's `config_keys` from the same field names, and [`read`] fills the
//! view from the unit's config without defaults, so a key is read if and only
//! if it is hashed into the unit's key: a field missing from the hashed slice
//! is an error, never a silent default.

use anyhow::{Result, anyhow};
use robbench_pipeline::Config;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// The config paths a view reads: its serde field names, in declaration order.
pub fn paths<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut fields = None;
    let _ = T::deserialize(Names(&mut fields));
    fields.expect("a config view is a struct with named fields, without #[serde(flatten)]").to_vec()
}

/// Fills view `T` from `config` (a unit's config, sliced to `paths::<T>()`).
pub fn read<T: DeserializeOwned>(config: &Config) -> Result<T> {
    let mut table = toml::Table::new();
    for path in paths::<T>() {
        let value = config.get(path).ok_or_else(|| {
            anyhow!("config key `{path}` is read but not among the unit's config keys (it would take a default)")
        })?;
        table.insert(path.to_string(), value.clone());
    }
    Ok(Config::from_table(table).typed("")?)
}

/// The names a serde enum accepts, in declaration order (its `rename`s
/// applied): a config key's choices.
pub fn variants<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names = None;
    let _ = T::deserialize(Names(&mut names));
    names.expect("a choice is a serde enum")
}

/// A deserializer that only records the names a struct's fields or an enum's
/// variants go by.
struct Names<'a>(&'a mut Option<&'static [&'static str]>);

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> Deserializer<'de> for Names<'_> {
    type Error = Recorded;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Recorded> {
        *self.0 = Some(fields);
        Err(Recorded)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Recorded> {
        *self.0 = Some(variants);
        Err(Recorded)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct View {
        model: crate::config::ModelConfig,
        #[serde(rename = "train.epochs")]
        epochs: usize,
    }

    #[test]
    fn a_view_reads_exactly_its_fields_and_never_defaults_one() {
        assert_eq!(paths::<View>(), ["model", "train.epochs"]);
        let full = Config::from_toml_str("[model]\nchannels = 3\ncells = 2\n[train]\nepochs = 4\nmax_lr = 1.0\n", "t")
            .unwrap();
        let view: View = read(&full.slice(&paths::<View>())).unwrap();
        assert_eq!((view.model.channels, view.epochs), (3, 4));
        // A slice without `train.epochs` must not yield a default epoch count.
        let e = read::<View>(&full.slice(&["model"])).unwrap_err().to_string();
        assert!(e.contains("train.epochs"), "{e}");
    }
}
