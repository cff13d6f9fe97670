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
}
