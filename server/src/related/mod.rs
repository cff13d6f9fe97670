//! Extra context for the prompt: code from elsewhere that is probably relevant at the cursor.
//!
//! Two sources produce [`Snippet`]s: [`open_tabs::related`] (windows of the other open documents
//! and of recently edited regions, most similar to the text around the cursor by Jaccard over
//! identifiers, as Copilot's open-tab snippets) and the workspace index
//! (`crate::index::WorkspaceIndex::definitions_for`: definitions of identifiers used near the
//! cursor). [`fit_to_budget`] keeps the best ones that fit a token budget and [`render`] turns
//! them into prompt text, each under a comment naming its file in the target language.
//!
//! **API boundary:** pure text in, [`Snippet`]s and a `String` out; no LSP, no tree-sitter.

pub mod open_tabs;
pub mod tokens;

use ropey::Rope;
use serde::Serialize;

pub use open_tabs::{SnippetConfig, SnippetSource, related};

/// Where a snippet comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SnippetKind {
    /// The most similar window of another open document.
    OpenDocument,
    /// A window around a recent edit (in any open document, the current one included).
    RecentEdit,
    /// A definition from the workspace index.
    Definition,
}

/// A piece of code for the prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snippet {
    /// The file it comes from, as shown to the model (workspace-relative when possible).
    pub path: String,
    /// Whole lines of code, ending with a line break.
    pub text: String,
    /// Higher is more relevant (Jaccard similarity in 0..=1 for windows; definitions rank by
    /// how close to the cursor their name is used).
    pub score: f64,
    /// Where it comes from.
    pub kind: SnippetKind,
    /// 0-based line of its first line in its file.
    pub start_line: usize,
}

/// A line comment (or comment pair) of the language, `None` where the language has none or is
/// unknown (no snippets are added then: they could not be told apart from the file's text).
pub fn comment_syntax(language_id: &str) -> Option<(&'static str, &'static str)> {
    let syntax = match language_id {
        "rust" | "c" | "cpp" | "objective-c" | "objective-cpp" | "cuda-cpp" | "java" | "go"
        | "javascript" | "javascriptreact" | "typescript" | "typescriptreact" | "csharp"
        | "swift" | "kotlin" | "scala" | "dart" | "php" | "zig" | "groovy" | "jsonc" => ("// ", ""),
        "python" | "ruby" | "shellscript" | "bash" | "sh" | "zsh" | "fish" | "toml" | "yaml"
        | "perl" | "r" | "makefile" | "dockerfile" | "cmake" | "elixir" | "julia" | "nix"
        | "powershell" => ("# ", ""),
        "lua" | "sql" | "haskell" | "elm" | "ada" => ("-- ", ""),
        "markdown" | "html" | "xml" | "vue" | "svelte" => ("<!-- ", " -->"),
        "clojure" | "lisp" | "scheme" | "racket" => (";; ", ""),
        "erlang" | "latex" | "tex" | "matlab" => ("% ", ""),
        "vim" => ("\" ", ""),
        "ocaml" | "fsharp" | "pascal" => ("(* ", " *)"),
        _ => return None,
    };
    Some(syntax)
}

/// Languages whose files may lend each other snippets (JS and TS; C and C++).
pub fn language_family(language_id: &str) -> &str {
    match language_id {
        "javascript" | "javascriptreact" | "typescript" | "typescriptreact" => "javascript",
        "c" | "cpp" | "objective-c" | "objective-cpp" | "cuda-cpp" => "c",
        other => other,
    }
}

/// One snippet as prompt text: a comment naming the file, then the code.
pub fn render_one(snippet: &Snippet, language_id: &str) -> Option<String> {
    let (open, close) = comment_syntax(language_id)?;
    let mut text = format!("{open}Path: {}{close}\n{}", snippet.path, snippet.text);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    Some(text)
}

/// Prompt text for `snippets` (already chosen), least relevant first so the most relevant one
/// ends up nearest the cursor. Empty when there are none or the language has no comments.
pub fn render(snippets: &[Snippet], language_id: &str) -> String {
    let mut ordered: Vec<&Snippet> = snippets.iter().collect();
    ordered.sort_by(|a, b| a.score.total_cmp(&b.score));
    ordered
        .into_iter()
        .filter_map(|snippet| render_one(snippet, language_id))
        .collect()
}

/// Keeps the most relevant `snippets` whose rendering fits `max_tokens` in all. A snippet that
/// does not fit whole is cut to its first lines that do (at least 3 lines, else it is dropped).
/// Returns them best first.
pub fn fit_to_budget(
    mut snippets: Vec<Snippet>,
    language_id: &str,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Snippet> {
    snippets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    let mut used = 0;
    for mut snippet in snippets {
        let Some(rendered) = render_one(&snippet, language_id) else {
            return Vec::new();
        };
        let mut tokens = count_tokens(&rendered);
        if used + tokens > max_tokens {
            // Halve the lines until it fits, keeping the top (the signature or header).
            let mut lines: Vec<&str> = snippet.text.split_inclusive('\n').collect();
            let mut fitted = None;
            while lines.len() > 3 {
                lines.truncate(lines.len().div_ceil(2).max(3));
                let candidate = Snippet {
                    text: lines.concat(),
                    ..snippet.clone()
                };
                let rendered = render_one(&candidate, language_id).unwrap_or_default();
                let candidate_tokens = count_tokens(&rendered);
                if used + candidate_tokens <= max_tokens {
                    fitted = Some((candidate, candidate_tokens));
                    break;
                }
            }
            let Some((candidate, candidate_tokens)) = fitted else {
                continue;
            };
            snippet = candidate;
            tokens = candidate_tokens;
        }
        used += tokens;
        kept.push(snippet);
    }
    kept
}

/// Identifiers used near `cursor` (lines `lines_before` above to `lines_after` below), nearest
/// first, each once, without stopwords or names shorter than 3 chars.
pub fn identifiers_near(
    rope: &Rope,
    cursor: usize,
    lines_before: usize,
    lines_after: usize,
) -> Vec<String> {
    let cursor = cursor.min(rope.len_chars());
    let cursor_line = rope.char_to_line(cursor);
    let first = cursor_line.saturating_sub(lines_before);
    let last = (cursor_line + lines_after).min(rope.len_lines().saturating_sub(1));
    // Order lines by distance: the cursor line, then alternately above and below.
    let mut order = vec![cursor_line];
    for distance in 1..=lines_before.max(lines_after) {
        if distance <= cursor_line - first {
            order.push(cursor_line - distance);
        }
        if cursor_line + distance <= last {
            order.push(cursor_line + distance);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut names = Vec::new();
    for line in order {
        let text = rope.line(line).to_string();
        for word in tokens::meaningful_identifiers(&text) {
            if word.chars().count() >= 3 && seen.insert(word.to_string()) {
                names.push(word.to_string());
            }
        }
    }
    names
}

/// Copies at most `max_chars` of whole lines from the start of `text` (or the first
/// `max_chars` chars when the first line alone is longer), ending with a line break.
pub fn bounded_lines(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for line in text.split_inclusive('\n') {
        let line_chars = line.chars().count();
        if chars + line_chars > max_chars {
            if out.is_empty() {
                out.extend(line.chars().take(max_chars));
            }
            break;
        }
        out.push_str(line);
        chars += line_chars;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
