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

pub mod ngram;
pub mod rejections;
pub mod text_cache;

use std::sync::{Arc, Mutex};

use crate::feedback::{FeedbackEvent, FeedbackKind, FeedbackSink, Receipt};
use ghostline_model::AdjustInput;

use crate::model::{
    CancelFlag, CompletionModel, GenerateOutput, GenerateRequest, LogitsAdjuster, ModelCallError,
    ModelInfo,
};
use ngram::NgramCache;
use rejections::RejectionMemory;
use text_cache::{TextCache, Vocabulary};

/// Chars of the text before an accepted suggestion added to the cache with it (its context).
const ACCEPT_CONTEXT_CHARS: usize = 200;

/// The adaptation state: what was learnt so far.
#[derive(Debug, Default)]
pub struct Adaptation {
    text: TextCache,
    cache: NgramCache,
    rejections: RejectionMemory,
    /// Texts waiting to be tokenized (the tokenizer lives with the model, on the model thread).
    pending: Vec<String>,
}

impl Adaptation {
    /// Nothing learnt.
    pub fn new() -> Adaptation {
        Adaptation::default()
    }

    /// Queues text the user wrote (workspace files, edits) for the n-gram cache.
    pub fn observe_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.pending.push(text);
        }
    }

    /// Learns from one feedback event: accepted text feeds the cache, rejections the memory.
    pub fn observe_feedback(&mut self, event: &FeedbackEvent) {
        let Some(facts) = &event.suggestion else {
            return;
        };
        let accepted = match event.kind {
            FeedbackKind::Accepted => facts.text.as_str(),
            FeedbackKind::PartiallyAccepted { accepted_chars } => {
                let end = facts.text.char_indices().nth(accepted_chars).map_or(facts.text.len(), |(i, _)| i);
                &facts.text[..end]
            }
            FeedbackKind::Rejected => {
                self.rejections.reject(&facts.context_before, &facts.text);
                return;
            }
            FeedbackKind::Shown => return,
        };
        if accepted.is_empty() {
            return;
        }
        let before = tail_chars(&facts.context_before, ACCEPT_CONTEXT_CHARS);
        self.pending.push(format!("{before}{accepted}"));
    }

    /// Tokenizes the queued texts into the cache with `model`'s tokenizer.
    pub fn absorb_pending(&mut self, model: &dyn CompletionModel) {
        if !self.text.has_vocabulary()
            && let Some(texts) = model.token_texts()
        {
            self.text.set_vocabulary(Vocabulary::new(texts));
        }
        for text in std::mem::take(&mut self.pending) {
            self.text.add(&text);
            if let Some(tokens) = model.tokenize(&text) {
                self.cache.add(&tokens);
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
}

impl<'a> AdaptedModel<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn CompletionModel, adaptation: Arc<Mutex<Adaptation>>) -> AdaptedModel<'a> {
        AdaptedModel { inner, adaptation }
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
        let adjuster = Caches { text: &adaptation.text, tokens: &adaptation.cache };
        let adjuster: &dyn LogitsAdjuster = &adjuster;
        let mut output = self.inner.generate_adjusted(req, Some(adjuster), cancel, on_token)?;
        adaptation.rejections.filter(&req.prefix, &mut output.completions);
        Ok(output)
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        self.inner.tokenize(text)
    }

    fn token_texts(&self) -> Option<Vec<String>> {
        self.inner.token_texts()
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

/// The text cache, or the token n-gram cache where the text cache has no match.
struct Caches<'a> {
    text: &'a TextCache,
    tokens: &'a NgramCache,
}

impl LogitsAdjuster for Caches<'_> {
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]) {
        let tail_start = input.prefix.len().saturating_sub(256);
        let start = (tail_start..=input.prefix.len()).find(|&i| input.prefix.is_char_boundary(i)).unwrap_or(input.prefix.len());
        let context = format!("{}{}", &input.prefix[start..], input.generated_text);
        if !self.text.adjust_text(&context, logits) {
            let history = [input.prefix_ids, input.generated].concat();
            self.tokens.adjust_history(&history, logits);
        }
    }
}

/// A [`FeedbackSink`] that feeds the adaptation (the server chains it after the store).
#[derive(Clone, Default)]
pub struct AdaptationSink {
    adaptation: Arc<Mutex<Adaptation>>,
}

impl AdaptationSink {
    /// A sink feeding `adaptation`.
    pub fn new(adaptation: Arc<Mutex<Adaptation>>) -> AdaptationSink {
        AdaptationSink { adaptation }
    }
}

impl FeedbackSink for AdaptationSink {
    fn record(&self, event: FeedbackEvent) -> Receipt {
        self.adaptation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe_feedback(&event);
        Receipt::none()
    }
}
