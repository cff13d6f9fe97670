//! A read-only view of a document for the pipeline stages: text, language and (maybe) tree,
//! with the few syntax queries the stages share (node at the cursor, previous token, enclosing
//! nodes, prose regions). Offsets in and out are chars.

use ropey::Rope;
use tree_sitter::{Node, Tree};

use super::Lang;

/// Text + language + optional tree. `tree`, when present, describes exactly `rope`.
#[derive(Clone, Copy)]
pub struct SourceView<'a> {
    /// The text.
    pub rope: &'a Rope,
    /// The language; `None` is plain text.
    pub lang: Option<Lang>,
    /// The syntax tree, when the document parsed.
    pub tree: Option<&'a Tree>,
}

/// Where the cursor is, as far as prose vs code goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// Source code.
    Code,
    /// A line or block comment (including doc comments).
    Comment,
    /// A string literal or docstring.
    String,
    /// Markdown text outside code blocks.
    MarkdownText,
}

impl Region {
    /// Whether the region is prose (everything but code).
    pub fn is_prose(self) -> bool {
        self != Region::Code
    }
}

impl<'a> SourceView<'a> {
    /// A view without syntax (plain text).
    pub fn plain(rope: &'a Rope) -> SourceView<'a> {
        SourceView {
            rope,
            lang: None,
            tree: None,
        }
    }

    /// The byte offset of char offset `cursor` (clamped).
    pub fn byte_of(&self, cursor: usize) -> usize {
        self.rope.char_to_byte(cursor.min(self.rope.len_chars()))
    }

    /// The char offset of byte offset `byte` (clamped).
    pub fn char_of(&self, byte: usize) -> usize {
        self.rope.byte_to_char(byte.min(self.rope.len_bytes()))
    }

    /// The smallest node that contains the cursor position (a leaf when the cursor touches one).
    pub fn node_at(&self, cursor: usize) -> Option<Node<'a>> {
        let byte = self.byte_of(cursor);
        self.tree?.root_node().descendant_for_byte_range(byte, byte)
    }

    /// The last leaf that ends at or before the cursor, ignoring whitespace in between.
    pub fn token_before(&self, cursor: usize) -> Option<Node<'a>> {
        let tree = self.tree?;
        let cursor = cursor.min(self.rope.len_chars());
        let mut index = cursor;
        while index > 0 && self.rope.char(index - 1).is_whitespace() {
            index -= 1;
        }
        if index == 0 {
            return None;
        }
        let byte = self.byte_of(index - 1);
        let node = tree.root_node().descendant_for_byte_range(byte, byte + 1)?;
        Some(node)
    }

    /// The innermost ancestor of the cursor's node (itself included) whose kind satisfies `wanted`.
    pub fn enclosing(&self, cursor: usize, wanted: impl Fn(&str) -> bool) -> Option<Node<'a>> {
        let mut node = self.node_at(cursor);
        while let Some(current) = node {
            if wanted(current.kind()) {
                return Some(current);
            }
            node = current.parent();
        }
        None
    }

    /// The kind of text the cursor sits in.
    pub fn region_at(&self, cursor: usize) -> Region {
        let Some(lang) = self.lang else {
            return Region::Code;
        };
        let byte = self.byte_of(cursor);
        // The cursor at the very end of a line comment is still in it (nodes end exclusively).
        if lang != Lang::Markdown && byte > 0 {
            let mut node = self
                .tree
                .and_then(|tree| tree.root_node().descendant_for_byte_range(byte - 1, byte));
            while let Some(current) = node.filter(|n| n.end_byte() == byte) {
                if current.kind().contains("comment") && is_line_comment(current, self.rope) {
                    return Region::Comment;
                }
                node = current.parent();
            }
        }
        let mut node = self.node_at(cursor);
        while let Some(current) = node {
            let kind = current.kind();
            // Strictly inside: right after a closed string or block comment is code again.
            let inside = current.start_byte() < byte && byte < current.end_byte();
            if lang == Lang::Markdown {
                if matches!(
                    kind,
                    "fenced_code_block" | "indented_code_block" | "html_block"
                ) {
                    return Region::Code;
                }
                if matches!(kind, "document" | "section") {
                    return Region::MarkdownText;
                }
            } else if inside && kind.contains("comment") {
                return Region::Comment;
            } else if inside && is_string_kind(kind) {
                return Region::String;
            }
            node = current.parent();
        }
        if lang == Lang::Markdown {
            Region::MarkdownText
        } else {
            Region::Code
        }
    }
}

fn is_string_kind(kind: &str) -> bool {
    matches!(
        kind,
        "string"
            | "string_literal"
            | "raw_string_literal"
            | "interpreted_string_literal"
            | "template_string"
            | "string_content"
            | "text_block"
            | "raw_string"
            | "heredoc_body"
            | "basic_string"
            | "literal_string"
            | "multiline_basic_string"
            | "multiline_literal_string"
    )
}

fn is_line_comment(node: Node<'_>, rope: &Rope) -> bool {
    let start = rope.byte_to_char(node.start_byte().min(rope.len_bytes()));
    let end = rope.byte_to_char(node.end_byte().min(rope.len_bytes()));
    let text: String = rope.slice(start..end.min(start + 4)).chars().collect();
    (text.starts_with("//") || text.starts_with('#') || text.starts_with("--"))
        && !rope.slice(start..end).chars().any(|c| c == '\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_str;

    fn region(lang: Lang, fixture: &str) -> Region {
        let cursor_byte = fixture.find("$0").unwrap();
        let text = fixture.replacen("$0", "", 1);
        let rope = Rope::from_str(&text);
        let tree = parse_str(lang, &text).unwrap();
        let view = SourceView {
            rope: &rope,
            lang: Some(lang),
            tree: Some(&tree),
        };
        view.region_at(rope.byte_to_char(cursor_byte))
    }

    #[test]
    fn regions() {
        use Region::*;
        let table = [
            (Lang::Rust, "fn f() { // note $0\n}", Comment),
            (Lang::Rust, "// note$0", Comment),
            (Lang::Rust, "/// Returns the $0\nfn f() {}", Comment),
            (Lang::Rust, "/* a $0 b */ fn f() {}", Comment),
            (Lang::Rust, "/* a b */$0 fn f() {}", Code),
            (Lang::Rust, "let s = \"hé $0\";", String),
            (Lang::Rust, "let s = \"hé\"$0;", Code),
            (Lang::Rust, "fn f() { $0 }", Code),
            (
                Lang::Python,
                "def f():\n    \"\"\"Compute $0\"\"\"\n",
                String,
            ),
            (Lang::Python, "x = 1  # why $0", Comment),
            (Lang::Go, "// Package x does $0\npackage x\n", Comment),
            (Lang::Markdown, "# Title\n\nSome text $0\n", MarkdownText),
            (Lang::Markdown, "# T\n\n```rust\nfn f() {$0}\n```\n", Code),
            (Lang::Bash, "echo hi # say $0", Comment),
        ];
        for (lang, fixture, expected) in table {
            assert_eq!(region(lang, fixture), expected, "{lang:?} {fixture:?}");
        }
    }
}
