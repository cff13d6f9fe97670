//! Feedback events (what the editor reports about a suggestion) and the rules that turn a row's
//! outcome plus a new event into the row's next outcome.

use std::fmt;

use crate::completion::Trigger;
use crate::completion::suggestions::SuggestionRecord;

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

impl FeedbackKind {
    /// Accepts and rejects are never dropped and are acknowledged only once durable.
    pub fn is_decision(self) -> bool {
        !matches!(self, FeedbackKind::Shown)
    }
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
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackEvent {
    /// The suggestion id from the item's command.
    pub suggestion_id: String,
    /// What happened.
    pub kind: FeedbackKind,
    /// When it happened, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Facts about the suggestion when the server still remembers it.
    pub suggestion: Option<SuggestionFacts>,
}

/// What the server knew about the suggestion.
#[derive(Clone, Debug, PartialEq)]
pub struct SuggestionFacts {
    /// Document language.
    pub language_id: String,
    /// The document URI (stored hashed unless raw paths are opted in).
    pub uri: String,
    /// The model that made it.
    pub model_id: String,
    /// `invoked` or `automatic`.
    pub trigger_kind: &'static str,
    /// Prompt length in tokens (`None` when served from the cache).
    pub prompt_tokens: Option<usize>,
    /// The suggested text.
    pub text: String,
    /// Up to [`REPLAY_BEFORE_CHARS`] chars before the cursor (to replay the request).
    pub context_before: String,
    /// Up to [`REPLAY_AFTER_CHARS`] chars after the replaced range.
    pub context_after: String,
    /// Served from the cache.
    pub from_cache: bool,
    /// Milliseconds from the request's arrival to this event (the time to show, for `Shown`).
    pub since_request_ms: f64,
    /// End-to-end milliseconds of the request that produced it.
    pub latency_ms: f64,
    /// Per-stage milliseconds, as a JSON object.
    pub stages_json: String,
}

impl SuggestionFacts {
    /// What the store keeps about a suggestion the server remembers (the replay context is
    /// bounded by [`REPLAY_BEFORE_CHARS`] and [`REPLAY_AFTER_CHARS`]).
    pub fn of(record: &SuggestionRecord) -> SuggestionFacts {
        let rope = &record.document;
        let end = record.replace.end.min(rope.len_chars());
        let start = record.replace.start.min(end);
        let before_start = start.saturating_sub(REPLAY_BEFORE_CHARS);
        let after_end = (end + REPLAY_AFTER_CHARS).min(rope.len_chars());
        SuggestionFacts {
            language_id: record.language_id.clone(),
            uri: record.uri.clone(),
            model_id: record.model_id.clone(),
            trigger_kind: match record.trigger {
                Trigger::Invoked => "invoked",
                Trigger::Automatic => "automatic",
            },
            prompt_tokens: record.prompt_tokens,
            text: record.insert_text.clone(),
            context_before: rope.slice(before_start..start).to_string(),
            context_after: rope.slice(end..after_end).to_string(),
            from_cache: record.from_cache,
            since_request_ms: record.requested.elapsed().as_secs_f64() * 1000.0,
            latency_ms: record.timings.total_ms,
            stages_json: serde_json::to_string(&record.timings).unwrap_or_default(),
        }
    }
}

/// Replay context kept before the cursor (chars).
pub const REPLAY_BEFORE_CHARS: usize = 2048;
/// Replay context kept after the suggestion's range (chars).
pub const REPLAY_AFTER_CHARS: usize = 512;

/// A row's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Shown, no decision yet.
    Shown,
    /// Accepted whole.
    Accepted,
    /// The first `accepted_chars` chars were accepted.
    Partial {
        /// Chars accepted.
        accepted_chars: usize,
    },
    /// Dismissed explicitly.
    Rejected,
    /// Superseded by another suggestion for the same file, or no decision within the window.
    Ignored,
}

impl Outcome {
    /// The name stored in the `outcome` column.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Shown => "shown",
            Outcome::Accepted => "accepted",
            Outcome::Partial { .. } => "partial",
            Outcome::Rejected => "rejected",
            Outcome::Ignored => "ignored",
        }
    }

    /// Reads a stored outcome back.
    pub fn from_row(name: &str, accepted_chars: usize) -> Option<Outcome> {
        Some(match name {
            "shown" => Outcome::Shown,
            "accepted" => Outcome::Accepted,
            "partial" => Outcome::Partial { accepted_chars },
            "rejected" => Outcome::Rejected,
            "ignored" => Outcome::Ignored,
            _ => return None,
        })
    }

    /// The outcome after `kind` happens to a row that is `previous` (`None`: no row yet).
    ///
    /// Rules: an accept always wins; a partial accept keeps the longest accepted prefix and never
    /// undoes an accept; a reject after (partial) acceptance keeps the acceptance (the user took
    /// that text); showing again revives an ignored suggestion (the editor cycled back to it).
    pub fn after(previous: Option<Outcome>, kind: FeedbackKind) -> Outcome {
        match (previous, kind) {
            (_, FeedbackKind::Accepted) => Outcome::Accepted,
            (Some(Outcome::Accepted), _) => Outcome::Accepted,
            (
                Some(Outcome::Partial {
                    accepted_chars: old,
                }),
                FeedbackKind::PartiallyAccepted { accepted_chars },
            ) => Outcome::Partial {
                accepted_chars: old.max(accepted_chars),
            },
            (_, FeedbackKind::PartiallyAccepted { accepted_chars }) => {
                Outcome::Partial { accepted_chars }
            }
            (Some(partial @ Outcome::Partial { .. }), _) => partial,
            (_, FeedbackKind::Rejected) => Outcome::Rejected,
            (Some(Outcome::Rejected), FeedbackKind::Shown) => Outcome::Rejected,
            (None | Some(Outcome::Shown | Outcome::Ignored), FeedbackKind::Shown) => Outcome::Shown,
        }
    }
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn outcome_rules() {
        let kinds = [
            FeedbackKind::Shown,
            FeedbackKind::PartiallyAccepted { accepted_chars: 3 },
            FeedbackKind::Accepted,
            FeedbackKind::Rejected,
        ];
        let previous = [
            None,
            Some(Outcome::Shown),
            Some(Outcome::Partial { accepted_chars: 5 }),
            Some(Outcome::Accepted),
            Some(Outcome::Rejected),
            Some(Outcome::Ignored),
        ];
        let mut table = String::new();
        for before in previous {
            for kind in kinds {
                let after = Outcome::after(before, kind);
                let show = |o: Outcome| match o {
                    Outcome::Partial { accepted_chars } => format!("partial({accepted_chars})"),
                    other => other.name().to_string(),
                };
                table.push_str(&format!(
                    "{:<12} + {:<14} = {}\n",
                    before.map_or("none".to_string(), show),
                    kind.to_string(),
                    show(after)
                ));
            }
        }
        expect![[r#"
            none         + show           = shown
            none         + partial_accept = partial(3)
            none         + accept         = accepted
            none         + reject         = rejected
            shown        + show           = shown
            shown        + partial_accept = partial(3)
            shown        + accept         = accepted
            shown        + reject         = rejected
            partial(5)   + show           = partial(5)
            partial(5)   + partial_accept = partial(5)
            partial(5)   + accept         = accepted
            partial(5)   + reject         = partial(5)
            accepted     + show           = accepted
            accepted     + partial_accept = accepted
            accepted     + accept         = accepted
            accepted     + reject         = accepted
            rejected     + show           = rejected
            rejected     + partial_accept = partial(3)
            rejected     + accept         = accepted
            rejected     + reject         = rejected
            ignored      + show           = shown
            ignored      + partial_accept = partial(3)
            ignored      + accept         = accepted
            ignored      + reject         = rejected
        "#]]
        .assert_eq(&table);
    }

    #[test]
    fn stored_names_round_trip() {
        for outcome in [
            Outcome::Shown,
            Outcome::Accepted,
            Outcome::Partial { accepted_chars: 4 },
            Outcome::Rejected,
            Outcome::Ignored,
        ] {
            assert_eq!(Outcome::from_row(outcome.name(), 4), Some(outcome));
        }
        assert_eq!(Outcome::from_row("maybe", 0), None);
    }
}
