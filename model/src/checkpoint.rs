//! Reading a safetensors checkpoint against a config, without the tensor backend: the header is
//! parsed, names and shapes are checked against [`hf_tensor_specs`], and tensors are converted to
//! f32 on request. `weights.rs` hands these vectors to the model.
//!
//! Kept free of burn so the fuzz crate (`fuzz/`) can exercise exactly this code on arbitrary
//! bytes and configs without building the backend under sanitizer instrumentation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::import::{Slot, TensorSpec, hf_tensor_specs};

/// A parsed checkpoint whose tensors can be fetched by slot.
pub struct Checkpoint<'data> {
    tensors: SafeTensors<'data>,
    by_slot: HashMap<Slot, TensorSpec>,
    path: PathBuf,
}

impl<'data> Checkpoint<'data> {
    /// Parses `bytes` as safetensors for `config`; `path` labels errors. Tensors the config does
    /// not use are logged and ignored.
    pub fn parse(
        config: &LlamaConfig,
        bytes: &'data [u8],
        path: &Path,
    ) -> Result<Checkpoint<'data>, ModelError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|err| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        let by_slot: HashMap<Slot, TensorSpec> = hf_tensor_specs(config)
            .into_iter()
            .map(|spec| (spec.slot, spec))
            .collect();
        let known: std::collections::HashSet<&str> =
            by_slot.values().map(|spec| spec.name.as_str()).collect();
        for name in tensors.names() {
            // Tied checkpoints sometimes still carry lm_head.weight; rotary caches are recomputed.
            if !known.contains(name)
                && name != "lm_head.weight"
                && !name.ends_with("rotary_emb.inv_freq")
            {
                tracing::warn!(file = %path.display(), tensor = name, "ignoring tensor the config does not use");
            }
        }
        Ok(Checkpoint {
            tensors,
            by_slot,
            path: path.to_path_buf(),
        })
    }

    /// The tensor for `slot` as f32 values, after checking its name, shape and dtype.
    pub fn fetch(&self, slot: Slot) -> Result<Vec<f32>, ModelError> {
        let spec = self.by_slot.get(&slot).ok_or_else(|| ModelError::Config {
            path: self.path.clone(),
            message: format!("internal: no tensor spec for {slot:?}"),
        })?;
        read_tensor(&self.tensors, spec, &self.path)
    }
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
