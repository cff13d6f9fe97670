//! Syntax trees: the language registry ([`Lang`]) and tree-sitter parsing with a timeout.
//!
//! **API boundary:** the rest of the server uses [`Lang`], [`parse_str`], [`parse_rope`] and
//! plain `tree_sitter::Tree`/`Node` values; grammars and parsers stay in here. A parse never
//! fails loudly: it returns `None` (timeout, text too large, grammar error) and callers degrade
//! to plain-text behaviour.

mod lang;
mod view;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{ParseOptions, Parser, Point, Tree};

pub use lang::{CommentStyle, Lang, markdown_inline_language};
pub use tree_sitter::{InputEdit, Node, Tree as SyntaxTree};
pub use view::{Region, SourceView};

/// The time limit of an incremental reparse (typically well under a millisecond per edit).
pub const PARSE_TIMEOUT: Duration = Duration::from_millis(500);

/// The time limit of a first (from scratch) parse. Parsing is linear: a 5 MB Rust file took
/// 0.6–1.5 s on a loaded 2-core machine. Past this the document is served as plain text.
pub const FIRST_PARSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Documents larger than this (in bytes) are not parsed at all: they are served as plain text so
/// that each keystroke stays cheap. 8 MiB keeps the 5 MB fixtures parsed.
pub const MAX_PARSE_BYTES: usize = 8 * 1024 * 1024;

thread_local! {
    // Parsers are reused per thread: creating one allocates, setting a language is cheap.
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// Parses `text` from scratch with [`FIRST_PARSE_TIMEOUT`].
pub fn parse_str(lang: Lang, text: &str) -> Option<Tree> {
    if text.len() > MAX_PARSE_BYTES {
        return None;
    }
    parse_with(
        lang,
        &mut |byte, _| &text.as_bytes()[byte.min(text.len())..],
        None,
        FIRST_PARSE_TIMEOUT,
    )
}

/// Parses a Rope, reusing `old_tree` (already `edit`ed to match the rope) when given.
pub fn parse_rope(
    lang: Lang,
    rope: &Rope,
    old_tree: Option<&Tree>,
    timeout: Duration,
) -> Option<Tree> {
    if rope.len_bytes() > MAX_PARSE_BYTES {
        return None;
    }
    let mut read = |byte: usize, _: Point| -> &[u8] {
        if byte >= rope.len_bytes() {
            return &[];
        }
        let (chunk, chunk_start, _, _) = rope.chunk_at_byte(byte);
        &chunk.as_bytes()[byte - chunk_start..]
    };
    parse_with(lang, &mut read, old_tree, timeout)
}

fn parse_with<'a, F: FnMut(usize, Point) -> &'a [u8]>(
    lang: Lang,
    read: &mut F,
    old_tree: Option<&Tree>,
    timeout: Duration,
) -> Option<Tree> {
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        if let Err(error) = parser.set_language(&lang.ts_language()) {
            tracing::error!(?lang, %error, "grammar does not load; serving plain text");
            return None;
        }
        let deadline = Instant::now() + timeout;
        let mut progress = |_: &tree_sitter::ParseState| {
            if Instant::now() >= deadline {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let options = ParseOptions::new().progress_callback(&mut progress);
        let tree = parser.parse_with_options(read, old_tree, Some(options));
        if tree.is_none() {
            // A halted parser resumes its old work on the next call unless reset.
            parser.reset();
            tracing::warn!(
                ?lang,
                timeout_ms = timeout.as_millis() as u64,
                "parse timed out"
            );
        }
        tree
    })
}

/// The tree-sitter position of char offset `char_offset` in `rope`: (byte offset, row/byte column).
pub fn point_at(rope: &Rope, char_offset: usize) -> (usize, Point) {
    let char_offset = char_offset.min(rope.len_chars());
    let byte = rope.char_to_byte(char_offset);
    let row = rope.char_to_line(char_offset);
    let column = byte - rope.line_to_byte(row);
    (byte, Point { row, column })
}

/// Replaces chars `start..end` of `rope` with `text` and tells `tree` (if any) what changed, so
/// its next parse can be incremental. Returns that edit (callers track where edits happen, or
/// replay it on another tree). `start..end` must lie inside the rope.
pub fn replace(
    rope: &mut Rope,
    tree: Option<&mut Tree>,
    start: usize,
    end: usize,
    text: &str,
) -> InputEdit {
    let (start_byte, start_position) = point_at(rope, start);
    let (old_end_byte, old_end_position) = point_at(rope, end);
    rope.remove(start..end);
    rope.insert(start, text);
    let (new_end_byte, new_end_position) = point_at(rope, start + text.chars().count());
    let edit = InputEdit {
        start_byte,
        old_end_byte,
        new_end_byte,
        start_position,
        old_end_position,
        new_end_position,
    };
    if let Some(tree) = tree {
        tree.edit(&edit);
    }
    edit
}

/// Counts ERROR and MISSING nodes in the subtree of `node` (a measure of how broken it is).
pub fn count_errors(node: Node<'_>) -> usize {
    if !node.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        if current.is_error() || current.is_missing() {
            count += 1;
        }
        if current.has_error() && !current.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == node {
                return count;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grammar_parses_a_small_program() {
        let samples = [
            (Lang::Rust, "fn main() { let x = 1; }"),
            (Lang::Python, "def f(x):\n    return x\n"),
            (Lang::JavaScript, "function f(x) { return <a>{x}</a>; }"),
            (
                Lang::TypeScript,
                "function f(x: number): number { return x; }",
            ),
            (Lang::Tsx, "const a = <div>{1 as number}</div>;"),
            (Lang::Go, "package main\nfunc main() {}\n"),
            (Lang::C, "int main(void) { return 0; }"),
            (
                Lang::Cpp,
                "class A { public: int f() const { return 1; } };",
            ),
            (Lang::Java, "class A { int f() { return 1; } }"),
            (
                Lang::Markdown,
                "# Title\n\nSome *text*.\n\n```rust\nfn f() {}\n```\n",
            ),
            (Lang::Json, "{\"a\": [1, 2, null]}"),
            (Lang::Bash, "for x in a b; do echo \"$x\"; done\n"),
            (Lang::Toml, "[package]\nname = \"x\"\n"),
        ];
        assert_eq!(samples.len(), Lang::ALL.len());
        for (lang, text) in samples {
            let tree = parse_str(lang, text).unwrap_or_else(|| panic!("{lang:?} did not parse"));
            assert!(
                !tree.root_node().has_error(),
                "{lang:?}: {}",
                tree.root_node().to_sexp()
            );
        }
    }

    #[test]
    fn the_inline_markdown_grammar_loads() {
        let mut parser = Parser::new();
        parser.set_language(&markdown_inline_language()).unwrap();
        let tree = parser.parse("some *emphasis* and `code`", None).unwrap();
        assert!(tree.root_node().to_sexp().contains("emphasis"));
    }

    #[test]
    fn errors_are_counted_and_a_rope_parses_like_a_string() {
        let text = "fn main() { let x = ; }\nfn g( {}\n";
        let tree = parse_str(Lang::Rust, text).unwrap();
        assert!(count_errors(tree.root_node()) >= 1);
        let rope = Rope::from_str(text);
        let from_rope = parse_rope(Lang::Rust, &rope, None, PARSE_TIMEOUT).unwrap();
        assert_eq!(from_rope.root_node().to_sexp(), tree.root_node().to_sexp());
        assert_eq!(
            count_errors(parse_str(Lang::Rust, "fn f() {}").unwrap().root_node()),
            0
        );
    }

    #[test]
    fn a_zero_timeout_gives_up_and_the_parser_recovers() {
        let big = "fn f() { let x = 1; }\n".repeat(20_000);
        let rope = Rope::from_str(&big);
        assert!(parse_rope(Lang::Rust, &rope, None, Duration::ZERO).is_none());
        assert!(parse_str(Lang::Rust, "fn ok() {}").is_some());
    }

    #[test]
    fn points_are_in_bytes() {
        let rope = Rope::from_str("é😀\nab");
        assert_eq!(point_at(&rope, 2), (6, Point { row: 0, column: 6 }));
        assert_eq!(point_at(&rope, 4), (8, Point { row: 1, column: 1 }));
        assert_eq!(point_at(&rope, 99), (9, Point { row: 1, column: 2 }));
    }
}
