//! ghostline-train: corpus reading, tokenizer training, FIM transform, packing, training with
//! burn (AdamW, warmup + cosine, global-norm clipping, exact checkpoints) and export of the
//! embedded default model.

pub mod corpus;
pub mod data;
pub mod eval;
pub mod fim;
pub mod overlay;
pub mod plot;
pub mod prefer;
pub mod rng;
pub mod run;
pub mod sample;
pub mod tokenizer;
pub mod trainer;
pub mod tune;
