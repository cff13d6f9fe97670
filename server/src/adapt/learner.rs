//! Where what the adaptation learns comes in, in memory and in the feedback store:
//!
//! - [`Learner`]: feeds the [`Inbox`] (taken in by the model thread before each generation) and
//!   stores the same thing as a row of the feedback database's `adaptation` table, so the next
//!   start rebuilds the caches ([`Learner::load`]); [`Learner::reset`] forgets both.
//! - [`AdaptationSink`]: the [`FeedbackSink`] in front of the store: accepts, partial accepts and
//!   rejections feed the learner, every call then goes on to the store.
//!
//! Nothing here blocks: the inbox lock is held only to push, the store's writer thread does the
//! SQLite work (and delivers the loaded rows from there).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Inbox, Learnt, learnt_row};
use crate::feedback::adaptation::{AdaptationJob, LearntKind, LearntRow};
use crate::feedback::event::now_ms;
use crate::feedback::settings::path_hash;
use crate::feedback::{FeedbackEvent, FeedbackSink, Receipt};

/// Most bytes a closed document teaches. A bigger one is mostly not what the user wrote (a
/// generated or vendored file), and taking it all in cost the next completion 12 s for 6 MB
/// (tokenizing it and counting its n-grams; docs/benchmarks.md, session 7).
pub const CLOSED_DOCUMENT_MAX_BYTES: usize = 256 << 10;
/// Lines kept on each side of a recent edit of a big closed document.
pub const EDIT_CONTEXT_LINES: usize = 40;

/// What a closed `document` teaches: all of it up to [`CLOSED_DOCUMENT_MAX_BYTES`]; past that,
/// the lines around its recent edits (what the user wrote there, [`EDIT_CONTEXT_LINES`] on each
/// side), each region a piece of its own (ended by [`super::text_cache::PIECE_END`]), at most
/// [`CLOSED_DOCUMENT_MAX_BYTES`] in all — nothing when it was not edited.
pub fn closed_document_text(document: &crate::documents::Document) -> String {
    let rope = &document.rope;
    if rope.len_bytes() <= CLOSED_DOCUMENT_MAX_BYTES {
        return rope.to_string();
    }
    let last_line = rope.len_lines().saturating_sub(1);
    let mut regions: Vec<(usize, usize)> = document
        .recent_edits
        .lines()
        .into_iter()
        .map(|line| {
            let line = line.min(last_line);
            (line.saturating_sub(EDIT_CONTEXT_LINES), (line + EDIT_CONTEXT_LINES).min(last_line))
        })
        .collect();
    regions.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in regions {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::new();
    for (start, end) in merged {
        let from = rope.line_to_char(start);
        let to = rope.line_to_char(end + 1);
        let region = rope.slice(from..to).to_string();
        if out.len() + region.len() + super::text_cache::PIECE_END.len() > CLOSED_DOCUMENT_MAX_BYTES {
            break;
        }
        out.push_str(&region);
        out.push_str(super::text_cache::PIECE_END);
    }
    out
}

/// Feeds the adaptation and its stored state.
#[derive(Clone)]
pub struct Learner {
    inbox: Inbox,
    store: Arc<dyn FeedbackSink>,
    enabled: Arc<AtomicBool>,
    loaded: Arc<AtomicBool>,
}

impl Learner {
    /// A learner feeding `inbox` and storing through `store` while `enabled` (the `adapt`
    /// setting) holds.
    pub fn new(inbox: Inbox, store: Arc<dyn FeedbackSink>, enabled: Arc<AtomicBool>) -> Learner {
        Learner {
            inbox,
            store,
            enabled,
            loaded: Arc::new(AtomicBool::new(false)),
        }
    }

    fn on(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn learn(&self, row: LearntRow) {
        self.inbox.push(Learnt::of_row(&row));
        drop(self.store.adaptation(AdaptationJob::Learn(vec![row])));
    }

    /// Text the user wrote in the document `uri` (closed): one stored row per document.
    pub fn observe_document(&self, uri: &str, text: String) {
        if !self.on() || text.is_empty() {
            return;
        }
        self.learn(LearntRow {
            kind: LearntKind::Text,
            key: Some(format!("doc:{}", path_hash(uri))),
            before: String::new(),
            text,
            at_ms: now_ms(),
        });
    }

    /// Learns from a feedback event (accepted text, rejected suggestions).
    pub fn observe_feedback(&self, event: &FeedbackEvent) {
        if !self.on() {
            return;
        }
        if let Some(row) = learnt_row(event) {
            self.learn(row);
        }
    }

    /// Asks the store (once it delivers, once per learner) for what earlier sessions learnt;
    /// the rows go to the inbox unless a reset came in between. Nothing when not recording.
    pub fn load(&self) {
        if self.loaded.load(Ordering::Relaxed) {
            return;
        }
        let inbox = self.inbox.clone();
        let loaded = self.loaded.clone();
        let epoch = inbox.epoch();
        let deliver = move |rows: Vec<LearntRow>| {
            if loaded.swap(true, Ordering::Relaxed) {
                return; // an earlier request delivered already
            }
            let bytes: usize = rows.iter().map(|r| r.before.len() + r.text.len()).sum();
            if inbox.push_rows_since(epoch, &rows) {
                tracing::info!(rows = rows.len(), bytes, "adaptation state loaded");
            }
        };
        drop(
            self.store
                .adaptation(AdaptationJob::Load(Box::new(deliver))),
        );
    }

    /// Forgets everything learnt, in memory (before the next generation) and in the store; the
    /// receipt resolves once the store's rows are deleted.
    pub fn reset(&self) -> Receipt {
        self.inbox.reset();
        self.loaded.store(true, Ordering::Relaxed);
        tracing::info!("adaptation reset");
        self.store.adaptation(AdaptationJob::Clear)
    }
}

/// A [`FeedbackSink`] that feeds the adaptation, then passes every call on to `inner` (the
/// server puts it in front of the store; the replay uses it with [`NoSink`]).
pub struct AdaptationSink {
    inner: Arc<dyn FeedbackSink>,
    learner: Learner,
}

impl AdaptationSink {
    /// A sink feeding `inbox` (while `enabled`, the `adapt` setting) in front of `inner`, which
    /// also stores what is learnt.
    pub fn new(
        inbox: Inbox,
        inner: Box<dyn FeedbackSink>,
        enabled: Arc<AtomicBool>,
    ) -> AdaptationSink {
        let inner: Arc<dyn FeedbackSink> = Arc::from(inner);
        AdaptationSink {
            learner: Learner::new(inbox, inner.clone(), enabled),
            inner,
        }
    }

    /// The learner (for documents and reset).
    pub fn learner(&self) -> Learner {
        self.learner.clone()
    }
}

impl FeedbackSink for AdaptationSink {
    fn record(&self, event: FeedbackEvent) -> Receipt {
        self.learner.observe_feedback(&event);
        self.inner.record(event)
    }

    /// Configures the store, then loads what earlier sessions learnt (first time it records).
    fn configure(&self, settings: &crate::feedback::FeedbackSettings) {
        self.inner.configure(settings);
        self.learner.load();
    }

    fn status(&self) -> crate::feedback::FeedbackStatus {
        self.inner.status()
    }

    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<crate::feedback::FeedbackStatus>> {
        self.inner.subscribe()
    }

    fn flush(&self) -> Receipt {
        self.inner.flush()
    }

    fn adaptation(&self, job: AdaptationJob) -> Receipt {
        self.inner.adaptation(job)
    }
}

/// A sink that records nothing.
pub struct NoSink;

impl FeedbackSink for NoSink {
    fn record(&self, _event: FeedbackEvent) -> Receipt {
        Receipt::none()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_big_closed_document_teaches_only_the_lines_around_its_edits() {
        use super::{CLOSED_DOCUMENT_MAX_BYTES, EDIT_CONTEXT_LINES, closed_document_text};
        use crate::adapt::text_cache::PIECE_END;
        use crate::documents::{Document, TextEdit};
        let small = Document::new("fn a() {}\n", 1, "rust");
        assert_eq!(closed_document_text(&small), "fn a() {}\n");
        let text: String = (0..20_000).map(|n| format!("let line_{n} = {n};\n")).collect();
        assert!(text.len() > CLOSED_DOCUMENT_MAX_BYTES);
        let mut big = Document::new(&text, 1, "rust");
        assert_eq!(closed_document_text(&big), "", "nothing written in it");
        for (line, typed) in [(100, "// mine\n"), (10_000, "// also mine\n"), (120, "// near\n")] {
            let at = big.rope.line_to_char(line);
            big.edit(&TextEdit { range: Some(at..at), text: typed.into() });
        }
        let taught = closed_document_text(&big);
        let pieces: Vec<&str> = taught.split_terminator(PIECE_END).collect();
        assert_eq!(pieces.len(), 2, "the edits at 100 and 120 share a region");
        assert!(pieces[0].contains("// mine\n") && pieces[0].contains("// near\n"));
        assert!(pieces[1].contains("// also mine\n"));
        assert!(pieces[0].starts_with(&format!("let line_{} ", 100 - EDIT_CONTEXT_LINES)));
        assert!(!taught.contains("let line_0 ") && !taught.contains("let line_19999 "));
        assert!(taught.len() < 2 * (2 * EDIT_CONTEXT_LINES + 30) * 20);
    }

    use std::time::{Duration, Instant};

    use super::*;
    use crate::adapt::Adaptation;
    use crate::feedback::{FeedbackKind, FeedbackSettings, Recorder, SuggestionFacts};
    use crate::test_model::ScriptedModel;

    const WAIT: Duration = Duration::from_secs(10);

    fn rejected(text: &str, before: &str) -> FeedbackEvent {
        FeedbackEvent {
            suggestion_id: "s1".into(),
            kind: FeedbackKind::Rejected,
            at_ms: 5,
            suggestion: Some(SuggestionFacts {
                language_id: "python".into(),
                uri: "file:///a.py".into(),
                model_id: "m".into(),
                trigger_kind: "invoked",
                prompt_tokens: None,
                text: text.into(),
                context_before: before.into(),
                context_after: String::new(),
                from_cache: false,
                since_request_ms: 0.0,
                latency_ms: 0.0,
                stages_json: "{}".into(),
            }),
        }
    }

    /// A server session: the product's recorder on `db` behind the adaptation's sink.
    fn session(db: &std::path::Path) -> (AdaptationSink, Adaptation) {
        let adaptation = Adaptation::new();
        let sink = AdaptationSink::new(
            adaptation.inbox(),
            Box::new(Recorder::new()),
            Arc::new(AtomicBool::new(true)),
        );
        sink.configure(&FeedbackSettings {
            path: Some(db.to_path_buf()),
            ..FeedbackSettings::default()
        });
        (sink, adaptation)
    }

    /// Takes in what the inbox holds until `done` (the load arrives from the writer thread).
    fn absorb_until(adaptation: &mut Adaptation, done: impl Fn(&Adaptation) -> bool) -> bool {
        let model = ScriptedModel::new(&["x"]);
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            adaptation.absorb_pending(&model);
            if done(adaptation) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn what_one_session_learns_the_next_loads_until_a_reset() {
        let dir = std::env::temp_dir().join(format!("ghostline-learner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = dir.join("feedback.sqlite3");
        let document = "def frobnicate(widget):\n    return widget.spin(42)\n";
        let before = "class A:\n    def f(self):\n        ";
        {
            let (sink, mut adaptation) = session(&db);
            let learner = sink.learner();
            learner.observe_document("file:///w/a.py", document.to_string());
            sink.record(rejected("pass", before));
            let flushed = sink.flush().durable_blocking(WAIT);
            assert_eq!(flushed, crate::feedback::Durability::Committed);
            assert!(absorb_until(&mut adaptation, |a| {
                a.rejections().rejected_here(before, "pass")
            }));
        }
        // The next session starts with the caches rebuilt from the store.
        let (sink, mut adaptation) = session(&db);
        assert!(
            absorb_until(&mut adaptation, |a| a
                .rejections()
                .rejected_here(before, "pass")),
            "the rejection came back from the store"
        );
        assert_eq!(adaptation.text_cache().len(), document.len());
        // Reset: gone from memory at once and from the store for the session after.
        let receipt = sink.learner().reset();
        assert_eq!(
            receipt.durable_blocking(WAIT),
            crate::feedback::Durability::Committed
        );
        adaptation.absorb_pending(&ScriptedModel::new(&["x"]));
        assert!(!adaptation.rejections().rejected_here(before, "pass"));
        assert_eq!(adaptation.text_cache().len(), 0);
        drop(sink);
        let (sink, mut adaptation) = session(&db);
        // The load is answered (flush comes after it in the writer's queue), with nothing.
        assert_eq!(
            sink.flush().durable_blocking(WAIT),
            crate::feedback::Durability::Committed
        );
        adaptation.absorb_pending(&ScriptedModel::new(&["x"]));
        assert_eq!(adaptation.text_cache().len(), 0);
        assert!(!adaptation.rejections().rejected_here(before, "pass"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_load_requested_before_a_reset_delivers_nothing() {
        let mut adaptation = Adaptation::new();
        let inbox = adaptation.inbox();
        let epoch = inbox.epoch();
        inbox.reset();
        let row = LearntRow {
            kind: LearntKind::Text,
            key: None,
            before: String::new(),
            text: "stale".into(),
            at_ms: 0,
        };
        assert!(!inbox.push_rows_since(epoch, std::slice::from_ref(&row)));
        assert!(inbox.push_rows_since(inbox.epoch(), &[row]));
        adaptation.absorb_pending(&ScriptedModel::new(&["x"]));
        assert_eq!(adaptation.text_cache().len(), 5);
    }
}
