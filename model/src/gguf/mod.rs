//! GGUF (version 2 and 3) checkpoints: the container, block dequantization, the Llama tensor
//! mapping and the tokenizer stored in the metadata.
//!
//! - [`file`]: header, metadata key/values, tensor infos, alignment; every read is bounds-checked
//!   so a corrupt or truncated file is a [`GgufError`], never a panic.
//! - [`dequant`]: F32, F16, BF16, Q8_0, Q4_0, Q4_1 → f32.
//! - [`llama`]: `llama`/`qwen2` metadata → [`LlamaConfig`](crate::LlamaConfig), tensor names
//!   → [`Slot`](crate::import::Slot)s, and llama.cpp's q/k row permutation undone.
//! - [`tokenizer`]: `tokenizer.ggml.*` (BPE `gpt2` model) → [`TextTokenizer`](crate::TextTokenizer).

pub mod dequant;
mod error;
pub mod file;
pub mod llama;
pub mod tokenizer;

pub use dequant::GgmlType;
pub use error::GgufError;
pub use file::{GgufFile, MetaValue, TensorInfo};
pub use llama::{GgufModel, load_gguf};

/// Whether `path` names a GGUF file: a `.gguf` extension, or the `GGUF` magic in its first bytes.
pub fn is_gguf_path(path: &std::path::Path) -> bool {
    if path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"))
    {
        return true;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .is_ok()
        && &magic == b"GGUF"
}
