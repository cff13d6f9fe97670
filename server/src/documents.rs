//! Open documents: a Rope per document with its version and language.
//!
//! **Architecture invariant:** only the ordered sync layer (`lsp/sync.rs`) mutates the store, in
//! message-arrival order; everyone else takes a [`Document`] snapshot (an O(1) Rope clone) and
//! never holds the lock across an `.await`. `didClose` removes the document.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use ropey::Rope;

/// One open document. Cloning is cheap (the Rope shares its nodes).
#[derive(Clone, Debug)]
pub struct Document {
    /// The text.
    pub rope: Rope,
    /// The client's version number of this text.
    pub version: i32,
    /// The LSP language id (`rust`, `python`, ...).
    pub language_id: String,
    /// Where the latest edits happened (for recent-edit snippets).
    pub recent_edits: RecentEdits,
}

/// The lines of a document's most recent edits, most recent first, at most
/// [`RecentEdits::CAPACITY`]; an edit near (within [`RecentEdits::MERGE_LINES`]) a remembered one
/// moves that one to the front instead of adding another. Lines shift with later edits above them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecentEdits {
    lines: std::collections::VecDeque<usize>,
}

impl RecentEdits {
    /// Edit locations remembered per document.
    pub const CAPACITY: usize = 16;
    /// Edits this close (in lines) to a remembered one count as the same region.
    pub const MERGE_LINES: usize = 8;

    /// The remembered lines, most recent first.
    pub fn lines(&self) -> Vec<usize> {
        self.lines.iter().copied().collect()
    }

    /// Records an edit at `line` that replaced `removed_lines` line breaks with `added_lines`.
    fn record(&mut self, line: usize, removed_lines: usize, added_lines: usize) {
        for remembered in &mut self.lines {
            if *remembered > line + removed_lines {
                *remembered = (*remembered + added_lines).saturating_sub(removed_lines);
            } else if *remembered > line {
                *remembered = line; // inside the replaced text
            }
        }
        self.lines
            .retain(|&remembered| remembered.abs_diff(line) > Self::MERGE_LINES);
        self.lines.push_front(line);
        self.lines.truncate(Self::CAPACITY);
    }
}

/// One edit in char offsets, already converted from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    /// Chars to replace; `None` replaces the whole text.
    pub range: Option<Range<usize>>,
    /// The new text.
    pub text: String,
}

impl Document {
    /// A new document.
    pub fn new(text: &str, version: i32, language_id: &str) -> Document {
        Document {
            rope: Rope::from_str(text),
            version,
            language_id: language_id.to_string(),
            recent_edits: RecentEdits::default(),
        }
    }

    /// Applies one edit. Ranges are clamped to the text (the edge already validated them).
    pub fn apply(&mut self, edit: &TextEdit) {
        match &edit.range {
            None => self.rope = Rope::from_str(&edit.text),
            Some(range) => {
                let len = self.rope.len_chars();
                let start = range.start.min(len);
                let end = range.end.clamp(start, len);
                let line = self.rope.char_to_line(start);
                let removed_lines = self.rope.char_to_line(end) - line;
                let added_lines = Rope::from_str(&edit.text).len_lines() - 1;
                self.recent_edits.record(line, removed_lines, added_lines);
                self.rope.remove(start..end);
                self.rope.insert(start, &edit.text);
            }
        }
    }
}

/// All open documents, keyed by URI.
#[derive(Clone, Default)]
pub struct DocumentStore {
    documents: Arc<Mutex<HashMap<String, Document>>>,
}

impl DocumentStore {
    /// Locks the store for a short, synchronous update. Never hold the guard across `.await`.
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Document>> {
        // A panic while holding the lock leaves consistent data (each edit is applied whole or
        // not at all), so a poisoned lock is still usable.
        self.documents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A snapshot of one document.
    pub fn snapshot(&self, uri: &str) -> Option<Document> {
        self.lock().get(uri).cloned()
    }

    /// Number of open documents.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no document is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_full_sync_replaces() {
        let mut document = Document::new("hello world", 1, "plaintext");
        document.apply(&TextEdit {
            range: Some(6..11),
            text: "😀 there".into(),
        });
        document.apply(&TextEdit {
            range: Some(0..0),
            text: "¡".into(),
        });
        assert_eq!(document.rope.to_string(), "¡hello 😀 there");
        document.apply(&TextEdit {
            range: Some(100..200),
            text: "!".into(),
        });
        assert_eq!(document.rope.to_string(), "¡hello 😀 there!");
        document.apply(&TextEdit {
            range: None,
            text: "new".into(),
        });
        assert_eq!(document.rope.to_string(), "new");
    }

    #[test]
    fn recent_edits_merge_nearby_shift_with_lines_above_and_stay_bounded() {
        let text: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let mut document = Document::new(&text, 1, "plaintext");
        let at_line = |document: &Document, line: usize| document.rope.line_to_char(line);
        for line in [10, 50, 12] {
            let offset = at_line(&document, line);
            document.apply(&TextEdit { range: Some(offset..offset), text: "x".into() });
        }
        assert_eq!(document.recent_edits.lines(), [12, 50], "12 merges with 10");
        // Two new lines at the top shift both remembered regions down.
        document.apply(&TextEdit { range: Some(0..0), text: "a\nb\n".into() });
        assert_eq!(document.recent_edits.lines(), [0, 14, 52]);
        // Deleting lines 20..30 pulls 52 up by 10.
        let (start, end) = (at_line(&document, 20), at_line(&document, 30));
        document.apply(&TextEdit { range: Some(start..end), text: String::new() });
        assert_eq!(document.recent_edits.lines(), [20, 0, 42]);
        for line in 0..40 {
            let offset = at_line(&document, line * 2 % 80);
            document.apply(&TextEdit { range: Some(offset..offset), text: "y".into() });
        }
        assert!(document.recent_edits.lines().len() <= RecentEdits::CAPACITY);
    }
}
