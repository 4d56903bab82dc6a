//! Unit keys: blake3 over a canonical JSON encoding of everything a unit's
//! result depends on.

use std::fmt;

/// The content address of a unit (blake3, shown as 64 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnitKey([u8; 32]);

/// A key is a blake3 digest, so its first eight bytes already spread keys
/// evenly: hash maps over hundreds of thousands of keys (planning, the
/// store check) hash those instead of all 32.
impl std::hash::Hash for UnitKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

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
        UnitKey::derive_encoded(stage, stage_version, &params.to_string(), &config_slice.to_string(), inputs)
    }

    /// [`UnitKey::derive`] with params and config slice already encoded as
    /// JSON (`Value::to_string`), so a planner encodes a slice shared by many
    /// units once. The bytes hashed are those of the canonical object
    /// `{"config":…,"inputs":[…],"params":…,"stage":…,"version":…}` (keys in
    /// serde_json's sorted order), written into one buffer and hashed.
    pub fn derive_encoded(
        stage: &str,
        stage_version: u32,
        params_json: &str,
        config_slice_json: &str,
        inputs: &[UnitKey],
    ) -> UnitKey {
        // One contiguous buffer, hashed by one call: blake3 hashes long
        // inputs many chunks at a time, and a unit reading hundreds of
        // thousands of inputs (an analysis over every evaluation) would
        // otherwise make three tiny updates per input.
        let stage = serde_json::Value::from(stage).to_string();
        let mut bytes = Vec::with_capacity(64 + config_slice_json.len() + params_json.len() + 67 * inputs.len());
        bytes.extend_from_slice(b"{\"config\":");
        bytes.extend_from_slice(config_slice_json.as_bytes());
        bytes.extend_from_slice(b",\"inputs\":[");
        for (i, input) in inputs.iter().enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            bytes.push(b'"');
            bytes.extend_from_slice(&input.hex_digits());
            bytes.push(b'"');
        }
        bytes.extend_from_slice(b"],\"params\":");
        bytes.extend_from_slice(params_json.as_bytes());
        bytes.extend_from_slice(b",\"stage\":");
        bytes.extend_from_slice(stage.as_bytes());
        bytes.extend_from_slice(format!(",\"version\":{stage_version}}}").as_bytes());
        UnitKey(*blake3::hash(&bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        String::from_utf8(self.hex_digits().to_vec()).expect("hex digits are ASCII")
    }

    /// The 64 lowercase hex digits, without allocating.
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[(b >> 4) as usize];
            out[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        out
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
        // Keys of existing stores stay valid: the streamed encoding is the
        // canonical JSON object the keys have always hashed.
        let (params, slice) = (json!({"arch": 3, "s": "x\"y"}), json!({"lr": [0.1, 0.2]}));
        let encoded = json!({"stage": "train", "version": 7, "params": params, "config": slice,
                             "inputs": [base.to_hex(), base.to_hex()]});
        assert_eq!(
            UnitKey::derive("train", 7, &params, &slice, &[base, base]),
            UnitKey(*blake3::hash(encoded.to_string().as_bytes()).as_bytes())
        );
        assert_eq!(UnitKey::from_hex("zz"), None);
    }
}
