//! The remote-backend options of `ghostline complete` (the same settings editors send).

use std::time::Duration;

use clap::Args;

use crate::backend::{BackendKind, BackendSpec};

/// `--backend` and friends.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Where generations run: local (the built-in engine), openai (/v1/completions), llamacpp
    /// (/infill) or ollama (/api/generate).
    #[arg(long, default_value = "local", value_parser = parse_backend)]
    pub backend: BackendKind,
    /// Base URL of the inference server, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Model name sent to the server (also picks the FIM template).
    #[arg(long, value_name = "NAME")]
    pub remote_model: Option<String>,
    /// NAME of the environment variable that holds the API key (never the key itself).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// FIM template: qwen2.5-coder, starcoder2, codellama, deepseek-coder, codestral, prefix, or
    /// a template with {prefix} and {suffix}.
    #[arg(long, value_name = "TEMPLATE")]
    pub fim_template: Option<String>,
    /// Connect timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = crate::backend::DEFAULT_CONNECT_TIMEOUT_MS)]
    pub connect_timeout_ms: u64,
    /// Total timeout of one request in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = crate::backend::DEFAULT_TOTAL_TIMEOUT_MS)]
    pub total_timeout_ms: u64,
    /// Answer from the local model when the endpoint fails.
    #[arg(long)]
    pub fallback_to_local: bool,
    /// Allow plain http to a host that is not this machine.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Ask for one whole answer instead of a stream.
    #[arg(long)]
    pub no_stream: bool,
}

impl RemoteArgs {
    /// The backend settings these options describe.
    pub fn spec(&self) -> anyhow::Result<BackendSpec> {
        if self.backend.is_remote() && self.endpoint.is_none() {
            anyhow::bail!(
                "--backend {} needs --endpoint URL (for example http://127.0.0.1:8080)",
                self.backend
            );
        }
        if let Some(name) = &self.api_key_env
            && !crate::backend::settings::is_env_var_name(name)
        {
            anyhow::bail!(
                "--api-key-env takes the NAME of an environment variable (letters, digits, _), not the key itself"
            );
        }
        Ok(BackendSpec {
            kind: self.backend,
            endpoint: self.endpoint.clone(),
            remote_model: self.remote_model.clone(),
            api_key_env: self.api_key_env.clone(),
            fim_template: self.fim_template.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            total_timeout: Duration::from_millis(self.total_timeout_ms),
            fallback_to_local: self.fallback_to_local,
            allow_insecure_http: self.allow_insecure_http,
            stream: !self.no_stream,
        })
    }
}

fn parse_backend(text: &str) -> Result<BackendKind, String> {
    text.parse::<BackendKind>()
        .map_err(|error| error.to_string())
}
