//! Tuned-weights overlays (see [`crate::tune`]): the trained tensors in Hugging Face names as a
//! safetensors file whose header metadata names the base model (a fingerprint of its weights),
//! written atomically; read back, checked against the base (fingerprint, names, shapes) and
//! merged onto it.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;
use ghostline_model::import::TensorSpec;
use ghostline_model::{Llama, LlamaConfig};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use sha2::{Digest, Sha256};

use crate::tune::{OVERLAY_FORMAT, TuneError, TuneReport, overlay_error};

/// Identifies base weights: SHA-256 over the config's shape numbers and every tensor's name and
/// f32 bytes, hex (an overlay only applies to the base it was tuned from).
pub fn base_fingerprint(config: &LlamaConfig, base: &Llama) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        format!(
            "{} {} {} {} {}",
            config.vocab_size,
            config.hidden_size,
            config.intermediate_size,
            config.num_hidden_layers,
            config.num_attention_heads
        )
        .as_bytes(),
    );
    for (spec, data) in base.to_hf_tensors(config) {
        hasher.update(spec.name.as_bytes());
        for v in data {
            hasher.update(v.to_le_bytes());
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serializes HF tensors as f32 safetensors bytes with `metadata`.
pub(crate) fn to_safetensors(
    tensors: &[(TensorSpec, Vec<f32>)],
    metadata: HashMap<String, String>,
    label: &Path,
) -> Result<Vec<u8>, TuneError> {
    let raw: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(spec, data)| {
            let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (spec.name.clone(), bytes, spec.shape.clone())
        })
        .collect();
    let views = raw
        .iter()
        .map(|(name, bytes, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| overlay_error(label, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| overlay_error(label, e.to_string()))
}

/// `base` moved onto `device` (e.g. an autodiff device) through its HF tensors.
pub(crate) fn rebuild(
    config: &LlamaConfig,
    tensors: &[(TensorSpec, Vec<f32>)],
    device: &Device,
) -> Result<Llama, TuneError> {
    let label = Path::new("<tune>");
    let bytes = to_safetensors(tensors, HashMap::new(), label)?;
    Ok(ghostline_model::weights::load_safetensors_bytes(
        config, &bytes, label, device,
    )?)
}

/// `base` with `overlay`'s tensors in place of its own (names and shapes checked).
pub(crate) fn merge_tensors(
    config: &LlamaConfig,
    mut base: Vec<(TensorSpec, Vec<f32>)>,
    overlay: &[(TensorSpec, Vec<f32>)],
    device: &Device,
    label: &Path,
) -> Result<Llama, TuneError> {
    let index: HashMap<String, usize> = base
        .iter()
        .enumerate()
        .map(|(i, (spec, _))| (spec.name.clone(), i))
        .collect();
    for (spec, data) in overlay {
        let Some(&i) = index.get(&spec.name) else {
            return Err(overlay_error(
                label,
                format!("tensor {} is not part of the base model", spec.name),
            ));
        };
        let expected = &base[i].0.shape;
        let n: usize = expected.iter().product();
        if &spec.shape != expected || data.len() != n {
            return Err(overlay_error(
                label,
                format!(
                    "tensor {} has shape {:?}, the base model's is {:?}",
                    spec.name, spec.shape, expected
                ),
            ));
        }
        base[i].1.clone_from(data);
    }
    rebuild(config, &base, device)
}

/// Metadata stored in an overlay's safetensors header.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverlayMeta {
    /// [`base_fingerprint`] of the base the overlay was tuned from.
    pub base_model: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// The run's numbers.
    pub report: TuneReport,
}

/// Writes `overlay` to `path` atomically (a temporary file in the same directory, renamed).
pub fn write_overlay(
    path: &Path,
    overlay: &[(TensorSpec, Vec<f32>)],
    meta: &OverlayMeta,
) -> Result<(), TuneError> {
    let mut metadata = HashMap::new();
    metadata.insert(OVERLAY_FORMAT.0.to_string(), OVERLAY_FORMAT.1.to_string());
    metadata.insert("format".to_string(), "pt".to_string());
    metadata.insert("base_model".to_string(), meta.base_model.clone());
    metadata.insert("created_ms".to_string(), meta.created_ms.to_string());
    metadata.insert(
        "report".to_string(),
        serde_json::to_string(&meta.report).unwrap_or_default(),
    );
    let bytes = to_safetensors(overlay, metadata, path)?;
    let io = |source| TuneError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// An overlay read from a file.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Its metadata.
    pub meta: OverlayMeta,
    /// Its tensors (HF names, f32).
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

/// Parses overlay bytes; `path` labels errors.
pub fn parse_overlay(bytes: &[u8], path: &Path) -> Result<Overlay, TuneError> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| overlay_error(path, format!("not a safetensors file ({e})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get(OVERLAY_FORMAT.0).map(String::as_str) != Some(OVERLAY_FORMAT.1) {
        return Err(overlay_error(path, "not a ghostline tuned-weights overlay"));
    }
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| overlay_error(path, format!("not a safetensors file ({e})")))?;
    let mut out = Vec::new();
    for (name, view) in tensors.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(overlay_error(path, format!("tensor {name} is not f32")));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.push((name, view.shape().to_vec(), data));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let meta = OverlayMeta {
        base_model: metadata.get("base_model").cloned().unwrap_or_default(),
        created_ms: metadata
            .get("created_ms")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        report: metadata
            .get("report")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
    };
    Ok(Overlay { meta, tensors: out })
}

/// Reads an overlay file.
pub fn read_overlay(path: &Path) -> Result<Overlay, TuneError> {
    let bytes = std::fs::read(path).map_err(|source| TuneError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_overlay(&bytes, path)
}

/// `base` with the overlay applied, after checking it was tuned from this base (`fingerprint`:
/// [`base_fingerprint`] of `base`, computed by the caller once) and that every tensor fits.
pub fn merge(
    config: &LlamaConfig,
    base: &Llama,
    fingerprint: &str,
    overlay: &Overlay,
    path: &Path,
) -> Result<Llama, TuneError> {
    if overlay.meta.base_model != fingerprint {
        return Err(overlay_error(
            path,
            format!(
                "tuned from another base model ({}…), this one is {}…",
                overlay
                    .meta
                    .base_model
                    .get(..12)
                    .unwrap_or(&overlay.meta.base_model),
                fingerprint.get(..12).unwrap_or(fingerprint)
            ),
        ));
    }
    let specs: HashMap<String, TensorSpec> = ghostline_model::import::hf_tensor_specs(config)
        .into_iter()
        .map(|spec| (spec.name.clone(), spec))
        .collect();
    let mut tensors = Vec::new();
    for (name, shape, data) in &overlay.tensors {
        let Some(spec) = specs.get(name) else {
            return Err(overlay_error(
                path,
                format!("tensor {name} is not part of the base model"),
            ));
        };
        let mut spec = spec.clone();
        spec.shape.clone_from(shape);
        tensors.push((spec, data.clone()));
    }
    let device = base.embedding_weight().device();
    merge_tensors(config, base.to_hf_tensors(config), &tensors, &device, path)
}
