//! From `ghostline-model`: the GGUF reader (header, metadata, tensor infos, dequantization).

#[path = "../../../model/src/gguf/dequant.rs"]
pub mod dequant;
#[path = "../../../model/src/gguf/error.rs"]
mod error;
#[path = "../../../model/src/gguf/file.rs"]
pub mod file;
pub use error::GgufError;
