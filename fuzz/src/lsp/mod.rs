//! `ghostline::lsp`'s burn-free files (see `src/lib.rs`).

#[path = "../../../server/src/lsp/changes.rs"]
pub mod changes;
#[path = "../../../server/src/lsp/encoding.rs"]
pub mod encoding;
#[path = "../../../server/src/lsp/from_proto.rs"]
pub mod from_proto;
#[path = "../../../server/src/lsp/input.rs"]
pub mod input;
#[path = "../../../server/src/lsp/to_proto.rs"]
pub mod to_proto;

/// `to_proto::inline_completion_item` names the accept command.
pub const ACCEPT_COMMAND: &str = "ghostline.accept";
