//! ghostline-model: a Llama-family decoder in burn 0.22, with KV cache, FIM prompting and sampling.
//!
//! # For training code
//! - [`LlamaConfig`] reads/writes Hugging Face `config.json` names
//!   ([`LlamaConfig::from_file`], [`LlamaConfig::save`]).
//! - [`LlamaConfig::init`]`(&device) -> Llama` random init (seed 0; [`LlamaConfig::init_seeded`]
//!   for another seed); trainable on `device.autodiff()`.
//! - [`Llama::forward`]`(tokens: Tensor<2, Int>) -> Tensor<3>`: full-sequence causal forward,
//!   logits `[batch, seq, vocab]`, differentiable.
//! - [`Llama::save_safetensors`]`(&config, path)` writes f32 HF tensor names;
//!   [`Llama::load_dir`]`(dir, &device)` loads `config.json` + `model.safetensors`.

pub mod cache;
pub mod config;
pub mod error;
pub mod import;
pub mod layers;
pub mod llama;
pub mod rng;
pub mod weights;

pub use cache::KvCache;
pub use config::{LlamaConfig, RopeScaling, TokenIds};
pub use error::ModelError;
pub use llama::Llama;
