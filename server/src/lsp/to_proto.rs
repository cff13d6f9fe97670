//! Conversions from the server's internal types (char offsets) to LSP wire types.

use ropey::Rope;
use tower_lsp_server::ls_types::{Position, Range};

use super::encoding::PositionEncoding;

/// Converts a char offset (clamped to the document length) to an LSP position.
pub fn position(rope: &Rope, char_offset: usize, encoding: PositionEncoding) -> Position {
    let char_offset = char_offset.min(rope.len_chars());
    let line = rope.char_to_line(char_offset);
    let line_start = rope.line_to_char(line);
    let character: u64 = rope
        .slice(line_start..char_offset)
        .chars()
        .map(|ch| u64::from(encoding.width(ch)))
        .sum();
    Position {
        line: line as u32,
        character: character.min(u64::from(u32::MAX)) as u32,
    }
}

/// Converts a char range to an LSP range.
pub fn range(rope: &Rope, chars: std::ops::Range<usize>, encoding: PositionEncoding) -> Range {
    Range {
        start: position(rope, chars.start, encoding),
        end: position(rope, chars.end, encoding),
    }
}

/// The LSP item for a pipeline item: `insertText`, `range`, and the accept command carrying
/// `suggestion_id`.
pub fn inline_completion_item(
    rope: &Rope,
    item: &crate::completion::CompletionItem,
    suggestion_id: &str,
    encoding: PositionEncoding,
) -> tower_lsp_server::ls_types::InlineCompletionItem {
    tower_lsp_server::ls_types::InlineCompletionItem {
        insert_text: item.insert_text.clone(),
        filter_text: None,
        range: Some(range(rope, item.replace.clone(), encoding)),
        command: Some(tower_lsp_server::ls_types::Command {
            title: "ghostline: accept".to_string(),
            command: super::ACCEPT_COMMAND.to_string(),
            arguments: Some(vec![serde_json::Value::from(suggestion_id)]),
        }),
        insert_text_format: None,
    }
}
