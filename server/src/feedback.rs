//! Feedback events (shown, accepted, partially accepted, rejected) and the sink they go to.
//!
//! **API boundary:** the LSP layer only calls [`FeedbackSink::record`]. Today the sink writes log
//! lines; the feedback store (SQLite) implements the same trait later.

use std::fmt;

/// What happened to a suggestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackKind {
    /// The editor displayed it.
    Shown,
    /// The user accepted all of it.
    Accepted,
    /// The user accepted its first `accepted_chars` chars.
    PartiallyAccepted {
        /// Chars of the suggestion accepted so far.
        accepted_chars: usize,
    },
    /// The user dismissed it.
    Rejected,
}

impl fmt::Display for FeedbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeedbackKind::Shown => "show",
            FeedbackKind::Accepted => "accept",
            FeedbackKind::PartiallyAccepted { .. } => "partial_accept",
            FeedbackKind::Rejected => "reject",
        })
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackEvent {
    /// The suggestion id from the item's command.
    pub suggestion_id: String,
    /// What happened.
    pub kind: FeedbackKind,
    /// Facts about the suggestion when the server still remembers it.
    pub suggestion: Option<SuggestionFacts>,
}

/// What the server knew about the suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestionFacts {
    /// Document language.
    pub language_id: String,
    /// Length of the suggested text in chars.
    pub text_chars: usize,
    /// Served from the cache.
    pub from_cache: bool,
    /// Milliseconds from creating the suggestion to this event.
    pub age_ms: u64,
}

/// Where feedback events go. Implementations must not block the caller for long.
pub trait FeedbackSink: Send + Sync {
    /// Records one event.
    fn record(&self, event: &FeedbackEvent);
}

/// Writes each event as one log line:
/// `feedback event=accept id=<ID>` (`accepted_length=<N>` for partial accepts).
pub struct LogFeedbackSink;

impl FeedbackSink for LogFeedbackSink {
    fn record(&self, event: &FeedbackEvent) {
        let known = event.suggestion.is_some();
        match event.kind {
            FeedbackKind::PartiallyAccepted { accepted_chars } => tracing::info!(
                target: "ghostline::feedback",
                event = %event.kind, id = %event.suggestion_id, accepted_length = accepted_chars, known,
                "feedback"
            ),
            kind => tracing::info!(
                target: "ghostline::feedback",
                event = %kind, id = %event.suggestion_id, known,
                "feedback"
            ),
        }
    }
}
