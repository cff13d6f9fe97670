//! Small text helpers over a Rope, in char offsets (LSP-free).

use ropey::Rope;

/// The cursor's line split at the cursor: (text before it, text after it), without the line break.
pub fn line_parts(rope: &Rope, cursor: usize) -> (String, String) {
    let cursor = cursor.min(rope.len_chars());
    let line = rope.char_to_line(cursor);
    let line_start = rope.line_to_char(line);
    let line_end = line_start + line_content_len(rope, line);
    let cursor_in_line = cursor.min(line_end);
    (
        rope.slice(line_start..cursor_in_line).to_string(),
        rope.slice(cursor_in_line..line_end).to_string(),
    )
}

/// Up to `count` whole lines after the cursor's line, without line breaks.
pub fn lines_after(rope: &Rope, cursor: usize, count: usize) -> Vec<String> {
    let line = rope.char_to_line(cursor.min(rope.len_chars()));
    (line + 1..rope.len_lines().min(line + 1 + count))
        .map(|index| {
            let start = rope.line_to_char(index);
            rope.slice(start..start + line_content_len(rope, index))
                .to_string()
        })
        .collect()
}

/// Chars of line `line` without its line break.
pub fn line_content_len(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
    }
    if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    len
}

/// The document's line ending: `\r\n` when its first line break is CRLF, else `\n`.
pub fn line_ending(rope: &Rope) -> &'static str {
    if rope.len_lines() > 1 {
        let first = rope.line(0);
        let len = first.len_chars();
        if len >= 2 && first.char(len - 2) == '\r' && first.char(len - 1) == '\n' {
            return "\r\n";
        }
    }
    "\n"
}

/// Indentation width of `line` in columns (a tab counts 4).
pub fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

/// Converts a byte offset in `text` to a char offset (rounding down inside a char).
pub fn byte_to_char_offset(text: &str, byte_offset: usize) -> usize {
    let mut byte_offset = byte_offset.min(text.len());
    while !text.is_char_boundary(byte_offset) {
        byte_offset -= 1;
    }
    text[..byte_offset].chars().count()
}

/// Converts a count of UTF-16 code units at the start of `text` to a count of chars
/// (rounding down inside a surrogate pair, clamping at the end).
pub fn utf16_prefix_to_chars(text: &str, utf16_units: usize) -> usize {
    let mut units = 0;
    let mut chars = 0;
    for ch in text.chars() {
        if units + ch.len_utf16() > utf16_units {
            break;
        }
        units += ch.len_utf16();
        chars += 1;
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_parts_ignore_line_breaks() {
        let rope = Rope::from_str("ab\r\ncd😀ef\r\n");
        assert_eq!(line_parts(&rope, 7), ("cd😀".to_string(), "ef".to_string()));
        assert_eq!(line_parts(&rope, 2), ("ab".to_string(), String::new()));
        assert_eq!(
            lines_after(&rope, 0, 5),
            vec!["cd😀ef".to_string(), String::new()]
        );
        assert_eq!(line_ending(&rope), "\r\n");
    }

    #[test]
    fn unit_conversions() {
        assert_eq!(byte_to_char_offset("a😀b", 5), 2);
        assert_eq!(byte_to_char_offset("a😀b", 3), 1);
        assert_eq!(utf16_prefix_to_chars("a😀b", 2), 1);
        assert_eq!(utf16_prefix_to_chars("a😀b", 3), 2);
        assert_eq!(utf16_prefix_to_chars("a😀b", 99), 3);
    }
}
