//! Post-processing: turns raw model text into a suggestion worth showing. Each rule is one small
//! function, applied in the order listed in [`postprocess`]. Code and prose take different
//! paths; the rules that need the syntax tree live in `postprocess/tree_rules.rs`, indentation
//! in `postprocess/indent.rs`, prose stopping rules in `postprocess/prose.rs`.

mod indent;
mod prose;
mod tree_rules;

use ropey::Rope;

use super::trigger::Shape;
use crate::context::ContextMode;
use crate::syntax::SourceView;
use crate::text::{indent_width, line_ending, line_parts, lines_after};
pub use indent::IndentStyle;
pub use tree_rules::{SyntaxSnapshot, WHOLE_FILE_BYTES, WINDOW_MAX_BYTES};

/// What the rules need to know about the text around the cursor.
#[derive(Clone, Debug)]
pub struct PostprocessContext {
    /// The cursor's line before the cursor.
    pub line_before: String,
    /// The cursor's line after the cursor.
    pub line_after: String,
    /// The cursor, in chars.
    pub cursor: usize,
    /// A few lines after the cursor's line.
    pub next_lines: Vec<String>,
    /// One line or a block.
    pub shape: Shape,
    /// Maximum lines in a block suggestion.
    pub max_lines: usize,
    /// The document's line ending.
    pub line_ending: &'static str,
    /// Code or prose (prose skips the bracket and block rules).
    pub mode: ContextMode,
    /// The file's indentation style, when its lines show one.
    pub indent: Option<IndentStyle>,
    /// The document and its tree, for the tree rules (code only).
    pub syntax: Option<SyntaxSnapshot>,
    /// Drop a suggestion that makes the parse worse (automatic requests); otherwise it is only
    /// flagged (an invoked request shows it after the clean ones: the user asked).
    pub reject_parse_worse: bool,
}

impl PostprocessContext {
    /// Reads the context at `cursor` (a char offset).
    pub fn new(rope: &Rope, cursor: usize, shape: Shape, max_lines: usize) -> PostprocessContext {
        let (line_before, line_after) = line_parts(rope, cursor);
        PostprocessContext {
            line_before,
            line_after,
            cursor,
            next_lines: lines_after(rope, cursor, 4),
            shape,
            max_lines: max_lines.max(1),
            line_ending: line_ending(rope),
            mode: ContextMode::Code,
            indent: indent::detect(rope, rope.char_to_line(cursor.min(rope.len_chars()))),
            syntax: None,
            reject_parse_worse: true,
        }
    }

    /// Adds what the syntax knows: the mode and, for code with a tree, the tree rules.
    pub fn with_syntax(mut self, view: &SourceView<'_>, mode: ContextMode) -> PostprocessContext {
        self.mode = mode;
        let code_tree = view
            .lang
            .filter(|lang| *lang != crate::syntax::Lang::Markdown);
        if let (Some(lang), Some(tree), ContextMode::Code) = (code_tree, view.tree, mode) {
            self.syntax = Some(SyntaxSnapshot::new(lang, view.rope, tree, self.cursor));
        }
        self
    }

    fn following_text(&self) -> String {
        let mut following = self.line_after.clone();
        for line in &self.next_lines {
            following.push('\n');
            following.push_str(line);
        }
        following
    }
}

/// A suggestion ready for the editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// Text to insert at the cursor (in the document's line ending).
    pub insert_text: String,
    /// How many chars right of the cursor the item replaces (auto-closed brackets the suggestion
    /// already contains); the replaced range stays on the cursor's line.
    pub covers_after_chars: usize,
    /// Inserting it adds ERROR/MISSING nodes to the document's tree.
    pub parse_worse: bool,
}

/// Applies every rule; `None` when nothing worth showing is left (never an empty item).
pub fn postprocess(raw: &str, context: &PostprocessContext) -> Option<Suggestion> {
    let text = normalize_newlines(raw);
    let text = drop_incomplete_character_at_end(&text);
    let text = cut_to_shape(
        &cut_repetitive_tail(&text),
        context.shape,
        context.max_lines,
    );
    // Cutting to shape can leave a repetitive tail that the raw text's non-repeating end hid.
    let text = cut_repetitive_tail(&text);
    let text = cut_before_repeated_line(&text);
    if context.mode.is_prose() {
        return postprocess_prose(&text, context);
    }
    let base_indent: String = context
        .line_before
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let text = match context.indent {
        Some(style) => indent::normalize_indentation(&text, style, &base_indent),
        None => text,
    };
    let text = cut_before_repeated_suffix_line(&text, context);
    let text = cut_at_block_end(&text, context);
    let text = match &context.syntax {
        Some(snapshot) if context.shape == Shape::MultiLine => {
            tree_rules::cut_at_enclosing_block_end(&text, snapshot)
        }
        _ => text,
    };
    let text = trim_trailing_whitespace(&text);
    if repeats_text_after_cursor(&text, context) {
        return None;
    }
    let text = drop_repeated_closers_of_block(&text, context);
    let covers_after_chars = covered_chars_after_cursor(&text, context);
    if text.trim().is_empty() {
        return None;
    }
    let parse_worse = context
        .syntax
        .as_ref()
        .is_some_and(|snapshot| tree_rules::makes_parse_worse(&text, covers_after_chars, snapshot));
    if parse_worse && context.reject_parse_worse {
        return None;
    }
    Some(Suggestion {
        insert_text: with_line_ending(&text, context.line_ending),
        covers_after_chars,
        parse_worse,
    })
}

/// Prose: a sentence on a line, a paragraph in a block; no bracket or block rules.
fn postprocess_prose(text: &str, context: &PostprocessContext) -> Option<Suggestion> {
    let text = match context.shape {
        Shape::SingleLine => prose::cut_at_sentence_end(text),
        Shape::MultiLine => prose::cut_at_paragraph_end(text),
    };
    let text = prose::cut_before_existing_closer(&text, &context.following_text());
    let text = trim_trailing_whitespace(&text);
    if text.trim().is_empty() || repeats_text_after_cursor(&text, context) {
        return None;
    }
    let covers_after_chars = covered_chars_after_cursor(&text, context);
    Some(Suggestion {
        insert_text: with_line_ending(&text, context.line_ending),
        covers_after_chars,
        parse_worse: false,
    })
}

/// `\r\n` and lone `\r` become `\n` while the rules run.
fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// A generation cut at `max_tokens` can end inside a multi-byte character, which decodes to
/// U+FFFD; that tail is not part of any real text.
fn drop_incomplete_character_at_end(text: &str) -> String {
    text.trim_end_matches('\u{FFFD}').to_string()
}

/// Shortest repeated unit considered, longest, and how many repeats make a degenerate tail.
const MAX_REPEAT_UNIT_CHARS: usize = 12;
const MIN_REPEATS: usize = 4;
const MIN_REPEATED_CHARS: usize = 8;

/// A small model stuck in a loop (`,,,,,,,,` or `a, a, a, a, a`) ends with one unit repeated
/// many times; the run is cut (keeping one copy when the unit has letters or digits).
fn cut_repetitive_tail(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut cut_at = chars.len();
    for unit in 1..=MAX_REPEAT_UNIT_CHARS.min(chars.len() / MIN_REPEATS) {
        // Count how many whole units at the end repeat the last unit.
        let last = &chars[chars.len() - unit..];
        let mut repeats = 1;
        while (repeats + 1) * unit <= chars.len()
            && &chars[chars.len() - (repeats + 1) * unit..chars.len() - repeats * unit] == last
        {
            repeats += 1;
        }
        let run = repeats * unit;
        if repeats >= MIN_REPEATS
            && run >= MIN_REPEATED_CHARS
            && !last.iter().all(|c| c.is_whitespace())
        {
            // One copy of a unit with content (`, 2`) may be meant; punctuation runs are noise.
            let keep = if last.iter().any(|c| c.is_alphanumeric()) {
                unit
            } else {
                0
            };
            cut_at = cut_at.min(chars.len() - run + keep);
        }
    }
    chars[..cut_at].iter().collect()
}

/// Lines shorter than this (trimmed) may legitimately repeat (`}`, `end`, `break;`, `pass`).
const MIN_REPEATED_LINE_CHARS: usize = 8;

/// A small model stuck in a line loop writes the same statement again and again; a block stops
/// before a line whose trimmed text already appeared in the suggestion (short lines excepted).
fn cut_before_repeated_line(text: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        let trimmed = line.trim();
        if trimmed.chars().count() >= MIN_REPEATED_LINE_CHARS {
            if seen.contains(&trimmed) {
                break;
            }
            seen.push(trimmed);
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Single-line: up to the first line break. Block: at most `max_lines` lines.
fn cut_to_shape(text: &str, shape: Shape, max_lines: usize) -> String {
    match shape {
        Shape::SingleLine => text.split('\n').next().unwrap_or_default().to_string(),
        Shape::MultiLine => text
            .split('\n')
            .take(max_lines)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A block stops before a line that is identical to the next non-blank line already after the
/// cursor (the model re-typing the closing `}` or the next statement).
fn cut_before_repeated_suffix_line(text: &str, context: &PostprocessContext) -> String {
    let Some(next_line) = context
        .next_lines
        .iter()
        .find(|line| !line.trim().is_empty())
    else {
        return text.to_string();
    };
    let next_line = next_line.trim_end();
    let lines: Vec<&str> = text.split('\n').collect();
    for (index, line) in lines.iter().enumerate().skip(1) {
        if line.trim_end() == next_line {
            return lines[..index].join("\n");
        }
    }
    text.to_string()
}

/// A block ends where indentation drops below the block it started in. After an opener
/// (`{`, `(`, `[`, `:`), a closing line at the opener's indentation is kept and ends the block.
fn cut_at_block_end(text: &str, context: &PostprocessContext) -> String {
    if context.shape == Shape::SingleLine {
        return text.to_string();
    }
    let base_indent = indent_width(&context.line_before);
    let before = context.line_before.trim_end();
    let opens_block = before.ends_with(['{', '(', '[', ':']) || before.ends_with("=>");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut kept = vec![lines[0]];
    for line in lines.iter().skip(1) {
        if line.trim().is_empty() {
            kept.push(line);
            continue;
        }
        let indent = indent_width(line);
        if opens_block && indent <= base_indent {
            let closes = line.trim_start().starts_with([')', ']', '}']);
            if closes && indent == base_indent && context.line_after.trim().is_empty() {
                kept.push(line);
            }
            break;
        }
        if !opens_block && indent < base_indent {
            break;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Trailing whitespace on every line, and trailing blank lines, go.
fn trim_trailing_whitespace(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// The suggestion only re-types what is already right of the cursor (or the next lines).
fn repeats_text_after_cursor(text: &str, context: &PostprocessContext) -> bool {
    let typed = text.trim();
    if typed.is_empty() {
        return true;
    }
    let after = context.line_after.trim();
    if !after.is_empty() && after.starts_with(typed) {
        return true;
    }
    let following = context.following_text();
    let following: String = following.split_whitespace().collect::<Vec<_>>().join(" ");
    let typed_words: String = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    // Whole words only: typing `a` before a line starting `abc` is not a repeat.
    following.starts_with(&typed_words)
        && following[typed_words.len()..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ')
}

/// A block suggestion that ends with exactly the closers already right of the cursor drops them
/// (they stay in the document, after the inserted block).
fn drop_repeated_closers_of_block(text: &str, context: &PostprocessContext) -> String {
    let after = context.line_after.trim();
    let only_closers =
        !after.is_empty() && after.chars().all(|c| matches!(c, ')' | ']' | '}' | ';'));
    if text.contains('\n') && only_closers && text.ends_with(after) {
        return text[..text.len() - after.len()].trim_end().to_string();
    }
    text.to_string()
}

/// A one-line suggestion that ends with the rest of the cursor's line (e.g. the `)` the editor
/// auto-closed) replaces that rest instead of duplicating it.
fn covered_chars_after_cursor(text: &str, context: &PostprocessContext) -> usize {
    let after = context.line_after.trim_end();
    if !after.is_empty() && !text.contains('\n') && text.ends_with(after) && text != after {
        after.chars().count()
    } else {
        0
    }
}

fn with_line_ending(text: &str, line_ending: &str) -> String {
    if line_ending == "\n" {
        text.to_string()
    } else {
        text.replace('\n', line_ending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::completion::trigger::{Trigger, TriggerDecision, decide};
    use expect_test::{Expect, expect};

    /// `fixture` has a `$0` cursor; the shape comes from the real trigger rules (invoked).
    fn check(fixture: &str, raw: &str, expected: Expect) {
        let cursor_byte = fixture.find("$0").expect("fixture has a $0 cursor");
        let rope = Rope::from_str(&fixture.replacen("$0", "", 1));
        let cursor = rope.byte_to_char(cursor_byte);
        let TriggerDecision::Suggest(shape) = decide(&rope, cursor, Trigger::Invoked) else {
            panic!("invoked triggers always suggest")
        };
        let context = PostprocessContext::new(&rope, cursor, shape, 6);
        let actual = match postprocess(raw, &context) {
            None => "<nothing>".to_string(),
            Some(s) => format!("{:?} covers {}", s.insert_text, s.covers_after_chars),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn single_line_cuts_at_line_end() {
        check(
            "let total = $0",
            "a + b;\nlet next = 1;",
            expect![[r#""a + b;" covers 0"#]],
        );
    }

    #[test]
    fn auto_closed_bracket_is_covered_not_duplicated() {
        check("let v = max($0)", "a, b)", expect![[r#""a, b)" covers 1"#]]);
        check("let v = max($0)", "a, b", expect![[r#""a, b" covers 0"#]]);
    }

    #[test]
    fn repeating_the_text_after_the_cursor_is_dropped() {
        check("call($0)", ")", expect!["<nothing>"]);
        check(
            "fn f() {\n    $0\n    return 1;\n}",
            "return 1;\n}",
            expect!["<nothing>"],
        );
    }

    #[test]
    fn block_stops_before_a_line_already_in_the_suffix() {
        check(
            "fn f() {$0\n}\n",
            "\n    let x = 1;\n    x + 1\n}\n\nfn g() {}",
            expect![[r#""\n    let x = 1;\n    x + 1" covers 0"#]],
        );
    }

    #[test]
    fn block_keeps_its_own_closer_and_stops_after_it() {
        check(
            "fn f() {$0",
            "\n    1\n}\nfn other() {}\n",
            expect![[r#""\n    1\n}" covers 0"#]],
        );
    }

    #[test]
    fn block_stops_before_a_line_it_already_wrote() {
        check(
            "fn main() {$0",
            "\n    let mut s = self.get();\n    let t = s + 1;\n    let mut s = self.get();\n    let t = s + 1;",
            expect![[r#""\n    let mut s = self.get();\n    let t = s + 1;" covers 0"#]],
        );
        // Short lines (closers, `pass`) may repeat.
        check(
            "fn f() {$0",
            "\n    if a {\n    }\n    if b {\n    }\n}",
            expect![[r#""\n    if a {\n    }\n    if b {\n    }\n}" covers 0"#]],
        );
    }

    #[test]
    fn block_stops_when_indentation_drops() {
        check(
            "def f(x):\n    y = 1\n    $0",
            "return y + x\n\nprint(f(2))",
            expect![[r#""return y + x" covers 0"#]],
        );
    }

    #[test]
    fn block_is_limited_to_max_lines() {
        check(
            "fn f() {$0",
            "\n a\n b\n c\n d\n e\n f\n g\n}",
            expect![[r#""\n a\n b\n c\n d\n e" covers 0"#]],
        );
    }

    #[test]
    fn trailing_whitespace_and_blank_output_are_removed() {
        check("x = $0", "42   \t", expect![[r#""42" covers 0"#]]);
        check("x = $0", "   \n  ", expect!["<nothing>"]);
        check("x = $0", "", expect!["<nothing>"]);
    }

    #[test]
    fn crlf_documents_get_crlf_suggestions() {
        check(
            "fn f() {\r\n    $0\r\n}\r\n",
            "let a = 1;\r\n    let b = 2;",
            expect![[r#""let a = 1;\r\n    let b = 2;" covers 0"#]],
        );
    }

    #[test]
    fn block_drops_closers_already_after_the_cursor() {
        check(
            "foo($0)",
            "\n    a,\n    b,\n)",
            expect![[r#""\n    a,\n    b," covers 0"#]],
        );
    }

    #[test]
    fn degenerate_repetition_is_cut() {
        check("let x = $0", ",,,,,,,,,,,,,,,,,,,,", expect!["<nothing>"]);
        check(
            "let v = vec![$0]",
            "1, 2, 2, 2, 2, 2, 2, 2",
            expect![[r#""1, 2" covers 0"#]],
        );
        check(
            "let s = $0",
            "\"abcabc\";",
            expect![[r#""\"abcabc\";" covers 0"#]],
        );
        check("let s = $0", "[0; 4];", expect![[r#""[0; 4];" covers 0"#]]);
        check(
            "fn f() {\n$0\n}",
            "///\n///\n///\n///\n///\n///\n///\n///\n/// Returns",
            expect![[r#""///" covers 0"#]],
        );
    }

    #[test]
    fn a_character_cut_in_half_at_the_end_is_dropped() {
        check(
            "let s = $0",
            "\"caf\u{FFFD}\u{FFFD}",
            expect![[r#""\"caf" covers 0"#]],
        );
    }

    #[test]
    fn non_ascii_text_survives() {
        check(
            "let s = \"$0\";",
            "héllo 😀\";",
            expect![[r#""héllo 😀\";" covers 2"#]],
        );
    }
}
