//! Prompt context: the text the model sees around the cursor.
//!
//! [`build_prompt`] (in `prompt.rs`) assembles the prompt under a token budget: prefix and
//! suffix windows of whole lines, the imports and enclosing scope headers that lie above the
//! window (`outline.rs`), and extra snippets from other files rendered as comments. The older
//! char-window builder [`build`] and the final safety trim [`fit_to_token_budget`] stay here.

#[cfg(test)]
mod golden_tests;
mod outline;
mod prompt;

use ropey::Rope;

pub use prompt::{
    ContextBudget, ContextMode, PromptContext, Snippet, build_prompt, render_snippet,
};

/// Window sizes in chars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSizes {
    /// Chars of prefix at most.
    pub prefix_chars: usize,
    /// Chars of suffix at most.
    pub suffix_chars: usize,
}

/// Builds the prefix and suffix windows around `cursor` (a char offset, clamped to the text).
pub fn build(rope: &Rope, cursor: usize, sizes: WindowSizes) -> PromptContext {
    let len = rope.len_chars();
    let cursor = cursor.min(len);
    let cursor_line = rope.char_to_line(cursor);
    let cursor_line_start = rope.line_to_char(cursor_line);

    let mut prefix_start = cursor.saturating_sub(sizes.prefix_chars);
    if prefix_start > 0 && prefix_start < cursor_line_start {
        // Start at the next whole line so the model never sees half a line.
        let line = rope.char_to_line(prefix_start);
        if rope.line_to_char(line) != prefix_start {
            prefix_start = rope.line_to_char(line + 1);
        }
    }

    let mut suffix_end = (cursor + sizes.suffix_chars).min(len);
    let cursor_line_end = cursor_line_start + rope.line(cursor_line).len_chars();
    if suffix_end < len && suffix_end > cursor_line_end {
        // End after the last whole line that fits.
        let line = rope.char_to_line(suffix_end);
        suffix_end = rope.line_to_char(line).max(cursor_line_end);
    }

    PromptContext::windows(
        rope.slice(prefix_start..cursor).to_string(),
        rope.slice(cursor..suffix_end).to_string(),
    )
}

/// Shrinks the context until `count_tokens(prefix) + count_tokens(suffix) <= max_tokens`,
/// dropping whole lines from the far ends (the top of the prefix, the bottom of the suffix).
/// [`build_prompt`] already fits its budget; this is the safety net for counting differences
/// (tokens of lines counted apart can differ a little from the joined text).
pub fn fit_to_token_budget(
    context: &mut PromptContext,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) {
    for _ in 0..64 {
        let prefix_tokens = count_tokens(&context.prefix);
        let suffix_tokens = count_tokens(&context.suffix);
        if prefix_tokens + suffix_tokens <= max_tokens {
            return;
        }
        // Keep roughly a 3:1 prefix:suffix split when trimming.
        if suffix_tokens * 3 > prefix_tokens && !context.suffix.is_empty() {
            context.suffix = drop_tail_quarter(&context.suffix);
        } else {
            context.prefix = drop_head_quarter(&context.prefix);
        }
    }
}

fn drop_head_quarter(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut cut = chars.len() / 4 + 1;
    // Prefer a line boundary at or after the cut.
    if let Some(newline) = chars[cut.min(chars.len())..]
        .iter()
        .position(|&c| c == '\n')
    {
        let candidate = cut + newline + 1;
        if candidate < chars.len() {
            cut = candidate;
        }
    }
    chars[cut.min(chars.len())..].iter().collect()
}

fn drop_tail_quarter(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let keep = chars.len() - (chars.len() / 4 + 1);
    let mut end = keep;
    if let Some(newline) = chars[..keep].iter().rposition(|&c| c == '\n') {
        end = newline + 1;
    }
    chars[..end].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(fixture: &str, sizes: WindowSizes, expected: Expect) {
        let cursor_byte = fixture.find("$0").expect("fixture has a $0 cursor");
        let text = fixture.replacen("$0", "", 1);
        let rope = Rope::from_str(&text);
        let cursor = rope.byte_to_char(cursor_byte);
        let context = build(&rope, cursor, sizes);
        expected.assert_eq(&format!(
            "prefix: {:?}\nsuffix: {:?}",
            context.prefix, context.suffix
        ));
    }

    #[test]
    fn windows_are_whole_lines() {
        let fixture = "line one\nline two\nfn f() {\n    let x = $0;\n}\ntail one\ntail two\n";
        check(
            fixture,
            WindowSizes {
                prefix_chars: 30,
                suffix_chars: 9,
            },
            expect![[r#"
                prefix: "line two\nfn f() {\n    let x = "
                suffix: ";\n}\n""#]],
        );
        check(
            fixture,
            WindowSizes {
                prefix_chars: 1000,
                suffix_chars: 1000,
            },
            expect![[r#"
                prefix: "line one\nline two\nfn f() {\n    let x = "
                suffix: ";\n}\ntail one\ntail two\n""#]],
        );
    }

    #[test]
    fn a_long_cursor_line_is_cut_mid_line_and_non_ascii_counts_chars() {
        check(
            "😀😀😀😀 中文 $0 tail",
            WindowSizes {
                prefix_chars: 5,
                suffix_chars: 2,
            },
            expect![[r#"
                prefix: "😀 中文 "
                suffix: " t""#]],
        );
    }

    #[test]
    fn token_budget_drops_far_lines_first() {
        let mut context =
            PromptContext::windows("a\nb\nc\nd\ne\nf\ng\nh\n".into(), "x\ny\n".into());
        let count = |text: &str| text.chars().filter(|c| !c.is_whitespace()).count();
        fit_to_token_budget(&mut context, 6, &count);
        assert!(count(&context.prefix) + count(&context.suffix) <= 6);
        assert!(context.prefix.ends_with("h\n"), "{context:?}");
        assert!(context.suffix.starts_with("x\n"), "{context:?}");
    }
}
