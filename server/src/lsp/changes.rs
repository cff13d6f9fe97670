//! Applying a `didChange`'s content changes to a document: each change's range is converted
//! against the text as the previous changes left it (LSP applies them in order), then applied.
//!
//! Kept free of the server's shared state so the fuzz crate (`fuzz/`) can drive exactly this code
//! against an independent reference model.

use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use super::encoding::PositionEncoding;
use super::from_proto::{self, PositionError};
use crate::documents::{Document, TextEdit};

/// Applies `changes` in order. A change whose range the document cannot hold is skipped (the
/// others still apply); the skipped changes' indices and errors are returned for the log. The
/// syntax tree is edited with each change and reparsed once at the end (for a big document,
/// later: [`Document::finish_edits`]).
pub fn apply(
    document: &mut Document,
    changes: Vec<TextDocumentContentChangeEvent>,
    encoding: PositionEncoding,
) -> Vec<(usize, PositionError)> {
    let mut skipped = Vec::new();
    for (index, change) in changes.into_iter().enumerate() {
        let range = match change.range {
            None => None,
            Some(range) => match from_proto::range(&document.rope, range, encoding) {
                Ok(chars) => Some(chars),
                Err(error) => {
                    skipped.push((index, error));
                    continue;
                }
            },
        };
        document.edit(&TextEdit {
            range,
            text: change.text,
        });
    }
    // One (incremental) reparse for the whole batch of changes, now or, for a big document,
    // when a completion needs the tree.
    document.finish_edits();
    skipped
}
