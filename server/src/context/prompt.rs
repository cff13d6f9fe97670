//! Prompt assembly under a token budget: prefix and suffix windows of whole lines around the
//! cursor, the file's imports and enclosing scope headers when they lie above the window, and
//! extra snippets (other files) rendered as comments of the target language.
//!
//! Budget: `total_tokens` is split `prefix_percent` / `suffix_percent` / the rest for extra
//! context (preamble + snippets). Whatever the extra context leaves unused goes back to the
//! windows in the prefix:suffix ratio, so a file without imports or snippets gets wider windows.

use ropey::Rope;

use super::outline;
use crate::syntax::{Lang, Region, SourceView};

/// A piece of another file to show the model (filled by the cross-file snippet and index code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Where it comes from (a workspace-relative path or a URI), shown to the model.
    pub path: String,
    /// The text, whole lines.
    pub text: String,
}

/// How the prompt is split, in tokens and (as a cap on scanning) chars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextBudget {
    /// Tokens for the whole prompt (prefix, suffix, preamble, snippets).
    pub total_tokens: usize,
    /// Percent of `total_tokens` for the prefix window (35 in the anchors).
    pub prefix_percent: usize,
    /// Percent for the suffix window (15); the rest is for extra context.
    pub suffix_percent: usize,
    /// The prefix window never spans more chars than this.
    pub prefix_chars: usize,
    /// The suffix window never spans more chars than this.
    pub suffix_chars: usize,
}

/// Code or prose, and which kind of prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextMode {
    /// Source code: code stopping rules.
    Code,
    /// Prose in a comment, a string or Markdown text: sentence and paragraph stopping rules.
    Prose(Region),
}

impl ContextMode {
    /// Whether this is prose.
    pub fn is_prose(self) -> bool {
        matches!(self, ContextMode::Prose(_))
    }
}

/// What goes into the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptContext {
    /// Text before the cursor, starting at a line start unless one line exceeds the budget.
    pub prefix: String,
    /// Text after the cursor, ending at a line end unless one line exceeds the budget.
    pub suffix: String,
    /// Lines above the prefix window kept for their meaning (imports, enclosing scope headers),
    /// in file order, each ending with a line break; empty when none.
    pub preamble: String,
    /// Extra context from other files, most relevant first. The slot the snippet/index code fills.
    pub snippets: Vec<Snippet>,
    /// Code or prose.
    pub mode: ContextMode,
    /// The language, for rendering snippets as comments.
    pub lang: Option<Lang>,
}

impl PromptContext {
    /// Just two windows, no extra context (plain text, or the old window builder).
    pub fn windows(prefix: String, suffix: String) -> PromptContext {
        PromptContext {
            prefix,
            suffix,
            preamble: String::new(),
            snippets: Vec::new(),
            mode: ContextMode::Code,
            lang: None,
        }
    }

    /// The text the model sees before the cursor: snippets as comments, the preamble, the prefix.
    pub fn model_prefix(&self) -> String {
        let mut out = String::new();
        for snippet in &self.snippets {
            out.push_str(&render_snippet(self.lang, snippet));
        }
        out.push_str(&self.preamble);
        out.push_str(&self.prefix);
        out
    }
}

/// Renders a snippet as a comment of `lang` headed by its path (`// Path: src/a.rs`).
pub fn render_snippet(lang: Option<Lang>, snippet: &Snippet) -> String {
    let style = lang.map(Lang::comment_style);
    let mut out = String::new();
    match style.and_then(|style| style.line) {
        Some(marker) => {
            out.push_str(&format!("{marker} Path: {}\n", snippet.path));
            for line in snippet.text.lines() {
                if line.is_empty() {
                    out.push_str(&format!("{marker}\n"));
                } else {
                    out.push_str(&format!("{marker} {line}\n"));
                }
            }
        }
        None => {
            let (open, close) = style.and_then(|s| s.block).unwrap_or(("---", "---"));
            out.push_str(&format!("{open} Path: {}\n", snippet.path));
            for line in snippet.text.lines() {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(close);
            out.push('\n');
        }
    }
    out
}

/// Builds the prompt for `cursor` (a char offset, clamped) in `view`.
pub fn build_prompt(
    view: &SourceView<'_>,
    cursor: usize,
    budget: ContextBudget,
    count_tokens: &dyn Fn(&str) -> usize,
    snippets: Vec<Snippet>,
) -> PromptContext {
    let rope = view.rope;
    let cursor = cursor.min(rope.len_chars());
    let region = view.region_at(cursor);
    let mode = if region.is_prose() {
        ContextMode::Prose(region)
    } else {
        ContextMode::Code
    };
    let total = budget.total_tokens;
    let prefix_share = total * budget.prefix_percent.min(100) / 100;
    let suffix_share = total
        * budget
            .suffix_percent
            .min(100 - budget.prefix_percent.min(100))
        / 100;
    let mut extra_share = total.saturating_sub(prefix_share + suffix_share);

    let mut prefix = PrefixWindow::new(
        rope,
        cursor,
        prefix_share,
        budget.prefix_chars,
        count_tokens,
    );
    // A comment documents the code below it: that code gets part of the extra budget.
    let mut suffix_cap = suffix_share;
    if region == Region::Comment {
        suffix_cap += extra_share / 2;
        extra_share -= extra_share / 2;
    }
    let mut suffix = SuffixWindow::new(rope, cursor, suffix_cap, budget.suffix_chars, count_tokens);

    // Preamble: innermost scope headers first, then outer ones, then imports, while they fit.
    let mut preamble_tokens = 0;
    let mut kept_ranges = Vec::new();
    if !matches!(region, Region::MarkdownText) {
        for range in outline::kept_lines(view, cursor, prefix.start_line)
            .into_iter()
            .rev()
        {
            let text = lines_text(rope, range.clone());
            let tokens = count_tokens(&text);
            if preamble_tokens + tokens <= extra_share {
                preamble_tokens += tokens;
                kept_ranges.push(range);
            }
        }
    }
    kept_ranges.sort_by_key(|range| range.start);
    let preamble: String = kept_ranges
        .iter()
        .map(|r| lines_text(rope, r.clone()))
        .collect();

    let mut snippet_tokens = 0;
    let mut kept_snippets = Vec::new();
    for snippet in snippets {
        let tokens = count_tokens(&render_snippet(view.lang, &snippet));
        if preamble_tokens + snippet_tokens + tokens <= extra_share {
            snippet_tokens += tokens;
            kept_snippets.push(snippet);
        }
    }

    // Give what is left back to the windows, prefix first in its share of the ratio.
    let used = prefix.tokens + suffix.tokens + preamble_tokens + snippet_tokens;
    let left = total.saturating_sub(used);
    let ratio_total = (budget.prefix_percent + budget.suffix_percent).max(1);
    let prefix_extra = left * budget.prefix_percent / ratio_total;
    let floor_line = kept_ranges.last().map_or(0, |range| range.end);
    prefix.grow(
        rope,
        prefix.tokens + prefix_extra,
        budget.prefix_chars,
        floor_line,
        count_tokens,
    );
    let left =
        total.saturating_sub(prefix.tokens + suffix.tokens + preamble_tokens + snippet_tokens);
    suffix.grow(
        rope,
        suffix.tokens + left,
        budget.suffix_chars,
        count_tokens,
    );
    // Lines the grown prefix now shows need not be repeated in the preamble.
    let preamble = if kept_ranges.iter().all(|r| r.end <= prefix.start_line) {
        preamble
    } else {
        kept_ranges
            .iter()
            .filter(|r| r.end <= prefix.start_line)
            .map(|r| lines_text(rope, r.clone()))
            .collect()
    };

    PromptContext {
        prefix: rope.slice(prefix.start..cursor).to_string(),
        suffix: rope.slice(cursor..suffix.end).to_string(),
        preamble,
        snippets: kept_snippets,
        mode,
        lang: view.lang,
    }
}

fn lines_text(rope: &Rope, lines: std::ops::Range<usize>) -> String {
    let start = rope.line_to_char(lines.start.min(rope.len_lines()));
    let end = rope.line_to_char(lines.end.min(rope.len_lines()));
    let mut text = rope.slice(start..end).to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The prefix window: chars `start..cursor`, whole lines except possibly a cut cursor line.
struct PrefixWindow {
    start: usize,
    start_line: usize,
    tokens: usize,
}

impl PrefixWindow {
    fn new(
        rope: &Rope,
        cursor: usize,
        cap: usize,
        char_cap: usize,
        count: &dyn Fn(&str) -> usize,
    ) -> PrefixWindow {
        let line = rope.char_to_line(cursor);
        let line_start = rope.line_to_char(line);
        let mut start = line_start.max(cursor.saturating_sub(char_cap));
        let mut tokens = count(&rope.slice(start..cursor).to_string());
        // One very long cursor line: cut it from the left until it fits.
        while tokens > cap && start < cursor {
            start += ((cursor - start) / 4).max(1);
            tokens = count(&rope.slice(start..cursor).to_string());
        }
        let mut window = PrefixWindow {
            start,
            start_line: line,
            tokens,
        };
        if start == line_start {
            window.grow(rope, cap, char_cap.saturating_sub(cursor - start), 0, count);
        }
        window
    }

    /// Adds whole lines above while the tokens stay within `cap`, the chars within `char_cap`
    /// more, and the window does not reach above `floor_line`.
    fn grow(
        &mut self,
        rope: &Rope,
        cap: usize,
        char_cap: usize,
        floor_line: usize,
        count: &dyn Fn(&str) -> usize,
    ) {
        if self.start != rope.line_to_char(self.start_line) {
            return; // the cursor line itself was cut
        }
        let mut chars_added = 0;
        while self.start_line > floor_line {
            let line = self.start_line - 1;
            let text = rope.line(line).to_string();
            let tokens = count(&text);
            let chars = text.chars().count();
            if self.tokens + tokens > cap || chars_added + chars > char_cap {
                break;
            }
            self.tokens += tokens;
            chars_added += chars;
            self.start_line = line;
            self.start = rope.line_to_char(line);
        }
    }
}

/// The suffix window: chars `cursor..end`, whole lines except possibly a cut cursor line.
struct SuffixWindow {
    end: usize,
    end_line: usize,
    tokens: usize,
}

impl SuffixWindow {
    fn new(
        rope: &Rope,
        cursor: usize,
        cap: usize,
        char_cap: usize,
        count: &dyn Fn(&str) -> usize,
    ) -> SuffixWindow {
        let line = rope.char_to_line(cursor);
        let line_end = rope.line_to_char(line) + rope.line(line).len_chars();
        let mut end = line_end.min(cursor + char_cap);
        let mut tokens = count(&rope.slice(cursor..end).to_string());
        while tokens > cap && end > cursor {
            end -= ((end - cursor) / 4).max(1);
            tokens = count(&rope.slice(cursor..end).to_string());
        }
        let mut window = SuffixWindow {
            end,
            end_line: line + 1,
            tokens,
        };
        if end == line_end {
            window.grow(rope, cap, char_cap.saturating_sub(end - cursor), count);
        }
        window
    }

    fn grow(&mut self, rope: &Rope, cap: usize, char_cap: usize, count: &dyn Fn(&str) -> usize) {
        let cut_line = self.end_line > 0
            && self.end != rope.line_to_char(self.end_line.min(rope.len_lines()))
            && self.end != rope.len_chars();
        if cut_line {
            return;
        }
        let mut chars_added = 0;
        while self.end_line < rope.len_lines() && self.end < rope.len_chars() {
            let text = rope.line(self.end_line).to_string();
            let tokens = count(&text);
            let chars = text.chars().count();
            if self.tokens + tokens > cap || chars_added + chars > char_cap {
                break;
            }
            self.tokens += tokens;
            chars_added += chars;
            self.end += chars;
            self.end_line += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_str;
    use expect_test::expect;

    fn count(text: &str) -> usize {
        text.chars().count().div_ceil(4)
    }

    fn snippet(path: &str, text: &str) -> Snippet {
        Snippet {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn snippets_are_comments_of_the_target_language() {
        let s = snippet("src/util.rs", "pub fn clamp(x: u32) -> u32 {\n\n    x\n}");
        expect![[r#"
            // Path: src/util.rs
            // pub fn clamp(x: u32) -> u32 {
            //
            //     x
            // }
        "#]]
        .assert_eq(&render_snippet(Some(Lang::Rust), &s));
        expect![[r#"
            # Path: lib/a.py
            # def f(): pass
        "#]]
        .assert_eq(&render_snippet(
            Some(Lang::Python),
            &snippet("lib/a.py", "def f(): pass"),
        ));
        expect![[r#"
            <!-- Path: docs/a.md
            Some text.
            -->
        "#]]
        .assert_eq(&render_snippet(
            Some(Lang::Markdown),
            &snippet("docs/a.md", "Some text."),
        ));
    }

    #[test]
    fn the_budget_holds_and_snippets_that_do_not_fit_are_left_out() {
        let text = "use a::b;\n".to_string()
            + &"fn f() { let x = 1; }\n".repeat(20)
            + "fn g() {\n"
            + &"    let y = 2;\n".repeat(100)
            + "    \n}\n";
        let cursor = text.find("    \n}").unwrap() + 4;
        let rope = Rope::from_str(&text);
        let tree = parse_str(Lang::Rust, &text).unwrap();
        let view = SourceView {
            rope: &rope,
            lang: Some(Lang::Rust),
            tree: Some(&tree),
        };
        let budget = ContextBudget {
            total_tokens: 200,
            prefix_percent: 35,
            suffix_percent: 15,
            prefix_chars: 100_000,
            suffix_chars: 100_000,
        };
        let small = snippet("src/b.rs", "pub fn b() {}");
        let huge = snippet("src/huge.rs", &"pub fn h() {}\n".repeat(100));
        let prompt = build_prompt(
            &view,
            rope.byte_to_char(cursor),
            budget,
            &count,
            vec![huge, small.clone()],
        );
        assert_eq!(prompt.snippets, vec![small]);
        assert_eq!(prompt.preamble, "use a::b;\nfn g() {\n");
        let total = count(&prompt.model_prefix()) + count(&prompt.suffix);
        // Per-piece rounding may add a token per piece; the safety trim handles the rest.
        assert!(total <= 200 + 4, "{total}");
        assert!(
            prompt.prefix.ends_with("    let y = 2;\n    "),
            "{:?}",
            prompt.prefix
        );
        assert!(
            prompt
                .model_prefix()
                .starts_with("// Path: src/b.rs\n// pub fn b() {}\nuse a::b;\nfn g() {\n")
        );
    }
}
