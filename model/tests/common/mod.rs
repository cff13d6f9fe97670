//! Shared helpers for the model crate's integration tests (tiny configs, tokenizers, comparisons).
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{Device, Tensor};
use ghostline_model::{Engine, LlamaConfig, TextTokenizer};

/// Tiny GQA config (4 query heads, 2 kv heads) used by most tests.
pub fn tiny_config(vocab_size: usize) -> LlamaConfig {
    let mut config = LlamaConfig::new(vocab_size, 32, 64, 2, 4, 2);
    config.max_position_embeddings = 128;
    config
}

/// Host copy of a float tensor.
pub fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data_as::<f32>().try_into_vec::<f32>().unwrap()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// GPT-2's byte → printable character table (the byte-level BPE alphabet).
fn bytes_to_unicode() -> Vec<char> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~')).collect();
    printable.extend(u32::from('¡')..=u32::from('¬'));
    printable.extend(u32::from('®')..=u32::from('ÿ'));
    let mut table = vec!['\0'; 256];
    let mut extra = 0;
    for byte in 0..256u32 {
        table[byte as usize] = if printable.contains(&byte) {
            char::from_u32(byte).unwrap()
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap()
        };
    }
    table
}

/// `tokenizer.json` text for a byte-level tokenizer: 256 byte tokens (ids 0..256, no merges)
/// followed by `specials` (ids 256..).
pub fn byte_tokenizer_json(specials: &[&str]) -> String {
    let table = bytes_to_unicode();
    let mut vocab = serde_json::Map::new();
    for (byte, ch) in table.iter().enumerate() {
        vocab.insert(ch.to_string(), serde_json::json!(byte));
    }
    let mut added = Vec::new();
    for (i, name) in specials.iter().enumerate() {
        vocab.insert(name.to_string(), serde_json::json!(256 + i));
        added.push(serde_json::json!({"id": 256 + i, "content": name, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true}));
    }
    let byte_level = serde_json::json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": byte_level, "post_processor": null, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": []}
    })
    .to_string()
}

/// Qwen-style special tokens (our own tokenizer's names).
pub const QWEN_SPECIALS: [&str; 5] = [
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|file_sep|>",
];

pub fn byte_tokenizer(specials: &[&str]) -> TextTokenizer {
    TextTokenizer::from_bytes(
        byte_tokenizer_json(specials).as_bytes(),
        &PathBuf::from("<test>"),
        &[],
    )
    .unwrap()
}

/// An engine over a seeded random model (vocab 264 ≥ 256 bytes + 5 specials) on flex.
pub fn tiny_engine(seed: u64) -> Engine {
    let config = tiny_config(264);
    let device = Device::flex();
    let model = config.init_seeded(&device, seed);
    Engine::from_parts(
        "tiny".into(),
        config,
        model,
        byte_tokenizer(&QWEN_SPECIALS),
        device,
    )
    .unwrap()
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ghostline-model-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The SmolLM2-135M-Instruct GGUF for the llama.cpp comparisons: `GHOSTLINE_SMOLLM2_GGUF`
/// (`scripts/test.sh` sets it through `scripts/install-llamacpp.sh --model-only --print-gguf`).
/// `None` (with a skip message) when unset, unless `GHOSTLINE_REQUIRE_SMOLLM2` is set (CI),
/// which turns the skip into a failure.
pub fn smollm2_gguf() -> Option<PathBuf> {
    match std::env::var_os("GHOSTLINE_SMOLLM2_GGUF").filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "GHOSTLINE_SMOLLM2_GGUF={} does not exist",
                path.display()
            );
            Some(path)
        }
        None if std::env::var_os("GHOSTLINE_REQUIRE_SMOLLM2").is_some() => {
            panic!(
                "GHOSTLINE_REQUIRE_SMOLLM2 is set but GHOSTLINE_SMOLLM2_GGUF is not: run scripts/install-llamacpp.sh --model-only --print-gguf"
            )
        }
        None => {
            eprintln!(
                "skipping a llama.cpp comparison: set GHOSTLINE_SMOLLM2_GGUF=$(bash scripts/install-llamacpp.sh --model-only --print-gguf)"
            );
            None
        }
    }
}
