//! ghostline: a local-first inline-completion language server (library part of the `ghostline`
//! binary). See docs/architecture.md for the code map.

pub mod adapt;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod completion;
pub mod config;
pub mod context;
pub mod related;
pub mod documents;
pub mod index;
pub mod eval;
pub mod feedback;
pub mod logging;
pub mod lsp;
pub mod model;
pub mod syntax;
pub mod replay;
#[cfg(test)]
mod test_model;
pub mod text;
