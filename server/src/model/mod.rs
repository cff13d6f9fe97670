//! The server's view of a language model: the `CompletionModel` trait, the loader for the real
//! engine and the dedicated model thread (`worker`).
//!
//! **API boundary:** the rest of the server talks to a model only through [`CompletionModel`]; the
//! product implements it with `ghostline_model::Engine` (see `engine.rs`), tests with doubles.

pub mod engine;
pub mod worker;

use std::path::PathBuf;

pub use ghostline_model::{
    CancelFlag, Completion, DevicePreference, FinishReason, GenerateOutput, GenerateRequest,
    GenerateTimings, LoadOptions, LogitsAdjuster, ModelInfo, Sampling,
};

/// A model that can complete text. Implementations are `Send` so they can move onto the model
/// thread, but they are only ever used from that one thread.
pub trait CompletionModel: Send {
    /// Generates `req.n` completions; checks `cancel` between tokens and calls `on_token` with each
    /// new piece of text of the first completion.
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError>;

    /// [`CompletionModel::generate`] with `adjuster` changing each step's next-token logits (the
    /// adaptation's n-gram cache). Models that cannot (remote ones) ignore it.
    fn generate_adjusted(
        &mut self,
        req: &GenerateRequest,
        adjuster: Option<&dyn LogitsAdjuster>,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        let _ = adjuster;
        self.generate(req, cancel, on_token)
    }

    /// The model's token ids for `text`, when it has a local tokenizer.
    fn tokenize(&self, _text: &str) -> Option<Vec<u32>> {
        None
    }

    /// The text of every token id (index = id), when the model has a local tokenizer.
    fn token_texts(&self) -> Option<Vec<String>> {
        None
    }

    /// Forgets state kept to speed up the next call (the engine's reusable prompt keys/values),
    /// so the next call costs what a first one would (the replay's paired timing). Default: none.
    fn forget_reusable_state(&mut self) {}

    /// What the model is.
    fn info(&self) -> ModelInfo;

    /// Number of tokens `text` encodes to (used for prompt budgets).
    fn count_tokens(&self, text: &str) -> usize;

    /// Whether the model is degraded (a remote endpoint that fails); `None` when all is well.
    /// The model thread publishes changes as the model's status.
    fn health(&self) -> Option<Degradation> {
        None
    }
}

/// A model that is loaded but not fully working (a remote endpoint that is down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Degradation {
    /// A sentence for the status line (never contains a secret).
    pub message: String,
    /// Suggestions still come, from the local fallback model.
    pub fallback_active: bool,
}

/// Errors from a model call.
#[derive(Debug, thiserror::Error)]
pub enum ModelCallError {
    /// The model itself failed; the message comes from the model crate.
    #[error("model generation failed: {message}")]
    Generation {
        /// What the model reported.
        message: String,
    },
}

/// Errors from loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    /// Loading failed; the message comes from the model crate and names the file.
    #[error("could not load the model from {source_name}: {message}")]
    Load {
        /// `embedded default` or the directory that was tried.
        source_name: String,
        /// What went wrong.
        message: String,
    },
}

/// Which model to load and where to run it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelSpec {
    /// A model directory; `None` means the embedded default.
    pub path: Option<PathBuf>,
    /// Device preference.
    pub device: DevicePreference,
    /// Local engine or a remote inference server (`backend` and related settings).
    pub backend: crate::backend::BackendSpec,
    /// What the CPU decode step multiplies by (`decodeWeights`).
    pub decode_weights: DecodeWeights,
    /// Tuned weights (`ghostline tune`, `crate::adapt::tuned`): the overlay file put onto the
    /// local engine's weights at load when it exists; `None`: off (`tunedWeights: false`, or no
    /// workspace / store to find it in).
    pub tuned_overlay: Option<PathBuf>,
}

/// What the local engine's CPU decode step multiplies by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecodeWeights {
    /// 8-bit blocks made from the float weights at load (about 3× faster per token; prefill
    /// keeps the float weights). Quantized GGUF files always use their own blocks.
    #[default]
    Q8,
    /// The float weights themselves (exact; for comparisons).
    F32,
}

impl std::str::FromStr for DecodeWeights {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "q8" => Ok(DecodeWeights::Q8),
            "f32" => Ok(DecodeWeights::F32),
            other => Err(format!("expected \"q8\" or \"f32\", got {other:?}")),
        }
    }
}

impl ModelSpec {
    /// A short description for logs and status messages.
    pub fn describe(&self) -> String {
        if self.backend.kind.is_remote() {
            return self.backend.describe();
        }
        match &self.path {
            Some(path) => format!("{} on {:?}", path.display(), self.device),
            None => format!("embedded default on {:?}", self.device),
        }
    }
}

/// Loads a model the way the product does (the real engine).
pub type ModelLoader =
    Box<dyn Fn(&ModelSpec) -> Result<Box<dyn CompletionModel>, ModelLoadError> + Send>;

/// The product's loader: the real engine (embedded default unless a path is given), or the
/// remote backend the spec names.
pub fn real_model_loader() -> ModelLoader {
    Box::new(|spec: &ModelSpec| crate::backend::load(spec))
}
