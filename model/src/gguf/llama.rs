//! Llama-family GGUF → [`LlamaConfig`] + [`Llama`] + [`TextTokenizer`].
//!
//! Metadata keys are `{arch}.*` with `arch = general.architecture` (`llama` or `qwen2`).
//! Tensors are found by [`gguf_tensor_name`] and checked against the shapes
//! [`hf_tensor_specs`] implies (GGUF lists dims innermost first, so `[out, in]` is `[in, out]`).
//!
//! **Rotary layout.** llama.cpp runs `llama` models with interleaved-pair RoPE (rotating
//! `(x0, x1), (x2, x3), ...`), so its converter permutes the rows of each q and k head from
//! Hugging Face's rotate-half order (`x_i` pairs with `x_{i + d/2}`): GGUF row `2i + j` of a head
//! is HF row `j · d/2 + i`. We use rotate-half, so [`unpermute_rows`] undoes it on load.
//! `qwen2` GGUFs are not permuted (llama.cpp runs them with rotate-half "NEOX" RoPE).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;

use super::GgufError;
use super::file::{GgufFile, MetaValue};
use super::tokenizer::{GgufTokenizerInfo, build_tokenizer};
use crate::config::{LlamaConfig, RopeScaling, TokenIds};
use crate::error::ModelError;
use crate::import::{Slot, TensorSpec, gguf_tensor_name, hf_tensor_specs};
use crate::llama::Llama;
use crate::quant::{QuantLinear, QuantMatrix};
use crate::tokenizer::TextTokenizer;

/// A loaded GGUF checkpoint.
#[derive(Debug)]
pub struct GgufModel {
    /// Hyper-parameters read from the metadata.
    pub config: LlamaConfig,
    /// The weights, dequantized to f32.
    pub model: Llama,
    /// The tokenizer rebuilt from the metadata.
    pub tokenizer: TextTokenizer,
    /// `general.name`, when present.
    pub name: Option<String>,
}

/// Memory-maps and loads a GGUF file onto `device`.
pub fn load_gguf(path: &Path, device: &Device) -> Result<GgufModel, ModelError> {
    let file = std::fs::File::open(path).map_err(|err| ModelError::io(path, err))?;
    // SAFETY: read-only mapping dropped before returning (see weights.rs for the caveat).
    let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(|err| ModelError::io(path, err))?;
    load_gguf_bytes(&mapped, path, device)
}

/// Loads a GGUF image from bytes; `path` labels errors.
pub fn load_gguf_bytes(
    bytes: &[u8],
    path: &Path,
    device: &Device,
) -> Result<GgufModel, ModelError> {
    let wrap = |error: GgufError| ModelError::Gguf {
        path: path.to_path_buf(),
        error,
    };
    let file = GgufFile::parse(bytes).map_err(wrap)?;
    let config = config_from_gguf(&file).map_err(wrap)?;
    let (inner, info) = build_tokenizer(&file).map_err(wrap)?;
    let tokenizer = gguf_text_tokenizer(inner, &info, path)?;
    let mut model = load_weights(&file, &config)
        .map_err(wrap)
        .and_then(|mut fetch_all| {
            let mut fetch = |slot: Slot| -> Result<Vec<f32>, ModelError> {
                fetch_all.remove(&slot).ok_or_else(|| ModelError::Config {
                    path: path.to_path_buf(),
                    message: format!("internal: tensor for {slot:?} read twice or never"),
                })
            };
            Llama::from_fetch(&config, &mut fetch, device)
        })?;
    attach_quantized(&file, &config, &mut model);
    let name = file
        .get("general.name")
        .and_then(MetaValue::as_str)
        .map(str::to_string);
    Ok(GgufModel {
        config,
        model,
        tokenizer,
        name,
    })
}

/// Wraps a GGUF tokenizer with the stop and leading ids its metadata names.
fn gguf_text_tokenizer(
    inner: tokenizers::Tokenizer,
    info: &GgufTokenizerInfo,
    path: &Path,
) -> Result<TextTokenizer, ModelError> {
    let leading = match (info.add_bos, info.bos) {
        (true, Some(bos)) => vec![bos],
        _ => Vec::new(),
    };
    let stops: Vec<u32> = info.eos.into_iter().collect();
    TextTokenizer::from_tokenizer(inner, path, &stops, Some(leading))
}

/// The architecture and its hyper-parameters, from `{arch}.*` metadata.
pub fn config_from_gguf(file: &GgufFile) -> Result<LlamaConfig, GgufError> {
    let arch = file
        .get("general.architecture")
        .and_then(MetaValue::as_str)
        .ok_or_else(|| GgufError::MissingKey("general.architecture".into()))?
        .to_string();
    if arch != "llama" && arch != "qwen2" {
        return Err(GgufError::UnsupportedArchitecture(arch));
    }
    let key = |name: &str| format!("{arch}.{name}");
    let int = |name: &str| -> Result<Option<usize>, GgufError> {
        let k = key(name);
        match file.get(&k) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| GgufError::BadKey {
                    key: k,
                    message: format!("expected an integer, found {}", value.summary()),
                }),
        }
    };
    let required = |name: &str| int(name)?.ok_or_else(|| GgufError::MissingKey(key(name)));
    let float = |name: &str| file.get(&key(name)).and_then(MetaValue::as_f64);

    let hidden = required("embedding_length")?;
    let heads = required("attention.head_count")?;
    let embed = file
        .tensor(&gguf_tensor_name(Slot::Embedding))
        .ok_or_else(|| GgufError::MissingTensor {
            name: gguf_tensor_name(Slot::Embedding),
            expected: vec![hidden, 0],
        })?;
    let vocab = match int("vocab_size")? {
        Some(v) => v,
        None => embed.dims.get(1).copied().unwrap_or(0),
    };
    let mut config = LlamaConfig::new(
        vocab,
        hidden,
        required("feed_forward_length")?,
        required("block_count")?,
        heads,
        int("attention.head_count_kv")?.unwrap_or(heads),
    );
    config.model_type = arch.clone();
    config.architectures = vec![if arch == "qwen2" {
        "Qwen2ForCausalLM".into()
    } else {
        "LlamaForCausalLM".into()
    }];
    if let Some(head_dim) = int("attention.key_length")?
        && (heads == 0 || head_dim != hidden / heads)
    {
        config.head_dim = Some(head_dim);
    }
    if let Some(rope_dims) = int("rope.dimension_count")?
        && rope_dims != config.head_dim()
    {
        return Err(GgufError::BadKey {
            key: key("rope.dimension_count"),
            message: format!(
                "partial rotary embedding ({rope_dims} of {} dims) is unsupported",
                config.head_dim()
            ),
        });
    }
    config.rope_theta = float("rope.freq_base").unwrap_or(10_000.0);
    config.rms_norm_eps = float("attention.layer_norm_rms_epsilon").unwrap_or(1e-5);
    config.max_position_embeddings = int("context_length")?.unwrap_or(2048);
    match file
        .get(&key("rope.scaling.type"))
        .and_then(MetaValue::as_str)
    {
        None | Some("none") => {}
        Some("linear") => {
            config.rope_scaling = Some(RopeScaling {
                rope_theta: None,
                rope_type: Some("linear".into()),
                legacy_type: None,
                factor: float("rope.scaling.factor").unwrap_or(1.0),
                low_freq_factor: None,
                high_freq_factor: None,
                original_max_position_embeddings: None,
            })
        }
        Some(other) => {
            return Err(GgufError::BadKey {
                key: key("rope.scaling.type"),
                message: format!("rope scaling `{other}` is unsupported (none, linear)"),
            });
        }
    }
    if file.tensor("rope_freqs.weight").is_some() {
        return Err(GgufError::BadTensor {
            name: "rope_freqs.weight".into(),
            message: "per-frequency RoPE factors (Llama 3.1 scaling) are unsupported".into(),
        });
    }
    config.tie_word_embeddings = file.tensor(&gguf_tensor_name(Slot::LmHead)).is_none();
    config.attention_bias =
        arch == "llama" && file.tensor(&gguf_tensor_name(Slot::QueryBias(0))).is_some();
    let token_id = |k: &str| {
        file.get(k)
            .and_then(MetaValue::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    config.bos_token_id = token_id("tokenizer.ggml.bos_token_id");
    config.eos_token_id = token_id("tokenizer.ggml.eos_token_id").map(TokenIds::One);
    config
        .validate(Path::new("<gguf metadata>"))
        .map_err(|err| GgufError::BadKey {
            key: format!("{arch}.*"),
            message: err.to_string(),
        })?;
    Ok(config)
}

/// Dequantizes every tensor `config` needs, in Hugging Face layout (q/k rows un-permuted).
fn load_weights(
    file: &GgufFile,
    config: &LlamaConfig,
) -> Result<HashMap<Slot, Vec<f32>>, GgufError> {
    let permuted = config.model_type == "llama";
    let specs = hf_tensor_specs(config);
    let known: std::collections::HashSet<String> = specs
        .iter()
        .map(|spec| gguf_tensor_name(spec.slot))
        .collect();
    for tensor in &file.tensors {
        if !known.contains(&tensor.name) {
            tracing::warn!(
                tensor = tensor.name,
                "ignoring GGUF tensor the model does not use"
            );
        }
    }
    let mut out = HashMap::with_capacity(specs.len());
    for spec in &specs {
        let mut values = read_tensor(file, spec)?;
        if permuted {
            let head_dim = config.head_dim();
            match spec.slot {
                Slot::QueryWeight(_) | Slot::QueryBias(_) => {
                    values = unpermute_rows(&values, config.num_attention_heads, head_dim);
                }
                Slot::KeyWeight(_) | Slot::KeyBias(_) => {
                    values = unpermute_rows(&values, config.n_kv_heads(), head_dim);
                }
                _ => {}
            }
        }
        out.insert(spec.slot, values);
    }
    Ok(out)
}

/// Keeps the quantized projections (Q4_0/Q4_1/Q8_0) in their blocks for the decode step
/// (see [`crate::quant`]); projections stored as floats keep using the f32 weights.
fn attach_quantized(file: &GgufFile, config: &LlamaConfig, model: &mut Llama) {
    let permuted = config.model_type == "llama";
    let head_dim = config.head_dim();
    let matrix = |slot: Slot| -> Option<QuantMatrix> {
        let info = file.tensor(&gguf_tensor_name(slot))?;
        let (cols, rows) = (*info.dims.first()?, *info.dims.get(1)?);
        let matrix = QuantMatrix::new(info.kind, rows, cols, file.tensor_bytes(info).to_vec())?;
        let heads = match slot {
            Slot::QueryWeight(_) => config.num_attention_heads,
            Slot::KeyWeight(_) => config.n_kv_heads(),
            _ => return Some(matrix),
        };
        if !permuted {
            return Some(matrix);
        }
        // HF row `h·d + j·d/2 + i` is GGUF row `h·d + 2i + j` (see the module docs).
        let half = head_dim / 2;
        let order: Vec<usize> = (0..heads * head_dim)
            .map(|row| {
                let (head, within) = (row / head_dim, row % head_dim);
                let (j, i) = (within / half, within % half);
                head * head_dim + 2 * i + j
            })
            .collect();
        Some(matrix.reorder_rows(&order))
    };
    let linear = |slots: &[Slot]| -> Option<Arc<QuantLinear>> {
        let parts = slots
            .iter()
            .map(|&slot| matrix(slot))
            .collect::<Option<Vec<_>>>()?;
        QuantLinear::new(parts).map(Arc::new)
    };
    for (n, layer) in model.layers.iter_mut().enumerate() {
        layer.attention.quant_qkv = linear(&[
            Slot::QueryWeight(n),
            Slot::KeyWeight(n),
            Slot::ValueWeight(n),
        ]);
        layer.attention.quant_output = linear(&[Slot::OutputWeight(n)]);
        layer.mlp.quant_gate_up = linear(&[Slot::GateWeight(n), Slot::UpWeight(n)]);
        layer.mlp.quant_down = linear(&[Slot::DownWeight(n)]);
    }
    model.quant_head = linear(&[if config.tie_word_embeddings {
        Slot::Embedding
    } else {
        Slot::LmHead
    }]);
}

/// Reads one tensor after checking its shape.
fn read_tensor(file: &GgufFile, spec: &TensorSpec) -> Result<Vec<f32>, GgufError> {
    let name = gguf_tensor_name(spec.slot);
    let expected: Vec<usize> = spec.shape.iter().rev().copied().collect();
    let info = file.tensor(&name).ok_or_else(|| GgufError::MissingTensor {
        name: name.clone(),
        expected: expected.clone(),
    })?;
    if info.dims != expected {
        return Err(GgufError::ShapeMismatch {
            name,
            expected,
            found: info.dims.clone(),
        });
    }
    file.dequantize(info)
}

/// Undoes llama.cpp's rotary permutation of a q or k projection (`[n_heads · head_dim, cols]`
/// row-major, or a bias with one column): within each head, GGUF row `2i + j` becomes row
/// `j · head_dim/2 + i`.
pub fn unpermute_rows(data: &[f32], n_heads: usize, head_dim: usize) -> Vec<f32> {
    let rows = n_heads * head_dim;
    let cols = data.len() / rows.max(1);
    let half = head_dim / 2;
    let mut out = vec![0.0f32; data.len()];
    for head in 0..n_heads {
        let base = head * head_dim;
        for i in 0..half {
            for j in 0..2 {
                let from = (base + 2 * i + j) * cols;
                let to = (base + j * half + i) * cols;
                out[to..to + cols].copy_from_slice(&data[from..from + cols]);
            }
        }
    }
    out
}

/// Applies llama.cpp's converter permutation (the inverse of [`unpermute_rows`]); used to write
/// test files the way the converter does.
pub fn permute_rows(data: &[f32], n_heads: usize, head_dim: usize) -> Vec<f32> {
    let rows = n_heads * head_dim;
    let cols = data.len() / rows.max(1);
    let half = head_dim / 2;
    let mut out = vec![0.0f32; data.len()];
    for head in 0..n_heads {
        let base = head * head_dim;
        for i in 0..half {
            for j in 0..2 {
                let from = (base + j * half + i) * cols;
                let to = (base + 2 * i + j) * cols;
                out[to..to + cols].copy_from_slice(&data[from..from + cols]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_the_converter_permutation() {
        // 2 heads of dim 4, 3 columns; row r holds r*10 + column.
        let data: Vec<f32> = (0..8)
            .flat_map(|r| (0..3).map(move |c| (r * 10 + c) as f32))
            .collect();
        let permuted = permute_rows(&data, 2, 4);
        // Head 0 rows in HF order 0,1,2,3 are stored as 0,2,1,3 (pairs (0,2) and (1,3)).
        let rows: Vec<f32> = permuted.chunks(3).map(|row| row[0] / 10.0).collect();
        assert_eq!(rows, vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
        assert_eq!(unpermute_rows(&permuted, 2, 4), data);
    }
}
