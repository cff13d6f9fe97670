//! Trigger decision: whether to suggest at all, and whether one line or a block.
//!
//! Text rules always apply (inside a word, too much text right of the cursor); with a syntax
//! tree the shape comes from the node at the cursor: nothing in the middle of an identifier with
//! text to its right; a block after a `{`, after a block-opening `:` + newline, or in an empty
//! function body; one line otherwise (and in prose).

use ropey::Rope;
use tree_sitter::Node;

use crate::syntax::{Lang, SourceView};
use crate::text::line_parts;

/// How the request was triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// The user asked (a key press): more alternatives, never skipped for taste.
    Invoked,
    /// Typing: one alternative, skipped where a suggestion would be noise.
    Automatic,
}

/// The shape of suggestion wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// The rest of the current line.
    SingleLine,
    /// Possibly several lines (a block body, a new statement on a blank line).
    MultiLine,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerDecision {
    /// Do not call the model.
    Skip {
        /// Why, for the log.
        reason: &'static str,
    },
    /// Call the model for this shape.
    Suggest(Shape),
}

/// More than this many non-blank chars right of the cursor stops automatic suggestions
/// (llama.vim's rule: the user is editing inside existing text).
const MAX_CHARS_RIGHT_OF_CURSOR: usize = 8;

/// Decides for `cursor` (a char offset) in plain text (no syntax tree).
pub fn decide(rope: &Rope, cursor: usize, trigger: Trigger) -> TriggerDecision {
    decide_in(&SourceView::plain(rope), cursor, trigger)
}

/// Decides for `cursor` (a char offset) in `view`, using its syntax tree when there is one.
pub fn decide_in(view: &SourceView<'_>, cursor: usize, trigger: Trigger) -> TriggerDecision {
    let text_decision = decide_from_text(view.rope, cursor, trigger);
    if view.tree.is_none() || matches!(text_decision, TriggerDecision::Skip { .. }) {
        return text_decision;
    }
    if view.region_at(cursor).is_prose() {
        return TriggerDecision::Suggest(prose_shape(view, cursor));
    }
    if view.lang == Some(Lang::Markdown) {
        return text_decision; // code in a fenced block: the Markdown tree knows nothing of it
    }
    // With a tree the syntax decides the shape: the text rules would take any trailing `:` or
    // `{` (a type annotation, a dict) for a block opener.
    let (before, after) = line_parts(view.rope, cursor);
    let only_closers_after = after
        .chars()
        .filter(|c| !c.is_whitespace())
        .all(|c| matches!(c, ')' | ']' | '}' | ';' | ','));
    let blank_line = before.trim().is_empty();
    let block = blank_line
        || opens_block_before(view, cursor)
        || opens_list_before(view, cursor)
        || in_empty_body(view, cursor);
    if only_closers_after && block {
        TriggerDecision::Suggest(Shape::MultiLine)
    } else {
        TriggerDecision::Suggest(Shape::SingleLine)
    }
}

/// An argument or element list just opened (`(`, `[`, `=>`): its items may span lines.
fn opens_list_before(view: &SourceView<'_>, cursor: usize) -> bool {
    view.token_before(cursor)
        .is_some_and(|token| matches!(token.kind(), "(" | "[" | "=>"))
}

/// Prose: one sentence at a time, except on a blank line of Markdown (a new paragraph).
fn prose_shape(view: &SourceView<'_>, cursor: usize) -> Shape {
    let (before, after) = line_parts(view.rope, cursor);
    if view.lang == Some(Lang::Markdown) && before.trim().is_empty() && after.trim().is_empty() {
        Shape::MultiLine
    } else {
        Shape::SingleLine
    }
}

/// The token before the cursor opens a block: `{`, or a `:` that ends a line in Python (or a
/// `case` label) with the cursor on that line's end or a later blank line.
fn opens_block_before(view: &SourceView<'_>, cursor: usize) -> bool {
    let Some(token) = view.token_before(cursor) else {
        return false;
    };
    match token.kind() {
        "{" => true,
        "do" | "then" | "else" => view.lang == Some(Lang::Bash),
        ":" => colon_opens_block(view, token),
        _ => false,
    }
}

fn colon_opens_block(view: &SourceView<'_>, colon: Node<'_>) -> bool {
    let parent = colon.parent().map(|p| p.kind()).unwrap_or("");
    if parent.contains("case") || parent.ends_with("label") {
        return true; // `case x:` in C, Java, Go, JavaScript
    }
    if view.lang != Some(Lang::Python) {
        return false; // elsewhere a `:` is a type annotation, a ternary or a key
    }
    if parent.ends_with("_statement")
        || parent.ends_with("_definition")
        || parent.ends_with("_clause")
    {
        return true;
    }
    // An incomplete header parses as an ERROR: look at the line's first word instead.
    let line = view.rope.byte_to_line(colon.start_byte());
    let first_word: String = view
        .rope
        .line(line)
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    parent == "ERROR"
        && matches!(
            first_word.as_str(),
            "def"
                | "class"
                | "if"
                | "elif"
                | "else"
                | "for"
                | "while"
                | "with"
                | "try"
                | "except"
                | "finally"
                | "async"
                | "match"
                | "case"
        )
}

/// The cursor is inside a function (or class) body that holds nothing but comments yet.
fn in_empty_body(view: &SourceView<'_>, cursor: usize) -> bool {
    let Some(body) = view.enclosing(cursor, is_body_kind) else {
        return false;
    };
    let mut walker = body.walk();
    let empty = body
        .named_children(&mut walker)
        .all(|child| child.kind().contains("comment"));
    let byte = view.byte_of(cursor);
    empty && body.start_byte() < byte && byte <= body.end_byte()
}

fn is_body_kind(kind: &str) -> bool {
    matches!(
        kind,
        "block"
            | "compound_statement"
            | "statement_block"
            | "declaration_list"
            | "class_body"
            | "field_declaration_list"
            | "constructor_body"
            | "interface_body"
            | "enum_body"
    )
}

fn decide_from_text(rope: &Rope, cursor: usize, trigger: Trigger) -> TriggerDecision {
    let (before, after) = line_parts(rope, cursor);
    let after_trimmed = after.trim();
    if trigger == Trigger::Automatic {
        if after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            return TriggerDecision::Skip {
                reason: "the cursor is inside a word",
            };
        }
        if after_trimmed.chars().count() > MAX_CHARS_RIGHT_OF_CURSOR {
            return TriggerDecision::Skip {
                reason: "too much text right of the cursor",
            };
        }
    }
    let only_closers_after = after_trimmed
        .chars()
        .all(|c| matches!(c, ')' | ']' | '}' | ';' | ','));
    let before_trimmed = before.trim_end();
    let opens_block =
        before_trimmed.ends_with(['{', '(', '[', ':']) || before_trimmed.ends_with("=>");
    if only_closers_after && (before.trim().is_empty() || opens_block) {
        TriggerDecision::Suggest(Shape::MultiLine)
    } else {
        TriggerDecision::Suggest(Shape::SingleLine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_at(fixture: &str, trigger: Trigger) -> TriggerDecision {
        let cursor_byte = fixture.find("$0").unwrap();
        let rope = Rope::from_str(&fixture.replacen("$0", "", 1));
        decide(&rope, rope.byte_to_char(cursor_byte), trigger)
    }

    fn decide_parsed(lang: Lang, fixture: &str, trigger: Trigger) -> TriggerDecision {
        let cursor_byte = fixture.find("$0").unwrap();
        let text = fixture.replacen("$0", "", 1);
        let rope = Rope::from_str(&text);
        let tree = crate::syntax::parse_str(lang, &text).unwrap();
        let view = SourceView {
            rope: &rope,
            lang: Some(lang),
            tree: Some(&tree),
        };
        decide_in(&view, rope.byte_to_char(cursor_byte), trigger)
    }

    #[test]
    fn syntax_decisions() {
        use Lang::*;
        use Shape::*;
        use Trigger::*;
        let table: &[(Lang, &str, Trigger, TriggerDecision)] = &[
            (
                Rust,
                "fn f() {$0}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Rust,
                "fn f() {\n    $0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Rust,
                "fn f() {\n    // todo\n    $0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            // A `:` type annotation is no block opener.
            (
                Rust,
                "fn f() { let x:$0 }",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Rust,
                "fn f() { let x = 1; let y = x +$0 }",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Bash,
                "echo $$0x",
                Automatic,
                TriggerDecision::Skip {
                    reason: "the cursor is inside a word",
                },
            ),
            (
                Bash,
                "for f in *; do$0\ndone",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Markdown,
                "```python\ndef f():$0\n```",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Bash,
                "if true; then\n  $0\nfi",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Rust,
                "fn f() {\n    let v = vec![$0];\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Python,
                "def f(x):$0",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Python,
                "def f(x):\n    $0",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Python,
                "d = {\"a\":$0}",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Python,
                "if x:\n    y = 1\nz = $0",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Go,
                "func f() {$0}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Java,
                "class A { void f() {$0} }",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                JavaScript,
                "function f() {\n  $0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                C,
                "int f(void) {$0}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            // Prose: one sentence at a time, a paragraph on a blank Markdown line.
            (
                Rust,
                "// This function $0\nfn f() {}",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Python,
                "def f():\n    \"\"\"Return $0\"\"\"",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Markdown,
                "# T\n\nA paragraph.\n\n$0\n",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                Markdown,
                "# T\n\nA sentence$0\n",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                Rust,
                "fn f() { let abc = a$0bc; }",
                Automatic,
                TriggerDecision::Skip {
                    reason: "the cursor is inside a word",
                },
            ),
            (
                Rust,
                "fn f() { let abc = a$0bc; }",
                Invoked,
                TriggerDecision::Suggest(SingleLine),
            ),
        ];
        for &(lang, fixture, trigger, expected) in table {
            assert_eq!(
                decide_parsed(lang, fixture, trigger),
                expected,
                "{lang:?} {fixture:?} {trigger:?}"
            );
        }
    }

    #[test]
    fn decisions() {
        use Shape::*;
        use Trigger::*;
        let table: &[(&str, Trigger, TriggerDecision)] = &[
            (
                "fn f() {$0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "fn f() {\n    $0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "let x = foo($0)",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "let x = fo$0",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                "let x = fo$0o",
                Automatic,
                TriggerDecision::Skip {
                    reason: "the cursor is inside a word",
                },
            ),
            (
                "let x = fo$0o",
                Invoked,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                "x = $0 + long_name_here",
                Automatic,
                TriggerDecision::Skip {
                    reason: "too much text right of the cursor",
                },
            ),
            (
                "print(\"a\"$0)",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
        ];
        for &(fixture, trigger, expected) in table {
            assert_eq!(
                decide_at(fixture, trigger),
                expected,
                "{fixture:?} {trigger:?}"
            );
        }
    }
}
