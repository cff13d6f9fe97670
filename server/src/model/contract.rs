//! Stand-in for the `ghostline-model` public API (the team contract) until that crate exports it.
//!
//! Every type here mirrors the contract field for field so that switching to
//! `pub use ghostline_model::{..}` in `model/mod.rs` is a one-line change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Which device the model should run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DevicePreference {
    /// CPU unless the environment asks for a GPU.
    #[default]
    Auto,
    /// Always the CPU backend.
    Cpu,
    /// A GPU backend.
    Gpu,
}

impl std::str::FromStr for DevicePreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            other => Err(format!("unknown device {other:?}: expected auto, cpu or gpu")),
        }
    }
}

/// Options for loading a model.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Device preference.
    pub device: DevicePreference,
}

/// What a loaded model is.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Number of parameters.
    pub n_params: usize,
    /// Device the model runs on.
    pub device: String,
    /// Context length in tokens.
    pub context_length: usize,
    /// Whether the tokenizer has fill-in-the-middle tokens.
    pub fim: bool,
}

/// Sampling strategy.
#[derive(Clone, Debug, PartialEq)]
pub enum Sampling {
    /// Always the most likely token.
    Greedy,
    /// Nucleus sampling, seeded.
    TopP {
        /// Softmax temperature.
        temperature: f32,
        /// Nucleus mass.
        top_p: f32,
        /// Random seed.
        seed: u64,
    },
}

/// One generation request.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    /// Text before the cursor.
    pub prefix: String,
    /// Text after the cursor (fill-in-the-middle when the model supports it).
    pub suffix: Option<String>,
    /// Maximum number of new tokens.
    pub max_tokens: usize,
    /// Sampling strategy.
    pub sampling: Sampling,
    /// Number of completions.
    pub n: usize,
    /// Stop strings (not included in the output).
    pub stop: Vec<String>,
    /// Wall-clock budget.
    pub time_budget: Option<Duration>,
}

/// Why a completion ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop string.
    Stop,
    /// `max_tokens` reached.
    MaxTokens,
    /// End-of-text or FIM end token.
    EndOfText,
    /// The time budget ran out.
    TimeBudget,
    /// The cancel flag was set.
    Cancelled,
}

/// One completion.
#[derive(Clone, Debug)]
pub struct Completion {
    /// Generated text.
    pub text: String,
    /// Generated token ids.
    pub tokens: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Time spent in each generation stage.
#[derive(Clone, Debug, Default)]
pub struct GenerateTimings {
    /// Tokenizing the prompt.
    pub tokenize_ms: f64,
    /// Running the prompt through the model.
    pub prefill_ms: f64,
    /// Producing new tokens.
    pub decode_ms: f64,
}

/// Result of a generation.
#[derive(Clone, Debug)]
pub struct GenerateOutput {
    /// The completions, `n` of them.
    pub completions: Vec<Completion>,
    /// Stage timings.
    pub timings: GenerateTimings,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Prompt tokens reused from the KV cache.
    pub reused_prefix_tokens: usize,
}

/// Shared cancellation flag checked between tokens.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the flag.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
