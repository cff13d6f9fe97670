//! The GGUF reader's error type (its own file: the fuzz crate compiles the burn-free reader,
//! `file.rs` + `dequant.rs` + this, without the rest of the model crate).

/// What is wrong with a GGUF file. Wrapped in [`ModelError::Gguf`](crate::ModelError::Gguf)
/// together with the file's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GgufError {
    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file (magic {found:?}, expected \"GGUF\")")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A GGUF version this reader does not know.
    #[error("GGUF version {0} is unsupported (2 and 3 are)")]
    UnsupportedVersion(u32),
    /// The file ends inside a structure.
    #[error(
        "truncated file: {what} needs {needed} bytes at offset {offset}, but the file has {len}"
    )]
    Truncated {
        /// What was being read.
        what: String,
        /// Where.
        offset: usize,
        /// How many bytes it needs.
        needed: usize,
        /// The file's length.
        len: usize,
    },
    /// A metadata value has an unknown type tag.
    #[error("metadata key `{key}` has unknown value type {tag}")]
    BadValueType {
        /// The key.
        key: String,
        /// The type tag found.
        tag: u32,
    },
    /// A string is not UTF-8.
    #[error("{what} at offset {offset} is not valid UTF-8")]
    BadString {
        /// What was being read.
        what: String,
        /// Where.
        offset: usize,
    },
    /// A required metadata key is absent.
    #[error("missing metadata key `{0}`")]
    MissingKey(String),
    /// A metadata key has the wrong type or an unusable value.
    #[error("metadata key `{key}`: {message}")]
    BadKey {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor uses a ggml type this loader cannot dequantize.
    #[error("tensor `{name}` has ggml type {kind}; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1")]
    UnsupportedType {
        /// The tensor.
        name: String,
        /// The type's name or number.
        kind: String,
    },
    /// A tensor's description is inconsistent (dims, block size, offset, data out of range).
    #[error("tensor `{name}`: {message}")]
    BadTensor {
        /// The tensor.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor the model needs is absent.
    #[error("missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor {
        /// GGUF tensor name.
        name: String,
        /// Expected shape in GGUF order (`ne[0]` first).
        expected: Vec<usize>,
    },
    /// A tensor has a different shape than the metadata implies.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?} (GGUF order, ne[0] first)")]
    ShapeMismatch {
        /// GGUF tensor name.
        name: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Found shape.
        found: Vec<usize>,
    },
    /// The architecture is not a Llama-family decoder this engine runs.
    #[error("architecture `{0}` is unsupported (llama and qwen2 are)")]
    UnsupportedArchitecture(String),
    /// The tokenizer metadata cannot be turned into a tokenizer.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}
