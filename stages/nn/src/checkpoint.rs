//! Safetensors checkpoints in PyTorch's layout: float32 tensors (int64
//! `num_batches_tracked` scalars) named as the official model's
//! `state_dict()`, and metadata `arch`, `C`, `N`, `classes`, `mean`, `std`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tch::{Device, Kind, Tensor};

use crate::network::{NetworkSpec, TinyNetwork};
use crate::NnError;

fn error(path: &Path, reason: impl Into<String>) -> NnError {
    NnError::Checkpoint { path: path.display().to_string(), reason: reason.into() }
}

/// Raw little-endian bytes of a CPU copy of `t`.
fn bytes_of(t: &Tensor) -> (Dtype, Vec<u8>) {
    let t = t.to_device(Device::Cpu).contiguous();
    match t.kind() {
        Kind::Int64 => {
            let v = Vec::<i64>::try_from(t.flatten(0, -1)).expect("int64 tensor");
            (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        _ => {
            let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).expect("float tensor");
            (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
    }
}

pub fn save(net: &TinyNetwork, path: &Path) -> Result<(), NnError> {
    let spec = net.spec();
    let state = net.state();
    let owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = state
        .iter()
        .map(|(name, t)| {
            let (dtype, bytes) = bytes_of(t);
            (name.clone(), dtype, t.size().iter().map(|&d| d as usize).collect(), bytes)
        })
        .collect();
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            (name.clone(), TensorView::new(*dtype, shape.clone(), bytes).expect("shape matches byte count"))
        })
        .collect();
    let metadata = HashMap::from([
        ("arch".to_string(), spec.arch.to_string()),
        ("C".to_string(), spec.channels.to_string()),
        ("N".to_string(), spec.cells_per_stage.to_string()),
        ("classes".to_string(), spec.classes.to_string()),
        ("mean".to_string(), serde_json::to_string(&spec.mean).expect("numbers")),
        ("std".to_string(), serde_json::to_string(&spec.std).expect("numbers")),
    ]);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    safetensors::serialize_to_file(views, Some(metadata), &tmp).map_err(|e| error(path, e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| error(path, e.to_string()))
}

/// The spec from the metadata, and every tensor (CPU) by name.
pub fn read(path: &Path) -> Result<(NetworkSpec, HashMap<String, Tensor>), NnError> {
    let bytes = std::fs::read(path).map_err(|e| error(path, e.to_string()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| meta.get(key).ok_or_else(|| error(path, format!("metadata key `{key}` is missing")));
    let int = |key: &str| -> Result<i64, NnError> {
        field(key)?.parse().map_err(|_| error(path, format!("metadata `{key}` is not an integer")))
    };
    let floats = |key: &str| -> Result<Vec<f64>, NnError> {
        serde_json::from_str(field(key)?).map_err(|_| error(path, format!("metadata `{key}` is not a JSON array of numbers")))
    };
    let spec = NetworkSpec {
        arch: field("arch")?.parse().map_err(|e: robbench_space::SpaceError| error(path, e.to_string()))?,
        channels: int("C")?,
        cells_per_stage: int("N")?,
        classes: int("classes")?,
        mean: floats("mean")?,
        std: floats("std")?,
    };
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| error(path, e.to_string()))?;
    let mut out = HashMap::new();
    for (name, view) in tensors.tensors() {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let kind = match view.dtype() {
            Dtype::F32 => Kind::Float,
            Dtype::I64 => Kind::Int64,
            other => return Err(error(path, format!("tensor `{name}` has dtype {other:?}; expected F32 or I64"))),
        };
        let t = Tensor::from_data_size(view.data(), &shape, kind);
        out.insert(name, t);
    }
    Ok((spec, out))
}

/// Copies `tensors` into `net`, requiring exactly its state names and shapes.
pub fn assign(net: &TinyNetwork, mut tensors: HashMap<String, Tensor>, path: &Path) -> Result<(), NnError> {
    for (name, target) in net.state() {
        let source = tensors.remove(&name).ok_or_else(|| error(path, format!("tensor `{name}` is missing")))?;
        if source.size() != target.size() {
            return Err(error(path, format!("tensor `{name}` has shape {:?}; the network needs {:?}", source.size(), target.size())));
        }
        tch::no_grad(|| target.shallow_clone().copy_(&source.to_kind(target.kind())));
    }
    if let Some(extra) = tensors.keys().min() {
        return Err(error(path, format!("tensor `{extra}` does not belong to this network")));
    }
    Ok(())
}
