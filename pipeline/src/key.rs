//! Unit keys: blake3 over a canonical JSON encoding of everything a unit's
//! result depends on.

use std::fmt;

/// The content address of a unit (blake3, shown as 64 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey([u8; 32]);

impl UnitKey {
    /// Key of a unit: stage name and implementation version, the unit's own
    /// parameters, the config values it reads, and the keys of its inputs.
    pub fn derive(
        stage: &str,
        stage_version: u32,
        params: &serde_json::Value,
        config_slice: &serde_json::Value,
        inputs: &[UnitKey],
    ) -> UnitKey {
        // serde_json's map is ordered by key, so this encoding is canonical.
        let encoded = serde_json::json!({
            "stage": stage,
            "version": stage_version,
            "params": params,
            "config": config_slice,
            "inputs": inputs.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
        });
        UnitKey(*blake3::hash(encoded.to_string().as_bytes()).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<UnitKey> {
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(UnitKey(bytes))
    }

    /// A stable 64-bit number from the key, e.g. for sharding.
    pub fn low_u64(&self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().expect("8 bytes"))
    }
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitKey({})", &self.to_hex()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_change_with_every_ingredient_and_round_trip_hex() {
        let base = UnitKey::derive("train", 1, &json!({"arch": 3}), &json!({"lr": 0.1}), &[]);
        assert_eq!(base, UnitKey::derive("train", 1, &json!({"arch": 3}), &json!({"lr": 0.1}), &[]));
        let variants = [
            UnitKey::derive("eval", 1, &json!({"arch": 3}), &json!({"lr": 0.1}), &[]),
            UnitKey::derive("train", 2, &json!({"arch": 3}), &json!({"lr": 0.1}), &[]),
            UnitKey::derive("train", 1, &json!({"arch": 4}), &json!({"lr": 0.1}), &[]),
            UnitKey::derive("train", 1, &json!({"arch": 3}), &json!({"lr": 0.2}), &[]),
            UnitKey::derive("train", 1, &json!({"arch": 3}), &json!({"lr": 0.1}), &[base]),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
        assert_eq!(UnitKey::from_hex(&base.to_hex()), Some(base));
        assert_eq!(UnitKey::from_hex("zz"), None);
    }
}
