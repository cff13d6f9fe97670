//! What a model path holds, without loading its weights onto a device (`ghostline model info`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::gguf::{GgufError, GgufFile, tokenizer as gguf_tokenizer};
use crate::tokenizer::TextTokenizer;

/// A model's description.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDescription {
    /// `gguf v3`, `hugging face directory` or `embedded`.
    pub format: String,
    /// `general.name` or the file/directory name.
    pub name: String,
    /// `llama`, `qwen2`.
    pub architecture: String,
    /// The hyper-parameters the engine would run with.
    pub config: LlamaConfig,
    /// Parameters the engine would hold (tied embeddings counted once).
    pub n_params: usize,
    /// Stored dtype → (tensor count, element count), e.g. `Q4_1 → (210, 89M)`.
    pub dtypes: BTreeMap<String, (usize, usize)>,
    /// How the tokenizer is stored, e.g. `gguf gpt2 BPE, pre-tokenizer smollm`.
    pub tokenizer: String,
    /// Tokens in the tokenizer.
    pub vocab_size: usize,
    /// FIM sentinel names, if the tokenizer has them; otherwise prompts are prefix-only.
    pub fim: Option<[&'static str; 3]>,
    /// Ids that end a completion.
    pub stop_ids: Vec<u32>,
}

impl ModelDescription {
    /// `fim (<fim_prefix> ...)` or `prefix-only (no FIM tokens; the suffix is used by post-processing only)`.
    pub fn prompt_mode(&self) -> String {
        match self.fim {
            Some([p, s, m]) => format!("fill-in-the-middle ({p} {s} {m})"),
            None => {
                "prefix-only (no FIM tokens; the suffix is used by post-processing only)".into()
            }
        }
    }
}

/// Describes a `.gguf` file or a model directory.
pub fn describe(path: &Path) -> Result<ModelDescription, ModelError> {
    if !path.is_dir() && crate::gguf::is_gguf_path(path) {
        describe_gguf(path)
    } else {
        describe_dir(path)
    }
}

fn describe_gguf(path: &Path) -> Result<ModelDescription, ModelError> {
    let wrap = |error: GgufError| ModelError::Gguf {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(|err| ModelError::io(path, err))?;
    // SAFETY: read-only mapping dropped before returning (see weights.rs).
    let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(|err| ModelError::io(path, err))?;
    let gguf = GgufFile::parse(&mapped).map_err(wrap)?;
    let config = crate::gguf::llama::config_from_gguf(&gguf).map_err(wrap)?;
    let (inner, info) = gguf_tokenizer::build_tokenizer(&gguf).map_err(wrap)?;
    let stops: Vec<u32> = info.eos.into_iter().collect();
    let tokenizer = TextTokenizer::from_tokenizer(inner, path, &stops, Some(Vec::new()))?;
    let mut dtypes = BTreeMap::new();
    for tensor in &gguf.tensors {
        let entry = dtypes
            .entry(tensor.kind.name().to_string())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += tensor.n_elements();
    }
    let name = gguf
        .get("general.name")
        .and_then(crate::gguf::MetaValue::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| file_name(path));
    Ok(ModelDescription {
        format: format!("gguf v{}", gguf.version),
        name,
        architecture: config.model_type.clone(),
        n_params: config.n_params(),
        dtypes,
        tokenizer: format!(
            "gguf {} (byte-level BPE), pre-tokenizer {}, {} merges, add_bos {}",
            info.model,
            info.pre,
            gguf.get("tokenizer.ggml.merges")
                .and_then(crate::gguf::MetaValue::as_array)
                .map_or(0, <[_]>::len),
            info.add_bos
        ),
        vocab_size: info.vocab_size,
        fim: tokenizer.fim_names(),
        stop_ids: tokenizer.stop_ids().to_vec(),
        config,
    })
}

fn describe_dir(dir: &Path) -> Result<ModelDescription, ModelError> {
    let config = LlamaConfig::from_file(&dir.join("config.json"))?;
    let weights = dir.join("model.safetensors");
    let file = std::fs::File::open(&weights).map_err(|err| ModelError::io(&weights, err))?;
    // SAFETY: as above.
    let mapped =
        unsafe { memmap2::Mmap::map(&file) }.map_err(|err| ModelError::io(&weights, err))?;
    let tensors =
        safetensors::SafeTensors::deserialize(&mapped).map_err(|err| ModelError::Safetensors {
            path: weights.clone(),
            message: err.to_string(),
        })?;
    let mut dtypes = BTreeMap::new();
    for (_, view) in tensors.tensors() {
        let entry = dtypes
            .entry(format!("{:?}", view.dtype()))
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += view.shape().iter().product::<usize>();
    }
    let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"), &config.eos_ids())?;
    Ok(ModelDescription {
        format: "hugging face directory (config.json, model.safetensors, tokenizer.json)".into(),
        name: file_name(dir),
        architecture: config.model_type.clone(),
        n_params: config.n_params(),
        dtypes,
        tokenizer: "tokenizer.json".into(),
        vocab_size: tokenizer.vocab_size(),
        fim: tokenizer.fim_names(),
        stop_ids: tokenizer.stop_ids().to_vec(),
        config,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
