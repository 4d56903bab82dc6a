//! Safetensors checkpoints in PyTorch's layout: float32 tensors (int64
//! `num_batches_tracked` scalars) named as the official model's
//! `state_dict()`, and metadata `arch`, `C`, `N`, `classes`, `mean`, `std`
//! (the last two as JSON arrays), so that
//! `model.load_state_dict(safetensors.torch.load_file(path))` works on the
//! `xautodl` model.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tch::{Device, Kind, Tensor};

use crate::{NetworkSpec, NnError, TinyNetwork};

pub fn error(path: &Path, reason: impl Into<String>) -> NnError {
    NnError::Checkpoint { path: path.display().to_string(), reason: reason.into() }
}

/// The safetensors dtype and raw little-endian bytes of a CPU copy of `t`.
fn bytes_of(t: &Tensor) -> (Dtype, Vec<u8>) {
    let t = t.to_device(Device::Cpu).contiguous().flatten(0, -1);
    match t.kind() {
        Kind::Int64 => {
            let v = Vec::<i64>::try_from(t).expect("int64 tensor");
            (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        _ => {
            let v = Vec::<f32>::try_from(t.to_kind(Kind::Float)).expect("float tensor");
            (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
    }
}

pub fn save(net: &TinyNetwork, path: &Path) -> Result<(), NnError> {
    let spec = net.spec();
    let owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = net
        .state()
        .into_iter()
        .map(|(name, t)| {
            let (dtype, bytes) = bytes_of(&t);
            (name, dtype, t.size().iter().map(|&d| d as usize).collect(), bytes)
        })
        .collect();
    let views: Vec<(&str, TensorView)> = owned
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            (name.as_str(), TensorView::new(*dtype, shape.clone(), bytes).expect("shape matches byte count"))
        })
        .collect();
    let metadata = BTreeMap::from([
        ("arch".to_string(), spec.arch.to_string()),
        ("C".to_string(), spec.channels.to_string()),
        ("N".to_string(), spec.cells_per_stage.to_string()),
        ("classes".to_string(), spec.classes.to_string()),
        ("mean".to_string(), serde_json::to_string(&spec.mean).expect("finite numbers")),
        ("std".to_string(), serde_json::to_string(&spec.std).expect("finite numbers")),
    ]);
    let bytes = serialize_sorted(views, &metadata).map_err(|e| error(path, e))?;
    // A temp file in the same directory, synced, then renamed over `path`:
    // a crash leaves either the old file or the new one, never half of one.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |e: std::io::Error| error(path, e.to_string());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// A safetensors file whose `__metadata__` keys come in sorted order.
/// `safetensors::serialize` takes the metadata as a `HashMap`, whose order
/// changes from run to run, so identical weights would hash differently: the
/// tensors are serialised without metadata and the sorted metadata is
/// spliced in front of their header entries.
fn serialize_sorted(views: Vec<(&str, TensorView)>, metadata: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    let bare = safetensors::serialize(views, None).map_err(|e| e.to_string())?;
    let header_len = u64::from_le_bytes(bare[..8].try_into().expect("8-byte length")) as usize;
    let header = std::str::from_utf8(&bare[8..8 + header_len]).map_err(|e| e.to_string())?.trim_end();
    let entries = header.strip_prefix('{').and_then(|h| h.strip_suffix('}')).ok_or("unexpected safetensors header")?;
    let metadata = serde_json::to_string(metadata).map_err(|e| e.to_string())?;
    let separator = if entries.is_empty() { "" } else { "," };
    let mut header = format!("{{\"__metadata__\":{metadata}{separator}{entries}}}").into_bytes();
    // The data starts 8-byte aligned, as safetensors pads it.
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + header.len() + bare.len() - 8 - header_len);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&bare[8 + header_len..]);
    Ok(out)
}

/// The spec from the metadata (not yet validated), and every tensor (CPU) by name.
pub fn read(path: &Path) -> Result<(NetworkSpec, HashMap<String, Tensor>), NnError> {
    let bytes = std::fs::read(path).map_err(|e| error(path, e.to_string()))?;
    let tensors =
        SafeTensors::deserialize(&bytes).map_err(|e| error(path, format!("not a valid safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| error(path, e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| meta.get(key).ok_or_else(|| error(path, format!("metadata key `{key}` is missing")));
    let int = |key: &str| -> Result<i64, NnError> {
        let text = field(key)?;
        text.parse().map_err(|_| error(path, format!("metadata `{key}` = `{text}` is not an integer")))
    };
    let floats = |key: &str| -> Result<Vec<f64>, NnError> {
        let text = field(key)?;
        serde_json::from_str(text)
            .map_err(|_| error(path, format!("metadata `{key}` = `{text}` is not a JSON array of numbers")))
    };
    let spec = NetworkSpec {
        arch: field("arch")?
            .parse()
            .map_err(|e: robbench_space::SpaceError| error(path, format!("metadata `arch`: {e}")))?,
        channels: int("C")?,
        cells_per_stage: int("N")?,
        classes: int("classes")?,
        mean: floats("mean")?,
        std: floats("std")?,
    };
    let mut out = HashMap::new();
    for (name, view) in tensors.tensors() {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let kind = match view.dtype() {
            Dtype::F32 => Kind::Float,
            Dtype::I64 => Kind::Int64,
            other => return Err(error(path, format!("tensor `{name}` has dtype {other:?}; expected F32 or I64"))),
        };
        out.insert(name, Tensor::from_data_size(view.data(), &shape, kind));
    }
    Ok((spec, out))
}

/// Copies `tensors` into `net`, requiring exactly its state names, shapes and dtypes.
pub fn assign(net: &TinyNetwork, mut tensors: HashMap<String, Tensor>, path: &Path) -> Result<(), NnError> {
    for (name, target) in net.state() {
        let source = tensors.remove(&name).ok_or_else(|| error(path, format!("tensor `{name}` is missing")))?;
        if source.size() != target.size() {
            return Err(error(
                path,
                format!("tensor `{name}` has shape {:?}; the network needs {:?}", source.size(), target.size()),
            ));
        }
        if source.kind() != target.kind() {
            return Err(error(
                path,
                format!("tensor `{name}` has dtype {:?}; the network needs {:?}", source.kind(), target.kind()),
            ));
        }
        tch::no_grad(|| target.shallow_clone().copy_(&source));
    }
    let mut extra: Vec<&String> = tensors.keys().collect();
    extra.sort();
    if let Some(first) = extra.first() {
        return Err(error(path, format!("tensor `{first}` does not belong to this network ({} extra)", extra.len())));
    }
    Ok(())
}

// Saving and loading are methods of the network, defined here beside the
// format so that the network itself needs nothing of checkpoints.
impl TinyNetwork {
    /// Writes a safetensors checkpoint (atomically: temp file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), NnError> {
        save(self, path)
    }

    /// Loads a checkpoint written by [`TinyNetwork::save`] (or converted from
    /// a PyTorch `state_dict()` with the same metadata) onto `device`.
    pub fn load(path: &Path, device: Device) -> Result<TinyNetwork, NnError> {
        let (spec, tensors) = read(path)?;
        spec.validate().map_err(|e| error(path, format!("metadata: {e}")))?;
        let net = TinyNetwork::build(&spec, device);
        assign(&net, tensors, path)?;
        Ok(net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_weights_give_the_same_bytes_and_load_back() {
        let spec = NetworkSpec {
            arch: robbench_space::Space::nb201().arch(1462).unwrap(),
            channels: 4,
            cells_per_stage: 1,
            classes: 10,
            mean: vec![0.5, 0.4, 0.3],
            std: vec![0.25, 0.2, 0.2],
        };
        let net = TinyNetwork::new(&spec, Device::Cpu, 7).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Each save builds its metadata afresh: a hash map's order would differ between them.
        let files: Vec<Vec<u8>> = (0..8)
            .map(|i| {
                let path = dir.path().join(format!("{i}.safetensors"));
                save(&net, &path).unwrap();
                std::fs::read(&path).unwrap()
            })
            .collect();
        assert!(files.windows(2).all(|w| w[0] == w[1]), "identical weights saved to different bytes");
        let (_, header) = SafeTensors::read_metadata(&files[0]).unwrap();
        let keys: Vec<&String> = header.metadata().as_ref().unwrap().keys().collect();
        assert_eq!(keys.len(), 6);
        let (read_spec, tensors) = read(&dir.path().join("0.safetensors")).unwrap();
        assert_eq!((read_spec.arch, read_spec.classes, read_spec.mean), (spec.arch, 10, spec.mean));
        assert_eq!(tensors.len(), net.state().len());
    }
}
