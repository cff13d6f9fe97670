//! Rules that need the syntax tree: cut a block suggestion where the enclosing block ends, and
//! reject a suggestion that makes the file's parse worse. Both insert the suggestion into a copy
//! of the document and reparse incrementally from the document's tree.

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::syntax::{self, Lang};

/// What the tree rules need: the document as it is, with its tree.
#[derive(Clone, Debug)]
pub struct SyntaxSnapshot {
    /// The language.
    pub lang: Lang,
    /// The text.
    pub rope: Rope,
    /// Its tree.
    pub tree: Tree,
    /// The cursor, in chars.
    pub cursor: usize,
}

impl SyntaxSnapshot {
    /// The document with `text` inserted at the cursor over `covered` chars, and its tree.
    fn with_insertion(&self, text: &str, covered: usize) -> Option<(Rope, Tree)> {
        let mut rope = self.rope.clone();
        let end = (self.cursor + covered).min(rope.len_chars());
        let mut tree = self.tree.clone();
        syntax::replace(&mut rope, Some(&mut tree), self.cursor, end, text);
        let tree = syntax::parse_rope(self.lang, &rope, Some(&tree), syntax::PARSE_TIMEOUT)?;
        Some((rope, tree))
    }
}

/// Cuts a multi-line suggestion where the block enclosing the cursor ends once it is inserted.
/// Whether the suggestion's own closer of that block stays is decided by the parse: the cut
/// with fewer ERROR/MISSING nodes wins (the closer stays on a tie). This keeps a `}` the file
/// lacks and drops one the file already has.
pub fn cut_at_enclosing_block_end(text: &str, snapshot: &SyntaxSnapshot) -> String {
    if !text.contains('\n') {
        return text.to_string();
    }
    let cursor_byte = snapshot.rope.char_to_byte(snapshot.cursor);
    if enclosing_block(snapshot.tree.root_node(), cursor_byte).is_none() {
        return text.to_string();
    }
    let Some((_, tree)) = snapshot.with_insertion(text, 0) else {
        return text.to_string();
    };
    let Some(block) = enclosing_block(tree.root_node(), cursor_byte) else {
        return text.to_string();
    };
    if block.end_byte() <= cursor_byte || block.end_byte() - cursor_byte > text.len() {
        return text.to_string(); // the block ends after the suggestion
    }
    let with_closer = char_floor(text, block.end_byte() - cursor_byte);
    let closer = block
        .child(block.child_count().saturating_sub(1))
        .filter(|closer| {
            is_closer(*closer) && !closer.is_missing() && closer.start_byte() >= cursor_byte
        });
    let Some(closer) = closer else {
        return text[..with_closer].trim_end().to_string();
    };
    let without_closer = char_floor(text, closer.start_byte() - cursor_byte);
    let errors = |cut: usize| {
        let candidate = text[..cut].trim_end();
        snapshot
            .with_insertion(candidate, 0)
            .map_or(usize::MAX, |(_, tree)| {
                syntax::count_errors(tree.root_node())
            })
    };
    let cut = if errors(without_closer) < errors(with_closer) {
        without_closer
    } else {
        with_closer
    };
    text[..cut].trim_end().to_string()
}

fn char_floor(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Whether inserting `text` (over `covered` chars) adds ERROR or MISSING nodes to the tree.
pub fn makes_parse_worse(text: &str, covered: usize, snapshot: &SyntaxSnapshot) -> bool {
    let before = syntax::count_errors(snapshot.tree.root_node());
    match snapshot.with_insertion(text, covered) {
        Some((_, tree)) => syntax::count_errors(tree.root_node()) > before,
        None => false, // could not tell in time: do not punish the suggestion
    }
}

/// The innermost block-like node that starts before `byte` and contains it.
fn enclosing_block(root: Node<'_>, byte: usize) -> Option<Node<'_>> {
    let mut node = root.descendant_for_byte_range(byte, byte);
    while let Some(current) = node {
        if current.start_byte() < byte && byte <= current.end_byte() && is_block(current) {
            return Some(current);
        }
        node = current.parent();
    }
    None
}

fn is_block(node: Node<'_>) -> bool {
    let kind = node.kind();
    let braced = node.child(0).is_some_and(|first| first.kind() == "{");
    braced || kind == "block" || kind.ends_with("_body") || kind == "compound_statement"
}

fn is_closer(node: Node<'_>) -> bool {
    matches!(node.kind(), "}" | "end" | "fi" | "done" | "esac")
}
