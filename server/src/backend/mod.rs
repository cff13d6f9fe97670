//! Inference backends: where generations run.
//!
//! `local` (the default) is the burn engine on the model thread (`crate::model::engine`). The
//! remote kinds send the same prompt (the context engine's prefix and suffix, wrapped in a FIM
//! template) to a shared inference server over HTTP:
//!
//! - `openai`: OpenAI-compatible `/v1/completions` (vLLM, TGI, llama.cpp's server, LM Studio),
//!   streamed as server-sent events;
//! - `llamacpp`: llama.cpp's `/infill` (the server applies the model's own FIM tokens), SSE;
//! - `ollama`: Ollama's `/api/generate`, streamed as newline-delimited JSON.
//!
//! A remote backend is just another [`CompletionModel`] living on the model thread, so the
//! trigger, context, post-processing, cache, cancellation and feedback are the very same code as
//! for the local model.
//!
//! **API boundary:** the rest of the server sees [`BackendSpec`] (settings), [`load`] (the
//! product's loader) and the `CompletionModel` it returns; HTTP, wire formats and templates stay
//! inside this module.

pub mod exchange;
pub mod fim;
pub mod http;
pub mod remote;
pub mod settings;
pub mod stream;
pub mod wire;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::model::{CompletionModel, ModelLoadError, ModelSpec};

/// Which kind of backend runs the generations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// The in-process burn engine.
    #[default]
    Local,
    /// OpenAI-compatible `/v1/completions`.
    OpenAi,
    /// llama.cpp server's `/infill`.
    LlamaCpp,
    /// Ollama's `/api/generate`.
    Ollama,
}

impl BackendKind {
    /// The setting's spelling.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Local => "local",
            BackendKind::OpenAi => "openai",
            BackendKind::LlamaCpp => "llamacpp",
            BackendKind::Ollama => "ollama",
        }
    }

    /// Whether generations leave the process.
    pub fn is_remote(self) -> bool {
        self != BackendKind::Local
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown backend {given:?}: expected local, openai, llamacpp or ollama")]
pub struct UnknownBackend {
    /// What was given.
    pub given: String,
}

impl FromStr for BackendKind {
    type Err = UnknownBackend;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(BackendKind::Local),
            "openai" | "openai-compatible" | "vllm" | "tgi" | "lmstudio" => Ok(BackendKind::OpenAi),
            "llamacpp" | "llama.cpp" | "llama-cpp" | "infill" => Ok(BackendKind::LlamaCpp),
            "ollama" => Ok(BackendKind::Ollama),
            _ => Err(UnknownBackend {
                given: text.to_string(),
            }),
        }
    }
}

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// Default total timeout of one HTTP exchange (request, response, whole body).
pub const DEFAULT_TOTAL_TIMEOUT_MS: u64 = 15_000;

/// Backend settings (the `backend`, `endpoint`, `remoteModel`, ... keys). Validated when the
/// backend loads, so a bad endpoint shows up as the model's error status.
#[derive(Clone, PartialEq)]
pub struct BackendSpec {
    /// Local or one of the remote kinds.
    pub kind: BackendKind,
    /// Base URL of the server (`http://127.0.0.1:8080`); required for the remote kinds.
    pub endpoint: Option<String>,
    /// Model name sent to the server (`model` field); also picks the FIM template.
    pub remote_model: Option<String>,
    /// NAME of the environment variable holding the API key (the key itself is never stored).
    pub api_key_env: Option<String>,
    /// A template family name or a template with `{prefix}` and `{suffix}`; default: from the
    /// model name, else the prefix alone.
    pub fim_template: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Total timeout of one HTTP exchange.
    pub total_timeout: Duration,
    /// Answer from the local model while the endpoint fails.
    pub fallback_to_local: bool,
    /// Allow plain `http://` to a host that is not loopback.
    pub allow_insecure_http: bool,
    /// Ask for streamed answers (so cancellation closes the connection early).
    pub stream: bool,
}

impl Default for BackendSpec {
    fn default() -> Self {
        BackendSpec {
            kind: BackendKind::Local,
            endpoint: None,
            remote_model: None,
            api_key_env: None,
            fim_template: None,
            connect_timeout: Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS),
            total_timeout: Duration::from_millis(DEFAULT_TOTAL_TIMEOUT_MS),
            fallback_to_local: false,
            allow_insecure_http: false,
            stream: true,
        }
    }
}

// Written by hand so nothing that prints settings can grow a secret by accident (the spec only
// holds the variable's name, but keep the shape explicit).
impl fmt::Debug for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendSpec")
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .field("remote_model", &self.remote_model)
            .field("api_key_env", &self.api_key_env)
            .field("fim_template", &self.fim_template)
            .field("connect_timeout", &self.connect_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("fallback_to_local", &self.fallback_to_local)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("stream", &self.stream)
            .finish()
    }
}

impl BackendSpec {
    /// A short description for logs and status messages.
    pub fn describe(&self) -> String {
        match self.kind {
            BackendKind::Local => "local".to_string(),
            kind => format!(
                "{kind} endpoint {}{}",
                self.endpoint.as_deref().unwrap_or("(no endpoint set)"),
                self.remote_model
                    .as_deref()
                    .map(|model| format!(" model {model}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// The product's loader: the local engine, or a remote backend (with the local engine as its
/// fallback when `fallbackToLocal` is set).
pub fn load(spec: &ModelSpec) -> Result<Box<dyn CompletionModel>, ModelLoadError> {
    if !spec.backend.kind.is_remote() {
        return crate::model::engine::load(spec);
    }
    let fallback = if spec.backend.fallback_to_local {
        let local = ModelSpec {
            backend: BackendSpec::default(),
            ..spec.clone()
        };
        Some(crate::model::engine::load(&local)?)
    } else {
        None
    };
    let model = remote::RemoteModel::connect(&spec.backend, fallback).map_err(|error| {
        ModelLoadError::Load {
            source_name: spec.backend.describe(),
            message: error.to_string(),
        }
    })?;
    Ok(Box::new(model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_and_aliases() {
        assert_eq!(
            "openai".parse::<BackendKind>().unwrap(),
            BackendKind::OpenAi
        );
        assert_eq!("vLLM".parse::<BackendKind>().unwrap(), BackendKind::OpenAi);
        assert_eq!(
            "llama.cpp".parse::<BackendKind>().unwrap(),
            BackendKind::LlamaCpp
        );
        assert_eq!(
            " Ollama ".parse::<BackendKind>().unwrap(),
            BackendKind::Ollama
        );
        assert_eq!("local".parse::<BackendKind>().unwrap(), BackendKind::Local);
        let error = "gpt".parse::<BackendKind>().unwrap_err().to_string();
        assert!(
            error.contains("expected local, openai, llamacpp or ollama"),
            "{error}"
        );
    }
}
