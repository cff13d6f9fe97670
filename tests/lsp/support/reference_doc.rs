//! An independent reference model of an LSP document, for the torture test and the fuzz crate:
//! the text is a `String` edited by byte index, positions are resolved by scanning the text (no
//! Rope), following the rules the server documents: only `\n`, `\r\n` and `\r` break lines; a
//! column past the line end clamps to the line end; a column inside a character (mid surrogate
//! pair, mid UTF-8 sequence) clamps to its start; a line past the end rejects the change; an
//! inverted range rejects the change.
#![allow(dead_code)]

/// What `Position.character` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Utf8,
    /// UTF-16 code units.
    Utf16,
    /// Code points.
    Utf32,
}

impl Unit {
    fn width(self, ch: char) -> u64 {
        match self {
            Unit::Utf8 => ch.len_utf8() as u64,
            Unit::Utf16 => ch.len_utf16() as u64,
            Unit::Utf32 => 1,
        }
    }
}

/// Byte ranges of each line's content (without its break), in order.
fn lines(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut result = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                result.push((start, i));
                i += 1;
                start = i;
            }
            b'\r' => {
                result.push((start, i));
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    result.push((start, bytes.len()));
    result
}

/// The byte index of `(line, character)`, or `None` when the line does not exist.
pub fn byte_index(text: &str, line: u32, character: u32, unit: Unit) -> Option<usize> {
    let (start, end) = *lines(text).get(line as usize)?;
    let mut units = 0u64;
    for (index, ch) in text[start..end].char_indices() {
        units += unit.width(ch);
        if units > u64::from(character) {
            return Some(start + index);
        }
    }
    Some(end)
}

/// Applies one change as the server should; `false` when the change must be skipped.
pub fn apply(
    text: &mut String,
    range: Option<((u32, u32), (u32, u32))>,
    new_text: &str,
    unit: Unit,
) -> bool {
    let Some(((start_line, start_character), (end_line, end_character))) = range else {
        *text = new_text.to_string();
        return true;
    };
    let (Some(start), Some(end)) = (
        byte_index(text, start_line, start_character, unit),
        byte_index(text, end_line, end_character, unit),
    ) else {
        return false;
    };
    if end < start {
        return false;
    }
    text.replace_range(start..end, new_text);
    true
}

/// The position of byte index `at` (a char boundary) in `unit`s.
pub fn position(text: &str, at: usize, unit: Unit) -> (u32, u32) {
    let lines = lines(text);
    let last = lines.len() - 1;
    let line = lines.iter().position(|&(_, end)| at <= end).unwrap_or(last);
    let (start, end) = lines[line];
    let at = at.clamp(start, end);
    let units: u64 = text[start..at].chars().map(|ch| unit.width(ch)).sum();
    (line as u32, units.min(u64::from(u32::MAX)) as u32)
}
