//! Open documents: a Rope per document with its version, language and syntax tree.
//!
//! The tree is kept up to date incrementally: each edit becomes a tree-sitter `InputEdit`
//! (bytes and row/column points computed from the Rope; the edit itself is in chars) and the
//! tree is reparsed from the old one, with a timeout. A failed parse leaves `tree = None` and
//! everything keeps working as plain text.
//!
//! **Deferred parse for big documents:** an incremental reparse walks every top-level item
//! (~150 ms for 6 MB) and a first parse takes ~1 s, too slow for the read loop. Past
//! [`EAGER_REPARSE_BYTES`], opening and [`Document::finish_edits`] leave the (edited) tree
//! unparsed: the document reads as plain text ([`Document::view`] shows no stale tree) until a
//! parse of a snapshot off the read loop (a completion, or the background parse after `didOpen`)
//! is kept by [`DocumentStore::adopt_parse`] — if no edit came in meanwhile.
//!
//! **Bounded cost:** documents over [`syntax::MAX_PARSE_BYTES`] are never parsed. A reparse that
//! times out leaves the document plain text for that version but keeps the edited old tree, so the
//! next edit retries incrementally (a moment of load must not cost a big file its syntax for
//! good); after [`MAX_PARSE_TIMEOUTS`] timeouts in a row the document stays plain text until its
//! whole text is replaced (so a huge file does not cost a timeout on every keystroke).
//!
//! **Architecture invariant:** only the ordered sync layer (`lsp/sync.rs`) mutates the store, in
//! message-arrival order; everyone else takes a [`Document`] snapshot (an O(1) Rope clone) and
//! never holds the lock across an `.await`. `didClose` removes the document.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use ropey::Rope;

use crate::syntax::{self, Lang, SyntaxTree};

/// Documents up to this size are reparsed in the read loop after each `didChange`; bigger ones
/// when a completion needs the tree.
pub const EAGER_REPARSE_BYTES: usize = 1 << 20;

/// Edits remembered to bring an overtaken parse up to date.
pub const EDIT_LOG_CAPACITY: usize = 4096;

/// Reparses that may time out in a row before a document stays plain text.
pub const MAX_PARSE_TIMEOUTS: u8 = 3;

/// One open document. Cloning is cheap (the Rope shares its nodes; a tree clone is a reference
/// count).
#[derive(Clone, Debug)]
pub struct Document {
    /// The text.
    pub rope: Rope,
    /// The client's version number of this text.
    pub version: i32,
    /// The LSP language id (`rust`, `python`, ...).
    pub language_id: String,
    /// The grammar for this document; `None` is plain text.
    pub lang: Option<Lang>,
    /// The syntax tree, when `lang` is known and the last parse succeeded. It describes exactly
    /// the current `rope` unless `tree_is_stale` (edits applied to its positions, not reparsed
    /// yet): read it through [`Document::view`] or [`Document::tree`], which hide a stale tree.
    tree: Option<SyntaxTree>,
    /// Edits were applied to the tree's positions but not yet reparsed.
    tree_is_stale: bool,
    /// Counts edits, so a tree parsed from a snapshot can be matched to this text.
    edits: u64,
    /// The latest edits (at most [`EDIT_LOG_CAPACITY`]), oldest first: `edit_log[0]` is edit
    /// number `edit_log_start + 1`. A tree parsed from an older snapshot is brought up to date
    /// with them ([`Document::adopt_parse`]).
    edit_log: std::collections::VecDeque<tree_sitter::InputEdit>,
    /// See `edit_log`.
    edit_log_start: u64,
    /// The latest successful parse, unedited, and the edit count it describes: the base a
    /// snapshot taken before it landed is rebased on ([`DocumentStore::parse`]).
    last_parse: Option<(SyntaxTree, u64)>,
    /// After a timed-out reparse: the old tree with every edit since applied to its positions,
    /// to reparse from at the next edit. `None` whenever `tree` is `Some`.
    unparsed_tree: Option<SyntaxTree>,
    /// Reparses that timed out in a row.
    parse_timeouts: u8,
    /// [`MAX_PARSE_TIMEOUTS`] reached: stay plain text until the whole text is replaced.
    parse_gave_up: bool,
    /// Tests: this many coming reparses act as if they had timed out.
    #[cfg(test)]
    simulated_timeouts: u8,
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
    /// A new document whose language comes from `language_id` alone; parsed now up to
    /// [`EAGER_REPARSE_BYTES`], else when [`Document::reparse`] is called.
    pub fn new(text: &str, version: i32, language_id: &str) -> Document {
        Document::with_lang(
            text,
            version,
            language_id,
            Lang::from_language_id(language_id),
        )
    }

    /// A new document opened from `uri`: the language comes from `language_id`, falling back to
    /// the URI's file extension.
    pub fn open(uri: &str, text: &str, version: i32, language_id: &str) -> Document {
        Document::with_lang(text, version, language_id, Lang::detect(language_id, uri))
    }

    fn with_lang(text: &str, version: i32, language_id: &str, lang: Option<Lang>) -> Document {
        let mut document = Document {
            rope: Rope::from_str(text),
            version,
            language_id: language_id.to_string(),
            lang,
            tree: None,
            tree_is_stale: true,
            edits: 0,
            edit_log: Default::default(),
            edit_log_start: 0,
            last_parse: None,
            unparsed_tree: None,
            parse_timeouts: 0,
            parse_gave_up: false,
            #[cfg(test)]
            simulated_timeouts: 0,
            recent_edits: RecentEdits::default(),
        };
        document.finish_edits();
        document
    }

    /// Makes the next `count` reparses act as if they had timed out (the timeout itself is
    /// tested in `syntax`).
    #[cfg(test)]
    pub(crate) fn simulate_parse_timeouts(&mut self, count: u8) {
        self.simulated_timeouts = count;
    }

    /// A read-only view (text, language, tree) for the pipeline stages.
    pub fn view(&self) -> syntax::SourceView<'_> {
        syntax::SourceView {
            rope: &self.rope,
            lang: self.lang,
            tree: self.tree(),
        }
    }

    /// The syntax tree of the current text; `None` when there is none or it awaits a reparse.
    pub fn tree(&self) -> Option<&SyntaxTree> {
        self.tree.as_ref().filter(|_| !self.tree_is_stale)
    }

    /// Whether edits await a reparse ([`Document::reparse`]).
    pub fn needs_reparse(&self) -> bool {
        self.tree_is_stale
    }

    /// Ends a batch of edits: reparses now when the document is at most
    /// [`EAGER_REPARSE_BYTES`], else leaves the reparse to whoever needs the tree.
    pub fn finish_edits(&mut self) {
        if self.rope.len_bytes() <= EAGER_REPARSE_BYTES {
            self.reparse();
        }
    }

    /// Takes the parse of `parsed` — a reparsed snapshot of this document — unless this document
    /// is already parsed. When edits came in since the snapshot, they are replayed on its tree
    /// (from the edit log), which becomes the base of the next incremental reparse. Returns
    /// whether it took anything.
    pub fn adopt_parse(&mut self, parsed: &Document) -> bool {
        if !self.tree_is_stale || parsed.tree_is_stale || parsed.edits > self.edits {
            return false;
        }
        if let Some(tree) = &parsed.tree {
            self.last_parse = Some((tree.clone(), parsed.edits));
        }
        if parsed.edits == self.edits {
            self.tree = parsed.tree.clone();
            self.tree_is_stale = false;
            self.unparsed_tree = parsed.unparsed_tree.clone();
            self.parse_timeouts = parsed.parse_timeouts;
            self.parse_gave_up = parsed.parse_gave_up;
            return true;
        }
        let (Some(tree), Some(from)) = (&parsed.tree, parsed.edits.checked_sub(self.edit_log_start))
        else {
            return false; // no tree to bring up to date, or the log no longer reaches back
        };
        self.tree = Some(self.replayed(tree, from));
        self.unparsed_tree = None;
        self.parse_timeouts = 0;
        true
    }

    /// `tree` (describing edit number `edit_log_start + from`) with the later logged edits.
    fn replayed(&self, tree: &SyntaxTree, from: u64) -> SyntaxTree {
        let mut tree = tree.clone();
        for edit in self.edit_log.iter().skip(from as usize) {
            tree.edit(edit);
        }
        tree
    }

    /// Takes `tree`, a parse of this document at edit number `at` newer than any this snapshot
    /// knew, as the base of its next reparse (the later edits replayed on it).
    fn rebase(&mut self, tree: &SyntaxTree, at: u64) {
        let newer = self.last_parse.as_ref().is_none_or(|(_, known)| *known < at);
        let Some(from) = at.checked_sub(self.edit_log_start) else {
            return;
        };
        if !self.tree_is_stale || !newer || at > self.edits || self.parse_gave_up {
            return;
        }
        self.tree = Some(self.replayed(tree, from));
        self.unparsed_tree = None;
    }

    /// Applies one edit and brings the tree up to date.
    pub fn apply(&mut self, edit: &TextEdit) {
        self.edit(edit);
        self.reparse();
    }

    /// Applies one edit to the text and to the tree's positions, without reparsing; call
    /// [`Document::reparse`] after the last edit of a batch. Ranges are clamped to the text (the
    /// edge already validated them).
    pub fn edit(&mut self, edit: &TextEdit) {
        self.edits += 1;
        let Some(range) = &edit.range else {
            self.edit_log.clear();
            self.edit_log_start = self.edits;
            self.last_parse = None;
            self.rope = Rope::from_str(&edit.text);
            self.tree = None;
            self.tree_is_stale = true;
            self.unparsed_tree = None;
            self.parse_timeouts = 0;
            self.parse_gave_up = false;
            return;
        };
        let len = self.rope.len_chars();
        let start = range.start.min(len);
        let end = range.end.clamp(start, len);
        let tree = self.tree.as_mut().or(self.unparsed_tree.as_mut());
        let input_edit = syntax::replace(&mut self.rope, tree, start, end, &edit.text);
        let added_lines = edit.text.chars().filter(|&c| c == '\n').count();
        self.recent_edits.record(
            input_edit.start_position.row,
            input_edit.old_end_position.row - input_edit.start_position.row,
            added_lines,
        );
        self.edit_log.push_back(input_edit);
        if self.edit_log.len() > EDIT_LOG_CAPACITY {
            self.edit_log.pop_front();
            self.edit_log_start += 1;
        }
        self.tree_is_stale = true;
    }

    /// Reparses after edits (incrementally from the edited old tree when there is one).
    pub fn reparse(&mut self) {
        if !self.tree_is_stale {
            return;
        }
        self.tree_is_stale = false;
        let Some(lang) = self.lang else {
            self.tree = None;
            return;
        };
        if self.parse_gave_up || self.rope.len_bytes() > syntax::MAX_PARSE_BYTES {
            self.tree = None;
            return;
        }
        let old_tree = self.tree.take().or(self.unparsed_tree.take());
        let timeout = match old_tree {
            Some(_) => syntax::PARSE_TIMEOUT,
            None => syntax::FIRST_PARSE_TIMEOUT,
        };
        self.tree = syntax::parse_rope(lang, &self.rope, old_tree.as_ref(), timeout);
        #[cfg(test)]
        if self.simulated_timeouts > 0 {
            self.simulated_timeouts -= 1;
            self.tree = None;
        }
        if let Some(tree) = &self.tree {
            self.last_parse = Some((tree.clone(), self.edits));
            self.parse_timeouts = 0;
            return;
        }
        self.parse_timeouts += 1;
        // A first parse that timed out (FIRST_PARSE_TIMEOUT, seconds) is not worth retrying.
        if old_tree.is_some() && self.parse_timeouts < MAX_PARSE_TIMEOUTS {
            tracing::info!(
                ?lang,
                bytes = self.rope.len_bytes(),
                timeouts = self.parse_timeouts,
                "reparse timed out; plain text for this version, the next edit retries"
            );
            self.unparsed_tree = old_tree;
        } else {
            tracing::warn!(
                ?lang,
                bytes = self.rope.len_bytes(),
                "no syntax tree for this document until its text is replaced; serving plain text"
            );
            self.parse_gave_up = true;
        }
    }
}

/// All open documents, keyed by URI.
#[derive(Clone, Default)]
pub struct DocumentStore {
    documents: Arc<Mutex<HashMap<String, Document>>>,
    /// URIs being parsed off the read loop ([`DocumentStore::parse`]): one parse per document
    /// at a time, the next waits and starts from its result.
    parsing: Arc<(Mutex<std::collections::HashSet<String>>, std::sync::Condvar)>,
}

/// Longest a parse waits for another parse of the same document.
const PARSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

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

    /// A snapshot of one document with its tree up to date: a deferred reparse (see the module
    /// docs) runs on the snapshot, outside the lock, and the store keeps the result when no
    /// edit came in meanwhile. Call it off the async runtime's threads: it may take a while.
    pub fn parsed_snapshot(&self, uri: &str) -> Option<Document> {
        let mut document = self.snapshot(uri)?;
        self.parse(uri, &mut document);
        Some(document)
    }

    /// Brings `document`, a snapshot of `uri`, up to date (nothing when it is): after any parse
    /// of `uri` already running (its result, edits replayed, is the better base), then offered
    /// to the store ([`DocumentStore::adopt_parse`]). Blocks: call it off the async runtime.
    pub fn parse(&self, uri: &str, document: &mut Document) {
        if !document.needs_reparse() {
            return;
        }
        let (parsing, landed) = &*self.parsing;
        let mut running = parsing.lock().unwrap_or_else(|p| p.into_inner());
        let waited = std::time::Instant::now();
        while running.contains(uri) && waited.elapsed() < PARSE_WAIT {
            running = landed
                .wait_timeout(running, PARSE_WAIT)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        running.insert(uri.to_string());
        drop(running);
        // Done (or unwound) here: the next parse of `uri` may go.
        struct Running<'a>(&'a DocumentStore, &'a str);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                let (parsing, landed) = &*self.0.parsing;
                parsing.lock().unwrap_or_else(|p| p.into_inner()).remove(self.1);
                landed.notify_all();
            }
        }
        let _running = Running(self, uri);
        let newest = self.lock().get(uri).and_then(|d| d.last_parse.clone());
        if let Some((tree, at)) = newest {
            document.rebase(&tree, at);
        }
        document.reparse();
        self.adopt_parse(uri, document);
    }

    /// Keeps the parse of `parsed` (a reparsed snapshot of `uri`) when no edit came in since.
    pub fn adopt_parse(&self, uri: &str, parsed: &Document) -> bool {
        self.lock()
            .get_mut(uri)
            .is_some_and(|document| document.adopt_parse(parsed))
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

    /// A seeded generator for the property test (xorshift64*), so failures reproduce.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "x", "é", "😀", "中文", " ", "\n", "\r\n", "    ", "{", "}", "(", ")", "[", "]", ";", ":",
        ",", "\"", "'", "#", "//", "/*", "*/", "fn ", "def ", "let ", "if ", "return ", "= ", "1",
        "a_b", "<div>", "</div>", "- ", "```", "\t", "ß", "\u{2028}", "\r",
    ];

    fn random_text(random: &mut Random) -> String {
        (0..random.below(4))
            .map(|_| PIECES[random.below(PIECES.len())])
            .collect()
    }

    fn fresh_sexp(lang: Lang, rope: &Rope) -> String {
        let tree = syntax::parse_str(lang, &rope.to_string()).expect("a small text parses");
        tree.root_node().to_sexp()
    }

    #[test]
    fn incremental_parse_equals_fresh_parse_under_random_edits() {
        let seeds = [
            (Lang::Rust, "fn main() {\n    let s = \"héllo\";\n}\n"),
            (Lang::Python, "def f(x):\n    return x  # é\n"),
            (Lang::JavaScript, "function f() { return <a>{1}</a>; }\n"),
            (Lang::TypeScript, "let x: number = 1;\n"),
            (Lang::Tsx, "const a = <b>😀</b>;\n"),
            (Lang::Go, "package main\n\nfunc main() {}\n"),
            (Lang::C, "int main(void) { return 0; }\n"),
            (Lang::Cpp, "struct A { int f(); };\n"),
            (Lang::Java, "class A { void f() {} }\n"),
            (Lang::Markdown, "# Titre\n\nDu texte.\n\n```\ncode\n```\n"),
            (Lang::Json, "{\"a\": [1, \"ü\"]}\n"),
            (Lang::Bash, "echo \"$x\" # 中\n"),
            (Lang::Toml, "[a]\nb = \"c\"\n"),
        ];
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for (lang, text) in seeds {
            let mut document = Document::new(text, 1, lang.language_id());
            assert_eq!(document.lang, Some(lang));
            for step in 0..150 {
                // Mostly single edits; every few steps a batch reparsed once (as didChange does).
                let batch = if step % 5 == 0 {
                    1 + random.below(3)
                } else {
                    1
                };
                for _ in 0..batch {
                    let len = document.rope.len_chars();
                    let start = random.below(len + 1);
                    let end = (start + random.below(6)).min(len);
                    document.edit(&TextEdit {
                        range: Some(start..end),
                        text: random_text(&mut random),
                    });
                }
                document.reparse();
                let tree = document
                    .tree
                    .as_ref()
                    .expect("small documents always parse");
                let expected = fresh_sexp(lang, &document.rope);
                assert_eq!(
                    tree.root_node().to_sexp(),
                    expected,
                    "{lang:?} step {step}: {:?}",
                    document.rope.to_string()
                );
                assert_eq!(tree.root_node().end_byte(), document.rope.len_bytes());
            }
        }
    }

    #[test]
    fn unknown_languages_fall_back_to_the_extension_or_plain_text() {
        let document = Document::open("file:///p/a.py", "x = 1\n", 1, "plaintext");
        assert_eq!(document.lang, Some(Lang::Python));
        assert!(document.tree.is_some());
        let mut plain = Document::open("file:///p/notes.txt", "hello", 1, "plaintext");
        assert_eq!(plain.lang, None);
        plain.apply(&TextEdit {
            range: Some(5..5),
            text: " world".into(),
        });
        assert!(plain.tree.is_none());
        assert_eq!(plain.rope.to_string(), "hello world");
    }

    #[test]
    fn a_timed_out_reparse_is_retried_incrementally_then_given_up() {
        let mut document = Document::new("fn a() {\n    let x = 1;\n}\n", 1, "rust");
        let type_at = |document: &mut Document, line: usize, text: &str| {
            let at = document.rope.line_to_char(line);
            document.apply(&TextEdit { range: Some(at..at), text: text.into() });
        };
        // One timeout: plain text for that version only; the next edit reparses from the old
        // tree with both edits applied to it, and matches a fresh parse of the whole text.
        document.simulate_parse_timeouts(1);
        type_at(&mut document, 1, "    let y = 2;\n");
        assert!(document.tree.is_none());
        type_at(&mut document, 0, "use std::fmt;\n");
        let tree = document.tree.as_ref().expect("the retry parses");
        assert_eq!(tree.root_node().to_sexp(), fresh_sexp(Lang::Rust, &document.rope));
        assert_eq!(tree.root_node().end_byte(), document.rope.len_bytes());
        // Timeouts in a row: plain text until the whole text is replaced.
        document.simulate_parse_timeouts(MAX_PARSE_TIMEOUTS);
        for line in 0..MAX_PARSE_TIMEOUTS as usize {
            type_at(&mut document, line, "// x\n");
            assert!(document.tree.is_none());
        }
        type_at(&mut document, 0, "// y\n");
        assert!(document.tree.is_none(), "given up");
        document.apply(&TextEdit { range: None, text: "fn d() {}\n".into() });
        assert!(document.tree.is_some(), "a full replacement parses again");
    }

    #[test]
    fn a_big_document_defers_its_reparse_to_whoever_needs_the_tree() {
        let line = |n: usize| format!("fn f{n}() {{ let x = {n}; }}\n");
        let text: String = (0..).map(line).scan(0, |bytes, l| {
            *bytes += l.len();
            (*bytes <= EAGER_REPARSE_BYTES + 4096).then_some(l)
        }).collect();
        assert!(text.len() > EAGER_REPARSE_BYTES);
        let uri = "file:///big.rs";
        let store = DocumentStore::default();
        store.lock().insert(uri.into(), Document::open(uri, &text, 1, "rust"));
        assert!(store.snapshot(uri).unwrap().tree().is_none(), "opening defers the parse");
        assert!(store.parsed_snapshot(uri).unwrap().tree().is_some());
        assert!(store.snapshot(uri).unwrap().tree().is_some(), "and the store keeps it");
        let type_at_top = |store: &DocumentStore, typed: &str| {
            let mut documents = store.lock();
            let document = documents.get_mut(uri).unwrap();
            document.edit(&TextEdit { range: Some(0..0), text: typed.into() });
            document.finish_edits();
        };
        type_at_top(&store, "// a\n");
        let stale = store.snapshot(uri).unwrap();
        assert!(stale.needs_reparse());
        assert!(stale.tree().is_none() && stale.view().tree.is_none(), "no stale tree is shown");
        // A completion parses its snapshot; the store keeps that tree.
        let parsed = store.parsed_snapshot(uri).unwrap();
        let tree = parsed.tree().expect("parsed");
        assert_eq!(tree.root_node().to_sexp(), fresh_sexp(Lang::Rust, &parsed.rope));
        let stored = store.snapshot(uri).unwrap();
        assert!(!stored.needs_reparse() && stored.tree().is_some(), "adopted");
        // An edit that comes in while a snapshot is parsed: the parse is brought up to date
        // with it (replayed from the edit log) and is the base of the next reparse.
        type_at_top(&store, "// b\n");
        let mut racing = store.snapshot(uri).unwrap();
        type_at_top(&store, "// c\n");
        racing.reparse();
        assert!(store.adopt_parse(uri, &racing));
        assert!(store.snapshot(uri).unwrap().needs_reparse());
        assert!(store.snapshot(uri).unwrap().tree().is_none());
        let parsed = store.parsed_snapshot(uri).unwrap();
        assert!(parsed.rope.to_string().starts_with("// c\n// b\n// a\nfn f0()"));
        assert_eq!(
            parsed.tree().unwrap().root_node().to_sexp(),
            fresh_sexp(Lang::Rust, &parsed.rope)
        );
        // A snapshot taken before a parse landed starts from that parse, its own later edits
        // replayed on it.
        type_at_top(&store, "// d\n");
        let landed_at = store.snapshot(uri).unwrap();
        type_at_top(&store, "// e\n");
        let mut late = store.snapshot(uri).unwrap();
        let mut landed = landed_at.clone();
        landed.reparse();
        assert!(store.adopt_parse(uri, &landed));
        store.parse(uri, &mut late);
        assert!(late.rope.to_string().starts_with("// e\n// d\n// c\n"));
        assert_eq!(
            late.tree().unwrap().root_node().to_sexp(),
            fresh_sexp(Lang::Rust, &late.rope)
        );
        // A small document reparses at once.
        let mut small = Document::new("fn a() {}\n", 1, "rust");
        small.edit(&TextEdit { range: Some(0..0), text: "// x\n".into() });
        small.finish_edits();
        assert!(!small.needs_reparse() && small.tree().is_some());
    }

    #[test]
    fn a_parse_overtaken_by_edits_is_brought_up_to_date_and_reparses_right() {
        let mut random = Random(0x5EED_0F_ED17);
        for (lang, text) in [
            (Lang::Rust, "fn main() {\n    let s = \"héllo\";\n}\n"),
            (Lang::Python, "def f(x):\n    return x  # é\n"),
            (Lang::JavaScript, "function f() { return [1, 2]; }\n"),
        ] {
            let mut document = Document::new(text, 1, lang.language_id());
            let mut random_edit = |document: &mut Document| {
                let len = document.rope.len_chars();
                let start = random.below(len + 1);
                let end = (start + random.below(6)).min(len);
                document.edit(&TextEdit { range: Some(start..end), text: random_text(&mut random) });
            };
            for step in 0..120 {
                // A snapshot with an edit to parse is parsed while 1–3 more edits come in, then
                // handed back.
                random_edit(&mut document);
                let mut snapshot = document.clone();
                for _ in 0..1 + step % 3 {
                    random_edit(&mut document);
                }
                snapshot.reparse();
                assert!(document.adopt_parse(&snapshot), "{lang:?} step {step}");
                assert!(document.tree().is_none(), "the replayed tree still awaits its reparse");
                if step % 4 == 0 {
                    random_edit(&mut document);
                }
                document.reparse();
                let tree = document.tree().expect("small documents always parse");
                assert_eq!(
                    tree.root_node().to_sexp(),
                    fresh_sexp(lang, &document.rope),
                    "{lang:?} step {step}: {:?}",
                    document.rope.to_string()
                );
            }
        }
    }

    #[test]
    fn a_full_replacement_reparses_from_scratch() {
        let mut document = Document::new("fn a() {}", 1, "rust");
        document.apply(&TextEdit {
            range: None,
            text: "struct B;".into(),
        });
        let tree = document.tree.as_ref().unwrap();
        assert_eq!(
            tree.root_node().to_sexp(),
            "(source_file (struct_item name: (type_identifier)))"
        );
    }

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
