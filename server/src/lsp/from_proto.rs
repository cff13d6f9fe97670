//! Conversions from LSP wire types to the server's internal types (char offsets into a Rope).
//!
//! **Architecture invariant:** this file and `to_proto.rs` are the only places that know what a
//! `Position.character` counts; everything behind them uses char offsets.

use ropey::{Rope, RopeSlice};
use tower_lsp_server::ls_types::{Position, Range};

use super::encoding::PositionEncoding;

/// A position the document cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    /// The line is past the last line of the document.
    #[error("line {line} is past the end of the document ({line_count} lines)")]
    LineOutOfRange {
        /// The requested (0-based) line.
        line: u32,
        /// Lines in the document.
        line_count: usize,
    },
    /// A range whose end lies before its start.
    #[error(
        "range end {end_line}:{end_character} lies before its start {start_line}:{start_character}"
    )]
    InvertedRange {
        /// Start line.
        start_line: u32,
        /// Start character.
        start_character: u32,
        /// End line.
        end_line: u32,
        /// End character.
        end_character: u32,
    },
}

/// Converts an LSP position to a char offset.
///
/// A column past the end of its line is clamped to the line end (before the line break); a column
/// in the middle of a character (inside a UTF-16 surrogate pair or a UTF-8 sequence) is clamped
/// to the start of that character; a line past the end of the document is an error.
pub fn offset(
    rope: &Rope,
    position: Position,
    encoding: PositionEncoding,
) -> Result<usize, PositionError> {
    let line_index = position.line as usize;
    if line_index >= rope.len_lines() {
        return Err(PositionError::LineOutOfRange {
            line: position.line,
            line_count: rope.len_lines(),
        });
    }
    let line_start = rope.line_to_char(line_index);
    let content = line_without_break(rope.line(line_index));
    let mut units: u64 = 0;
    let mut chars = 0usize;
    for ch in content.chars() {
        let width = u64::from(encoding.width(ch));
        if units + width > u64::from(position.character) {
            break;
        }
        units += width;
        chars += 1;
    }
    Ok(line_start + chars)
}

/// Converts an LSP range to a char range; both ends follow [`offset`]'s rules.
pub fn range(
    rope: &Rope,
    range: Range,
    encoding: PositionEncoding,
) -> Result<std::ops::Range<usize>, PositionError> {
    let start = offset(rope, range.start, encoding)?;
    let end = offset(rope, range.end, encoding)?;
    if end < start {
        return Err(PositionError::InvertedRange {
            start_line: range.start.line,
            start_character: range.start.character,
            end_line: range.end.line,
            end_character: range.end.character,
        });
    }
    Ok(start..end)
}

/// A line's content without its trailing `\n`, `\r\n` or `\r`.
pub fn line_without_break(line: RopeSlice<'_>) -> RopeSlice<'_> {
    let mut end = line.len_chars();
    if end > 0 && line.char(end - 1) == '\n' {
        end -= 1;
    }
    if end > 0 && line.char(end - 1) == '\r' {
        end -= 1;
    }
    line.slice(..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::to_proto;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    /// (text, line, character, encoding, expected char offset or None for an error)
    #[test]
    fn position_table() {
        use PositionEncoding::*;
        let emoji = "a😀b\nx";
        let cjk = "中文字\n";
        let crlf = "ab\r\ncd\r\n";
        let lone_cr = "ab\rcd";
        let separator = "a\u{2028}b\nc";
        #[rustfmt::skip]
        let table: &[(&str, u32, u32, PositionEncoding, Option<usize>)] = &[
            // emoji: 1 char, 2 UTF-16 units, 4 UTF-8 units
            (emoji, 0, 0, Utf16, Some(0)),
            (emoji, 0, 1, Utf16, Some(1)),
            (emoji, 0, 2, Utf16, Some(1)), // inside the surrogate pair: clamped to the emoji's start
            (emoji, 0, 3, Utf16, Some(2)),
            (emoji, 0, 4, Utf16, Some(3)),
            (emoji, 0, 5, Utf16, Some(3)), // past the end of the line: line end, not next line
            (emoji, 0, 3, Utf8, Some(1)),  // inside the UTF-8 sequence
            (emoji, 0, 5, Utf8, Some(2)),
            (emoji, 0, 6, Utf8, Some(3)),
            (emoji, 0, 2, Utf32, Some(2)),
            (emoji, 0, 3, Utf32, Some(3)),
            (emoji, 1, 1, Utf16, Some(5)),
            (emoji, 1, u32::MAX, Utf16, Some(5)),
            (emoji, 2, 0, Utf16, None),    // past the last line
            (emoji, u32::MAX, 0, Utf8, None),
            // CJK: 1 UTF-16 unit, 3 UTF-8 units each
            (cjk, 0, 2, Utf16, Some(2)),
            (cjk, 0, 6, Utf8, Some(2)),
            (cjk, 0, 7, Utf8, Some(2)),
            (cjk, 0, 9, Utf8, Some(3)),
            (cjk, 0, u32::MAX, Utf32, Some(3)),
            (cjk, 1, 0, Utf16, Some(4)),   // the empty last line after a trailing newline
            // CRLF: the column never reaches into the line break
            (crlf, 0, 2, Utf16, Some(2)),
            (crlf, 0, 3, Utf16, Some(2)),
            (crlf, 0, u32::MAX, Utf8, Some(2)),
            (crlf, 1, 1, Utf16, Some(5)),
            (crlf, 2, 0, Utf16, Some(8)),
            (crlf, 3, 0, Utf16, None),
            // a lone CR is a line break in LSP
            (lone_cr, 1, 1, Utf16, Some(4)),
            // U+2028 is NOT a line break in LSP
            (separator, 0, 3, Utf16, Some(3)),
            (separator, 1, 0, Utf16, Some(4)),
            // the empty document has one empty line
            ("", 0, 0, Utf16, Some(0)),
            ("", 0, 9, Utf16, Some(0)),
            ("", 1, 0, Utf16, None),
        ];
        for &(text, line, character, encoding, expected) in table {
            let rope = Rope::from_str(text);
            let actual = offset(&rope, pos(line, character), encoding).ok();
            assert_eq!(actual, expected, "{text:?} {line}:{character} {encoding:?}");
        }
    }

    #[test]
    fn offsets_round_trip_through_positions_in_every_encoding() {
        let text = "fn 😀() {\r\n  \"中文\" 👍🏽\n\n\tx\ry";
        let rope = Rope::from_str(text);
        for encoding in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            for char_offset in 0..=rope.len_chars() {
                // An offset between \r and \n has no LSP position of its own.
                if char_offset > 0
                    && char_offset < rope.len_chars()
                    && rope.char(char_offset - 1) == '\r'
                    && rope.char(char_offset) == '\n'
                {
                    continue;
                }
                let position = to_proto::position(&rope, char_offset, encoding);
                assert_eq!(
                    offset(&rope, position, encoding),
                    Ok(char_offset),
                    "{encoding:?} offset {char_offset} -> {position:?}"
                );
            }
        }
    }

    #[test]
    fn inverted_range_is_an_error() {
        let rope = Rope::from_str("abc\ndef");
        let inverted = Range {
            start: pos(1, 0),
            end: pos(0, 1),
        };
        assert!(matches!(
            range(&rope, inverted, PositionEncoding::Utf16),
            Err(PositionError::InvertedRange { .. })
        ));
    }
}
