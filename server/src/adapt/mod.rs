//! Adaptation to the user and the repository, fed by the same feedback events the store records:
//!
//! - `text_cache.rs`: a char-level cache of the text written so far and accepted suggestions;
//!   what followed the longest matching context votes for the next token, interpolated with the
//!   model's next-token distribution while decoding (the model crate's `LogitsAdjuster` hook).
//! - `ngram.rs`: a token n-gram cache over the same text, used where the text cache has no match.
//! - `rejections.rs`: rejection memory: a suggestion rejected at a place is not offered there
//!   again; alternatives like often-rejected ones go last.
//!
//! [`AdaptedModel`] wraps any [`CompletionModel`] so the completion pipeline itself stays
//! unchanged; [`AdaptationSink`] is a [`FeedbackSink`] that learns from accept/reject events.

pub mod fallback;
pub mod learner;
pub mod ngram;
pub mod rejections;
pub mod text_cache;
pub mod tuned;

use std::sync::{Arc, Mutex};

use crate::feedback::adaptation::{LearntKind, LearntRow};
use crate::feedback::{FeedbackEvent, FeedbackKind};
use ghostline_model::AdjustInput;
pub use learner::{AdaptationSink, Learner, NoSink};

use crate::model::{
    CancelFlag, CompletionModel, GenerateOutput, GenerateRequest, LogitsAdjuster, ModelCallError,
    ModelInfo,
};
use ngram::NgramCache;
use rejections::RejectionMemory;
use text_cache::{TextCache, Vocabulary};

/// Chars of the text before an accepted suggestion added to the cache with it (its context).
const ACCEPT_CONTEXT_CHARS: usize = 200;

/// Something learnt, waiting for the model thread to take it in.
#[derive(Clone, Debug)]
enum Learnt {
    /// Text the user wrote (for the caches).
    Text(String),
    /// An accepted suggestion and the text before it (for the caches and the rejection
    /// memory's counts).
    Accepted { before: String, text: String },
    /// A rejected suggestion and the text before it.
    Rejected { before: String, text: String },
    /// Forget everything learnt before.
    Reset,
}

impl Learnt {
    /// What a stored row teaches.
    fn of_row(row: &LearntRow) -> Learnt {
        match row.kind {
            LearntKind::Text => Learnt::Text(row.text.clone()),
            LearntKind::Accepted => Learnt::Accepted {
                before: row.before.clone(),
                text: row.text.clone(),
            },
            LearntKind::Rejected => Learnt::Rejected {
                before: row.before.clone(),
                text: row.text.clone(),
            },
        }
    }
}

#[derive(Debug, Default)]
struct InboxState {
    items: Vec<Learnt>,
    /// Bumped by each reset (a load requested before it delivers nothing).
    epoch: u64,
}

/// Where feedback and written text wait until the next generation takes them in. Its lock is
/// only held to push or take, so feeding it never waits for a generation.
#[derive(Clone, Debug, Default)]
pub struct Inbox(Arc<Mutex<InboxState>>);

impl Inbox {
    fn state(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, learnt: Learnt) {
        self.state().items.push(learnt);
    }

    fn take(&self) -> Vec<Learnt> {
        std::mem::take(&mut self.state().items)
    }

    /// The reset count so far.
    fn epoch(&self) -> u64 {
        self.state().epoch
    }

    /// Pushes `rows` (stored earlier) unless a reset came after `epoch`.
    fn push_rows_since(&self, epoch: u64, rows: &[LearntRow]) -> bool {
        let mut state = self.state();
        if state.epoch != epoch {
            return false;
        }
        state.items.extend(rows.iter().map(Learnt::of_row));
        true
    }

    /// Forgets what waits and, once the model thread takes it in, everything learnt.
    pub fn reset(&self) {
        let mut state = self.state();
        state.epoch += 1;
        state.items.clear();
        state.items.push(Learnt::Reset);
    }

    /// Queues text the user wrote (workspace files, edits) for the caches.
    pub fn observe_text(&self, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.push(Learnt::Text(text));
        }
    }

    /// Learns from one feedback event: accepted text feeds the caches, rejections the memory.
    pub fn observe_feedback(&self, event: &FeedbackEvent) {
        if let Some(row) = learnt_row(event) {
            self.push(Learnt::of_row(&row));
        }
    }
}

/// What a feedback event teaches, as the row stored for it: accepted (or the accepted part of
/// a partially accepted) text with the text before it, or a rejected suggestion with its place.
pub fn learnt_row(event: &FeedbackEvent) -> Option<LearntRow> {
    let facts = event.suggestion.as_ref()?;
    let (kind, text, before_chars) = match event.kind {
        FeedbackKind::Accepted => (
            LearntKind::Accepted,
            facts.text.as_str(),
            ACCEPT_CONTEXT_CHARS,
        ),
        FeedbackKind::PartiallyAccepted { accepted_chars } => {
            let end = facts
                .text
                .char_indices()
                .nth(accepted_chars)
                .map_or(facts.text.len(), |(i, _)| i);
            (
                LearntKind::Accepted,
                &facts.text[..end],
                ACCEPT_CONTEXT_CHARS,
            )
        }
        FeedbackKind::Rejected => (
            LearntKind::Rejected,
            facts.text.as_str(),
            rejections::PLACE_CHARS,
        ),
        FeedbackKind::Shown => return None,
    };
    if text.is_empty() {
        return None;
    }
    Some(LearntRow {
        kind,
        key: None,
        before: tail_chars(&facts.context_before, before_chars).to_string(),
        text: text.to_string(),
        at_ms: event.at_ms,
    })
}

/// The adaptation state: what was learnt so far (used on the model thread).
#[derive(Debug, Default)]
pub struct Adaptation {
    text: TextCache,
    cache: NgramCache,
    rejections: RejectionMemory,
    inbox: Inbox,
}

impl Adaptation {
    /// Nothing learnt.
    pub fn new() -> Adaptation {
        Adaptation::default()
    }

    /// Where to send what should be learnt.
    pub fn inbox(&self) -> Inbox {
        self.inbox.clone()
    }

    /// Takes in what the inbox holds (tokenized with `model`'s tokenizer for the token cache).
    pub fn absorb_pending(&mut self, model: &dyn CompletionModel) {
        if !self.text.has_vocabulary()
            && let Some(texts) = model.token_texts()
        {
            self.text.set_vocabulary(Vocabulary::new(texts));
        }
        for learnt in self.inbox.take() {
            match learnt {
                Learnt::Reset => {
                    self.text.clear();
                    self.cache = NgramCache::new();
                    self.rejections = RejectionMemory::default();
                }
                Learnt::Text(text) => {
                    self.text.add(&text);
                    if let Some(tokens) = model.tokenize(&text) {
                        self.cache.add(&tokens);
                    }
                }
                Learnt::Accepted { before, text } => {
                    self.rejections.accept(&text);
                    let text = format!("{before}{text}");
                    // A piece, not running text: what the cache adds next must not read as its
                    // continuation.
                    self.text.add_piece(&text);
                    if let Some(tokens) = model.tokenize(&text) {
                        self.cache.add(&tokens);
                    }
                }
                Learnt::Rejected { before, text } => self.rejections.reject(&before, &text),
            }
        }
    }

    /// The text cache.
    pub fn text_cache(&self) -> &TextCache {
        &self.text
    }

    /// The n-gram cache.
    pub fn cache(&self) -> &NgramCache {
        &self.cache
    }

    /// The rejection memory.
    pub fn rejections(&self) -> &RejectionMemory {
        &self.rejections
    }
}

/// Most bytes of one other open document the text cache searches (its beginning).
pub const OPEN_DOCUMENT_MAX_BYTES: usize = 256 << 10;
/// Most bytes of other open documents searched per request.
pub const OPEN_DOCUMENTS_MAX_BYTES: usize = 512 << 10;

/// Most bytes of the current document the text cache searches: the ones nearest before the
/// cursor. The cache searches every text at each decoding step, so an uncapped 6 MB file cost
/// seconds per completion at its end (docs/benchmarks.md, session 7).
pub const CURRENT_DOCUMENT_MAX_BYTES: usize = 256 << 10;

/// The texts a request's text cache searches as newest: the current `document` before `cursor`
/// (a char offset; its last [`CURRENT_DOCUMENT_MAX_BYTES`]), then the other open `documents`
/// (not `current_uri`), each cut to [`OPEN_DOCUMENT_MAX_BYTES`], [`OPEN_DOCUMENTS_MAX_BYTES`] in
/// all.
pub fn recent_texts(
    document: &ropey::Rope,
    cursor: usize,
    documents: &[(String, crate::documents::Document)],
    current_uri: &str,
) -> Vec<String> {
    let end = cursor.min(document.len_chars());
    let end_byte = document.char_to_byte(end);
    let start_byte = end_byte.saturating_sub(CURRENT_DOCUMENT_MAX_BYTES);
    // The char containing `start_byte` is left out when it starts before it.
    let mut start = document.byte_to_char(start_byte);
    if document.char_to_byte(start) < start_byte {
        start += 1;
    }
    let mut texts = vec![document.slice(start..end).to_string()];
    let mut left = OPEN_DOCUMENTS_MAX_BYTES;
    for (uri, document) in documents {
        if uri == current_uri || left == 0 {
            continue;
        }
        let chars = document.rope.len_chars();
        let bytes = document.rope.len_bytes();
        let keep = bytes.min(OPEN_DOCUMENT_MAX_BYTES).min(left);
        let end = if keep == bytes {
            chars
        } else {
            document.rope.byte_to_char(keep)
        };
        let text = document.rope.slice(..end).to_string();
        left -= text.len().min(left);
        texts.push(text);
    }
    texts
}

/// The last `n` chars of `text`.
fn tail_chars(text: &str, n: usize) -> &str {
    let count = text.chars().count();
    let skip = count.saturating_sub(n);
    let start = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// A [`CompletionModel`] whose generations go through the adaptation: n-gram interpolation while
/// decoding, then rejection memory over the finished alternatives.
pub struct AdaptedModel<'a> {
    inner: &'a mut dyn CompletionModel,
    adaptation: Arc<Mutex<Adaptation>>,
    /// Mix the caches in while decoding (off: the model alone, rejection memory only).
    caches: bool,
    /// Texts searched by the text cache as newer than its own, newest first (the document's
    /// text before the cursor, then other open documents); empty: the prompt's prefix.
    recent: Vec<String>,
}

impl<'a> AdaptedModel<'a> {
    /// Wraps `inner`.
    pub fn new(
        inner: &'a mut dyn CompletionModel,
        adaptation: Arc<Mutex<Adaptation>>,
    ) -> AdaptedModel<'a> {
        AdaptedModel {
            inner,
            adaptation,
            caches: true,
            recent: Vec::new(),
        }
    }

    /// Searches `texts` (newest first: the whole document before the cursor, which the prompt
    /// may cut, then other open documents) rather than the prompt's prefix. Never pass the
    /// current document's text after the cursor: it would be suggested back and dropped.
    pub fn with_recent_texts(mut self, texts: Vec<String>) -> AdaptedModel<'a> {
        self.recent = texts;
        self
    }

    /// Wraps `inner` with the rejection memory only (the fallback of [`fallback::complete`]).
    pub fn without_caches(
        inner: &'a mut dyn CompletionModel,
        adaptation: Arc<Mutex<Adaptation>>,
    ) -> AdaptedModel<'a> {
        AdaptedModel {
            inner,
            adaptation,
            caches: false,
            recent: Vec::new(),
        }
    }
}

impl CompletionModel for AdaptedModel<'_> {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        let mut adaptation = self.adaptation.lock().unwrap_or_else(|p| p.into_inner());
        adaptation.absorb_pending(&*self.inner);
        let caches = self.caches.then(|| Caches {
            text: &adaptation.text,
            tokens: &adaptation.cache,
            recent: self.recent.iter().map(String::as_str).collect(),
        });
        // The rejection memory steers decoding away from lines this user keeps rejecting (also
        // in the fallback without caches).
        let steering = adaptation.rejections.steering();
        let steer = match adaptation.text.vocabulary() {
            Some(vocabulary) if !steering.is_empty() => Some((steering, vocabulary)),
            _ => None,
        };
        let steers = steer.is_some();
        let adjuster = Adjust { caches, steer };
        let adjuster: &dyn LogitsAdjuster = &adjuster;
        let adjuster = (self.caches || steers).then_some(adjuster);
        let mut output = self
            .inner
            .generate_adjusted(req, adjuster, cancel, on_token)?;
        adaptation
            .rejections
            .filter(&req.prefix, &mut output.completions);
        Ok(output)
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        self.inner.tokenize(text)
    }

    fn token_texts(&self) -> Option<Vec<String>> {
        self.inner.token_texts()
    }

    fn forget_reusable_state(&mut self) {
        self.inner.forget_reusable_state();
    }

    fn info(&self) -> ModelInfo {
        self.inner.info()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn health(&self) -> Option<crate::model::Degradation> {
        self.inner.health()
    }
}

/// What adjusts each decoding step: the caches, then the rejection memory's steering.
struct Adjust<'a> {
    caches: Option<Caches<'a>>,
    steer: Option<(rejections::Steering<'a>, &'a Vocabulary)>,
}

impl LogitsAdjuster for Adjust<'_> {
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]) {
        if let Some(caches) = &self.caches {
            caches.adjust(input, logits);
        }
        if let Some((steering, vocabulary)) = &self.steer {
            steering.penalize(input.generated_text, vocabulary, logits);
        }
    }
}

/// The text cache, or the token n-gram cache where the text cache has no match.
struct Caches<'a> {
    text: &'a TextCache,
    tokens: &'a NgramCache,
    recent: Vec<&'a str>,
}

impl LogitsAdjuster for Caches<'_> {
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]) {
        let tail_start = input.prefix.len().saturating_sub(256);
        let start = (tail_start..=input.prefix.len())
            .find(|&i| input.prefix.is_char_boundary(i))
            .unwrap_or(input.prefix.len());
        let context = format!("{}{}", &input.prefix[start..], input.generated_text);
        // The document before the cursor and other open documents (else the prompt's prefix)
        // are searched too: text being written counts before it is fed (never the text after
        // the cursor: the cache would suggest the suffix back, dropped as its duplicate).
        let prefix = [input.prefix];
        let recent = if self.recent.is_empty() {
            &prefix[..]
        } else {
            &self.recent[..]
        };
        if !self.text.adjust_with(recent, &context, logits) {
            let history = [input.prefix_ids, input.generated].concat();
            self.tokens.adjust_history(&history, logits);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::feedback::{FeedbackSink, Receipt, SuggestionFacts};

    struct Counting(Arc<Mutex<Vec<String>>>);

    impl FeedbackSink for Counting {
        fn record(&self, event: FeedbackEvent) -> Receipt {
            self.0.lock().unwrap().push(event.kind.to_string());
            Receipt::none()
        }
    }

    fn event(kind: FeedbackKind, text: &str) -> FeedbackEvent {
        FeedbackEvent {
            suggestion_id: "s1".into(),
            kind,
            at_ms: 0,
            suggestion: Some(SuggestionFacts {
                language_id: "python".into(),
                uri: "file:///a.py".into(),
                model_id: "m".into(),
                trigger_kind: "invoked",
                prompt_tokens: None,
                text: text.into(),
                context_before: "def f(x):\n    ".into(),
                context_after: String::new(),
                from_cache: false,
                since_request_ms: 0.0,
                latency_ms: 0.0,
                stages_json: "{}".into(),
            }),
        }
    }

    fn learnt(inbox: &Inbox) -> Vec<String> {
        inbox
            .take()
            .into_iter()
            .map(|l| match l {
                Learnt::Text(t) => format!("text {t:?}"),
                Learnt::Accepted { before, text } => format!("accepted {text:?} after {before:?}"),
                Learnt::Rejected { before, text } => format!("rejected {text:?} after {before:?}"),
                Learnt::Reset => "reset".to_string(),
            })
            .collect()
    }

    #[test]
    fn the_sink_learns_from_decisions_and_passes_every_event_on() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let enabled = Arc::new(AtomicBool::new(true));
        let inbox = Inbox::default();
        let sink = AdaptationSink::new(
            inbox.clone(),
            Box::new(Counting(seen.clone())),
            enabled.clone(),
        );
        sink.record(event(FeedbackKind::Shown, "return x * 2"));
        sink.record(event(FeedbackKind::Accepted, "return x * 2"));
        sink.record(event(
            FeedbackKind::PartiallyAccepted { accepted_chars: 6 },
            "return y",
        ));
        sink.record(event(FeedbackKind::Rejected, "pass"));
        assert_eq!(
            learnt(&inbox),
            [
                "accepted \"return x * 2\" after \"def f(x):\\n    \"",
                "accepted \"return\" after \"def f(x):\\n    \"",
                "rejected \"pass\" after \"def f(x):\\n    \"",
            ]
        );
        enabled.store(false, std::sync::atomic::Ordering::Relaxed);
        sink.record(event(FeedbackKind::Accepted, "return x * 2"));
        assert!(learnt(&inbox).is_empty(), "adapt off: nothing learnt");
        assert_eq!(
            *seen.lock().unwrap(),
            ["show", "accept", "partial_accept", "reject", "accept"]
        );
    }

    #[test]
    fn recent_texts_are_the_text_before_the_cursor_then_other_open_documents_capped() {
        use crate::documents::Document;
        let big = "é".repeat(OPEN_DOCUMENT_MAX_BYTES);
        let documents: Vec<(String, Document)> = [
            ("file:///a.py", "a = 1\n"),
            (
                "file:///cur.py",
                "never: the current document is passed cut at the cursor",
            ),
            ("file:///big.py", big.as_str()),
            ("file:///c.py", big.as_str()),
            ("file:///d.py", "d = 4\n"),
        ]
        .into_iter()
        .map(|(uri, text)| (uri.to_string(), Document::open(uri, text, 1, "python")))
        .collect();
        let current = ropey::Rope::from_str("cur = 1\n");
        let texts = recent_texts(&current, 6, &documents, "file:///cur.py");
        let lengths: Vec<usize> = texts.iter().map(String::len).collect();
        let rest = OPEN_DOCUMENTS_MAX_BYTES - 6 - OPEN_DOCUMENT_MAX_BYTES;
        assert_eq!(
            lengths,
            [6, 6, OPEN_DOCUMENT_MAX_BYTES, rest],
            "the current document's own text only before the cursor; 512 KiB of others in all"
        );
        assert_eq!(texts[0], "cur = ");
        assert!(texts.iter().all(|t| !t.contains("never")));
    }

    #[test]
    fn a_huge_current_document_is_searched_only_near_the_cursor() {
        // 3-byte chars, so the cut falls inside one: that char is left out whole.
        let text = format!("{}tail", "中".repeat(CURRENT_DOCUMENT_MAX_BYTES));
        let rope = ropey::Rope::from_str(&text);
        let cursor = rope.len_chars() - 2;
        let texts = recent_texts(&rope, cursor, &[], "file:///cur.txt");
        assert_eq!(texts.len(), 1);
        assert!(texts[0].ends_with("中ta"), "everything up to the cursor, nothing after");
        assert!(texts[0].len() <= CURRENT_DOCUMENT_MAX_BYTES);
        assert!(texts[0].len() > CURRENT_DOCUMENT_MAX_BYTES - 3);
        // A cursor past the end is the end.
        let texts = recent_texts(&rope, usize::MAX, &[], "file:///cur.txt");
        assert!(texts[0].ends_with("tail"));
    }

    /// Greedy over three tokens: "t) {" is the model's first choice, "this;" its second, then a
    /// line end. Goes through the adjuster like the engine does.
    struct Greedy;

    const GREEDY_VOCAB: [&str; 3] = ["t) {", "this;", "\n"];

    impl CompletionModel for Greedy {
        fn generate(
            &mut self,
            req: &GenerateRequest,
            cancel: &CancelFlag,
            on_token: &mut dyn FnMut(&str),
        ) -> Result<GenerateOutput, ModelCallError> {
            self.generate_adjusted(req, None, cancel, on_token)
        }

        fn generate_adjusted(
            &mut self,
            req: &GenerateRequest,
            adjuster: Option<&dyn LogitsAdjuster>,
            _cancel: &CancelFlag,
            _on_token: &mut dyn FnMut(&str),
        ) -> Result<GenerateOutput, ModelCallError> {
            let (mut tokens, mut text) = (Vec::new(), String::new());
            while tokens.len() < 4 {
                let mut logits = if tokens.is_empty() {
                    vec![1.5, 1.0, -5.0]
                } else {
                    vec![-5.0, -5.0, 3.0]
                };
                if let Some(adjuster) = adjuster {
                    let input = AdjustInput {
                        prefix: &req.prefix,
                        prefix_ids: &[],
                        generated: &tokens,
                        generated_text: &text,
                    };
                    adjuster.adjust(&input, &mut logits);
                }
                let best = (0..3)
                    .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                    .unwrap();
                if best == 2 {
                    break;
                }
                tokens.push(best as u32);
                text.push_str(GREEDY_VOCAB[best]);
            }
            Ok(GenerateOutput {
                completions: vec![crate::model::Completion {
                    text,
                    tokens,
                    finish: crate::model::FinishReason::Stop,
                }],
                timings: Default::default(),
                prompt_tokens: 1,
                reused_prefix_tokens: 0,
                prefill_tokens: 1,
                decoded_tokens: 1,
            })
        }

        fn token_texts(&self) -> Option<Vec<String>> {
            Some(GREEDY_VOCAB.map(String::from).to_vec())
        }

        fn info(&self) -> ModelInfo {
            crate::test_model::ScriptedModel::new(&[""]).info()
        }

        fn count_tokens(&self, text: &str) -> usize {
            text.len()
        }
    }

    fn greedy(adaptation: &Arc<Mutex<Adaptation>>, prefix: &str, caches: bool) -> String {
        let mut model = Greedy;
        let mut adapted = if caches {
            AdaptedModel::new(&mut model, adaptation.clone())
        } else {
            AdaptedModel::without_caches(&mut model, adaptation.clone())
        };
        let request = GenerateRequest {
            prefix: prefix.to_string(),
            suffix: None,
            max_tokens: 4,
            sampling: crate::model::Sampling::Greedy,
            n: 1,
            stop: vec!["\n".to_string()],
            max_lines: None,
            time_budget: None,
        };
        let output = adapted
            .generate(&request, &CancelFlag::new(), &mut |_| {})
            .unwrap();
        output.completions[0].text.clone()
    }

    #[test]
    fn decoding_steers_away_from_a_line_this_user_keeps_rejecting() {
        let adaptation = Arc::new(Mutex::new(Adaptation::new()));
        let inbox = adaptation.lock().unwrap().inbox();
        assert_eq!(greedy(&adaptation, "a(", true), "t) {");
        let reject = |before: &str| {
            inbox.push(Learnt::Rejected {
                before: before.to_string(),
                text: "t) {".to_string(),
            })
        };
        reject("a(");
        assert_eq!(
            greedy(&adaptation, "b(", true),
            "t) {",
            "rejected once: kept"
        );
        reject("b(");
        // Rejected twice (elsewhere): the model's next choice comes instead, also without caches
        // (the fallback).
        assert_eq!(greedy(&adaptation, "c(", true), "this;");
        assert_eq!(greedy(&adaptation, "c(", false), "this;");
        // Accepted as often as rejected: offered again.
        for _ in 0..2 {
            inbox.push(Learnt::Accepted {
                before: "d(".to_string(),
                text: "t) {".to_string(),
            });
        }
        assert_eq!(greedy(&adaptation, "e(", true), "t) {");
    }

    #[test]
    fn rejections_reach_the_memory_once_absorbed() {
        let mut adaptation = Adaptation::new();
        adaptation
            .inbox()
            .observe_feedback(&event(FeedbackKind::Rejected, "pass"));
        adaptation.inbox().observe_text("x = 1\n");
        let model = crate::test_model::ScriptedModel::new(&["pass"]);
        adaptation.absorb_pending(&model);
        assert!(
            adaptation
                .rejections()
                .rejected_here("def f(x):\n    ", "pass")
        );
        assert_eq!(adaptation.text_cache().len(), 6);
    }
}
