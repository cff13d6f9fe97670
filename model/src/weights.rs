//! Safetensors reading (f32/f16/bf16, memory-mapped) and writing (f32), with checked names and shapes.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::import::{Slot, TensorSpec, hf_tensor_specs};
use crate::llama::Llama;

/// Loads weights for `config` from a safetensors file (memory-mapped).
pub fn load_safetensors_file(
    config: &LlamaConfig,
    path: &Path,
    device: &Device,
) -> Result<Llama, ModelError> {
    let file = std::fs::File::open(path).map_err(|err| ModelError::io(path, err))?;
    // SAFETY: the mapping is read-only and dropped before this function returns; a concurrent
    // writer truncating the file could fault, which is the documented memmap caveat we accept
    // for model files the user points us at.
    let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(|err| ModelError::io(path, err))?;
    load_safetensors_bytes(config, &mapped, path, device)
}

/// Loads weights for `config` from safetensors bytes; `path` labels errors.
pub fn load_safetensors_bytes(
    config: &LlamaConfig,
    bytes: &[u8],
    path: &Path,
    device: &Device,
) -> Result<Llama, ModelError> {
    let tensors = SafeTensors::deserialize(bytes).map_err(|err| ModelError::Safetensors {
        path: path.to_path_buf(),
        message: err.to_string(),
    })?;
    let specs = hf_tensor_specs(config);
    let by_slot: HashMap<Slot, &TensorSpec> = specs.iter().map(|spec| (spec.slot, spec)).collect();
    let known: std::collections::HashSet<&str> =
        specs.iter().map(|spec| spec.name.as_str()).collect();
    for name in tensors.names() {
        // Tied checkpoints sometimes still carry lm_head.weight; rotary caches are recomputed.
        if !known.contains(name)
            && name != "lm_head.weight"
            && !name.ends_with("rotary_emb.inv_freq")
        {
            tracing::warn!(file = %path.display(), tensor = name, "ignoring tensor the config does not use");
        }
    }
    let mut fetch = |slot: Slot| -> Result<Vec<f32>, ModelError> {
        let spec = by_slot.get(&slot).ok_or_else(|| ModelError::Config {
            path: path.to_path_buf(),
            message: format!("internal: no tensor spec for {slot:?}"),
        })?;
        read_tensor(&tensors, spec, path)
    };
    Llama::from_fetch(config, &mut fetch, device)
}

/// Reads one tensor, checking its shape and converting it to f32.
fn read_tensor(
    tensors: &SafeTensors,
    spec: &TensorSpec,
    path: &Path,
) -> Result<Vec<f32>, ModelError> {
    let view = tensors
        .tensor(&spec.name)
        .map_err(|_| ModelError::MissingTensor {
            path: path.to_path_buf(),
            name: spec.name.clone(),
            expected: spec.shape.clone(),
        })?;
    if view.shape() != spec.shape.as_slice() {
        return Err(ModelError::ShapeMismatch {
            path: path.to_path_buf(),
            name: spec.name.clone(),
            expected: spec.shape.clone(),
            found: view.shape().to_vec(),
        });
    }
    to_f32(&view).ok_or_else(|| ModelError::UnsupportedDtype {
        path: path.to_path_buf(),
        name: spec.name.clone(),
        found: format!("{:?}", view.dtype()),
    })
}

/// Converts a little-endian f32/f16/bf16 tensor to f32 values (`None` for other dtypes).
fn to_f32(view: &TensorView) -> Option<Vec<f32>> {
    let bytes = view.data();
    Some(match view.dtype() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => return None,
    })
}

/// Writes tensors as an f32 safetensors file.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(TensorSpec, Vec<f32>)],
) -> Result<(), ModelError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(spec, data)| {
            let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (spec.name.clone(), raw, spec.shape.clone())
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, raw, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), raw)
                .map(|view| (name.clone(), view))
                .map_err(|err| ModelError::Safetensors {
                    path: path.to_path_buf(),
                    message: err.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    let serialized =
        safetensors::serialize(views, Some(metadata)).map_err(|err| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    std::fs::write(path, serialized).map_err(|err| ModelError::io(path, err))
}
