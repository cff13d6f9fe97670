//! Rules that need the syntax tree: cut a block suggestion where the enclosing block ends, and
//! reject a suggestion that makes the file's parse worse. Both insert the suggestion into a copy
//! of the document and reparse incrementally from the document's tree.
//!
//! **Bounded cost:** an incremental reparse still walks every top-level item, so on a 6 MB file
//! each one cost ~150 ms and a multi-line suggestion needs up to four. Past
//! [`WHOLE_FILE_BYTES`] the snapshot is a window instead: the top-level items around the cursor
//! (the one holding it and one on each side), parsed on their own. Errors are local, so the rules
//! decide the same there (a test checks it on every golden fixture tiled past the limit); when the
//! item holding the cursor is itself over [`WINDOW_MAX_BYTES`] the whole file is used.

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::syntax::{self, Lang};

/// Documents up to this size are reparsed whole by the rules.
pub const WHOLE_FILE_BYTES: usize = 256 << 10;
/// Largest window of top-level items parsed on its own for a bigger document.
pub const WINDOW_MAX_BYTES: usize = 128 << 10;

/// What the tree rules need: the document (or, for a big one, a window of it) with its tree.
#[derive(Clone, Debug)]
pub struct SyntaxSnapshot {
    /// The language.
    pub lang: Lang,
    /// The text: the document, or the window.
    pub rope: Rope,
    /// Its tree.
    pub tree: Tree,
    /// The cursor, in chars of `rope`.
    pub cursor: usize,
}

impl SyntaxSnapshot {
    /// The snapshot for `cursor` (chars) in `rope` with its `tree`: the document itself up to
    /// [`WHOLE_FILE_BYTES`], else a window of top-level items around the cursor.
    pub fn new(lang: Lang, rope: &Rope, tree: &Tree, cursor: usize) -> SyntaxSnapshot {
        SyntaxSnapshot::with_limit(lang, rope, tree, cursor, WHOLE_FILE_BYTES)
    }

    /// The snapshot of the whole document, however big (tests compare it with the window).
    #[cfg(test)]
    pub fn whole(lang: Lang, rope: &Rope, tree: &Tree, cursor: usize) -> SyntaxSnapshot {
        SyntaxSnapshot::with_limit(lang, rope, tree, cursor, usize::MAX)
    }

    fn with_limit(
        lang: Lang,
        rope: &Rope,
        tree: &Tree,
        cursor: usize,
        whole_file_bytes: usize,
    ) -> SyntaxSnapshot {
        let cursor = cursor.min(rope.len_chars());
        let whole = || SyntaxSnapshot {
            lang,
            rope: rope.clone(),
            tree: tree.clone(),
            cursor,
        };
        if rope.len_bytes() <= whole_file_bytes {
            return whole();
        }
        let Some(window) = window_around(tree.root_node(), rope.char_to_byte(cursor)) else {
            return whole();
        };
        let start = rope.byte_to_char(window.start);
        let end = rope.byte_to_char(window.end);
        let text = rope.slice(start..end).to_string();
        match syntax::parse_str(lang, &text) {
            Some(tree) => SyntaxSnapshot {
                lang,
                rope: Rope::from_str(&text),
                tree,
                cursor: cursor - start,
            },
            None => whole(),
        }
    }

    /// The document with `text` inserted at the cursor over `covered` chars, and its tree.
    fn with_insertion(&self, text: &str, covered: usize) -> Option<(Rope, Tree)> {
        let mut rope = self.rope.clone();
        let end = (self.cursor + covered).min(rope.len_chars());
        let mut tree = self.tree.clone();
        let _ = syntax::replace(&mut rope, Some(&mut tree), self.cursor, end, text);
        let tree = syntax::parse_rope(self.lang, &rope, Some(&tree), syntax::PARSE_TIMEOUT)?;
        Some((rope, tree))
    }
}

/// Bytes of the top-level items around `cursor_byte`: from the start of the item before the
/// one holding (or following) the cursor to the end of the item after it. `None` when that is
/// over [`WINDOW_MAX_BYTES`] or the root has too few items for a window to be smaller.
fn window_around(root: Node<'_>, cursor_byte: usize) -> Option<std::ops::Range<usize>> {
    let count = root.child_count() as usize;
    if count < 4 {
        return None;
    }
    // The first item that ends at or after the cursor (the cursor at an item's end belongs to
    // it: what is typed there continues it).
    let mut walker = root.walk();
    let holding = root
        .children(&mut walker)
        .position(|item| item.end_byte() >= cursor_byte)
        .unwrap_or(count - 1);
    let first = root.child(holding.saturating_sub(1) as u32)?;
    let last = root.child((holding + 1).min(count - 1) as u32)?;
    let start = first.start_byte();
    // Past the last item (trailing text) the window runs to the end of the document.
    let end = if holding + 1 >= count {
        root.end_byte()
    } else {
        last.end_byte()
    }
    .max(cursor_byte);
    (end - start <= WINDOW_MAX_BYTES).then_some(start..end)
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
