//! The crate's one error type: every message names the file (or request) and what is wrong.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or generating with it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    // The cause is part of the message rather than `source()`, so `anyhow`'s `{:#}` chain does
    // not print it twice.
    #[error("{path}: {error}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// `config.json` is not valid JSON or describes an unsupported model.
    #[error("{path}: invalid model config: {message}")]
    Config {
        /// The config file (or `<memory>` for embedded/in-memory configs).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The safetensors file could not be parsed.
    #[error("{path}: corrupt or unreadable safetensors file: {message}")]
    Safetensors {
        /// The weights file.
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },
    /// A tensor the config requires is absent from the weights file.
    #[error("{path}: missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The Hugging Face tensor name.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
    },
    /// A tensor has a different shape than the config implies.
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected:?} from config.json")]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The Hugging Face tensor name.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape stored in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored in a dtype the loader cannot convert.
    #[error("{path}: tensor `{name}` has dtype {found}; supported dtypes are F32, F16 and BF16")]
    UnsupportedDtype {
        /// The weights file.
        path: PathBuf,
        /// The Hugging Face tensor name.
        name: String,
        /// The dtype found, as safetensors names it.
        found: String,
    },
    /// A GGUF file is corrupt, truncated or describes something unsupported.
    #[error("{path}: {error}")]
    Gguf {
        /// The GGUF file.
        path: PathBuf,
        /// What is wrong.
        error: crate::gguf::GgufError,
    },
    /// `tokenizer.json` could not be loaded or lacks something the model needs.
    #[error("{path}: tokenizer error: {message}")]
    Tokenizer {
        /// The tokenizer file (or `<embedded>`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The prompt plus the tokens to generate do not fit the KV cache.
    #[error("KV cache overflow: {needed} positions needed but the cache holds {capacity}")]
    CacheOverflow {
        /// Positions the request needs.
        needed: usize,
        /// Positions the cache can hold.
        capacity: usize,
    },
    /// The requested device could not be used.
    #[error("device error: {message}")]
    Device {
        /// What failed.
        message: String,
    },
    /// A request is malformed (for example an empty prompt).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with it.
        message: String,
    },
    /// The tensor backend panicked; the engine stays usable after a cache reset.
    #[error("backend failure: {message}")]
    Backend {
        /// The panic message.
        message: String,
    },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn tokenizer(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::Tokenizer {
            path: path.into(),
            message: message.into(),
        }
    }
}
