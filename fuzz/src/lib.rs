//! The code under fuzzing, compiled from the project's own source files (see Cargo.toml for why
//! they are included by path rather than through the `ghostline` and `ghostline-model` crates).
//! The module tree mirrors the crates' so each file's `crate::`/`super::` paths resolve.
#![allow(dead_code, unused_imports)]

/// From `ghostline` (the server crate).
pub mod lsp;

#[path = "../../server/src/documents.rs"]
pub mod documents;

/// Documents keep a tree-sitter tree, edited and reparsed incrementally with every change.
#[path = "../../server/src/syntax/mod.rs"]
pub mod syntax;

/// The one pipeline type `to_proto.rs` converts (same fields as the server's).
pub mod completion {
    /// See `server/src/completion/mod.rs`.
    pub struct CompletionItem {
        /// The text to insert.
        pub insert_text: String,
        /// Chars of the document it replaces.
        pub replace: std::ops::Range<usize>,
    }
}

/// From `ghostline-model`: the burn-free loaders.
#[path = "../../model/src/checkpoint.rs"]
pub mod checkpoint;
#[path = "../../model/src/config.rs"]
pub mod config;
#[path = "../../model/src/error.rs"]
pub mod error;
#[path = "../../model/src/import.rs"]
pub mod import;

/// From `ghostline-model`: the GGUF reader (header, metadata, tensor infos, dequantization).
pub mod gguf;

/// The independent reference document model shared with the torture test.
#[path = "../../tests/lsp/support/reference_doc.rs"]
pub mod reference_doc;

/// Runs `future` on one current-thread runtime kept for the whole fuzzing process.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::OnceLock;
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio runtime")
        })
        .block_on(future)
}
