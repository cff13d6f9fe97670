//! Safetensors reading (memory-mapped; parsing and checks in `checkpoint.rs`) and writing (f32).

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;
use safetensors::{Dtype, tensor::TensorView};

use crate::checkpoint::Checkpoint;
use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::import::TensorSpec;
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
    let checkpoint = Checkpoint::parse(config, bytes, path)?;
    Llama::from_fetch(config, &mut |slot| checkpoint.fetch(slot), device)
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
