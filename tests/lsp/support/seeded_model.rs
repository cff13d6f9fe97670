//! A seeded random model directory for end-to-end tests that need *some* suggestion whatever the
//! embedded model's training state: the product's real engine and loader (`modelPath`), real
//! weights (random, seeded, so outputs are deterministic), the embedded model's tokenizer.

use std::path::Path;

use burn::tensor::Device;
use ghostline_model::{LlamaConfig, TokenIds};

/// Writes config.json, model.safetensors and tokenizer.json into `dir`.
pub fn write_seeded_model(dir: &Path, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let tokenizer =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/weights/default/tokenizer.json");
    std::fs::copy(&tokenizer, dir.join("tokenizer.json"))
        .expect("copying the embedded model's tokenizer");
    let mut config = LlamaConfig::new(4096, 64, 128, 2, 4, 2);
    config.max_position_embeddings = 1024;
    config.eos_token_id = Some(TokenIds::One(0));
    let model = config.init_seeded(&Device::flex(), seed);
    config.save(&dir.join("config.json")).unwrap();
    model
        .save_safetensors(&config, &dir.join("model.safetensors"))
        .unwrap();
}
