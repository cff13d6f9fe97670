//! ghostline-model: a Llama-family decoder in burn 0.22, with KV cache, FIM prompting and sampling.
//!
//! # For training code
//! - [`LlamaConfig`] reads/writes Hugging Face `config.json` names
//!   ([`LlamaConfig::from_file`], [`LlamaConfig::save`]).
//! - [`LlamaConfig::init`]`(&device) -> Llama`: random init (seed 0; [`LlamaConfig::init_seeded`]
//!   for another seed); trainable on `device.autodiff()`.
//! - [`Llama::forward`]`(tokens: Tensor<2, Int>) -> Tensor<3>`: full-sequence causal forward,
//!   logits `[batch, seq, vocab]`, differentiable.
//! - [`Llama::save_safetensors`]`(&config, path)` writes f32 tensors under Hugging Face names;
//!   [`Llama::load_dir`]`(dir, &device)` loads `config.json` + `model.safetensors`.
//!
//! # For the server
//! [`Engine`] (load a model directory or the embedded default, then [`Engine::generate`]) with
//! prompt-prefix reuse, FIM, sampling, stop strings, budgets, cancellation and streaming.
//! See `docs/model.md` for the design.

pub mod adjust;
pub mod bench;
pub mod cache;
pub mod checkpoint;
pub mod config;
pub mod describe;
pub mod device;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod heal;
pub mod import;
pub mod layers;
pub mod llama;
pub mod quant;
pub mod rng;
mod rounding;
pub mod sampling;
mod stream;
pub mod tokenizer;
pub mod weights;

pub use adjust::{AdjustInput, LogitsAdjuster};
pub use cache::KvCache;
pub use config::{LlamaConfig, RopeScaling, TokenIds};
pub use describe::{ModelDescription, describe};
pub use device::{DevicePreference, SelectedDevice, select_device};
pub use engine::{
    CancelFlag, Completion, Engine, FinishReason, ForwardTiming, GenerateOutput, GenerateRequest,
    GenerateTimings, LoadOptions, ModelInfo,
};
pub use error::ModelError;
pub use llama::Llama;
pub use sampling::Sampling;
pub use tokenizer::{FimMode, FimTokens, TextTokenizer};
