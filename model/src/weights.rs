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

/// The element type a model file is written in (weights are always f32 in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreDtype {
    /// 4 bytes per weight, exact.
    #[default]
    F32,
    /// IEEE half precision: half the size; rounding error ~5e-4 relative, far below what
    /// training noise changes (the embedded model ships this way).
    F16,
}

/// Writes tensors as an f32 safetensors file.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(TensorSpec, Vec<f32>)],
) -> Result<(), ModelError> {
    write_safetensors_as(path, tensors, StoreDtype::F32)
}

/// Writes tensors as a safetensors file in `dtype`.
pub fn write_safetensors_as(
    path: &Path,
    tensors: &[(TensorSpec, Vec<f32>)],
    dtype: StoreDtype,
) -> Result<(), ModelError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(spec, data)| {
            let raw: Vec<u8> = match dtype {
                StoreDtype::F32 => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                StoreDtype::F16 => data
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
            };
            (spec.name.clone(), raw, spec.shape.clone())
        })
        .collect();
    let st_dtype = match dtype {
        StoreDtype::F32 => Dtype::F32,
        StoreDtype::F16 => Dtype::F16,
    };
    let views = bytes
        .iter()
        .map(|(name, raw, shape)| {
            TensorView::new(st_dtype, shape.clone(), raw)
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
