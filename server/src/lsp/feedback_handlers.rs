//! Feedback from the editor — shown, accepted (command), partially accepted, rejected (command or
//! notification) — goes to the feedback sink; an accept also starts the next suggestion
//! speculatively so it is cached by the time the editor asks.
//!
//! Durability: the `ghostline.accept` / `ghostline.reject` commands are answered only after the
//! feedback writer committed the event (or after [`DECISION_ACK_TIMEOUT`], or at once when
//! recording is off), so a client that received the answer knows the decision is on disk.
//! Notifications (show, partial accept, `ghostline/reject`) have no answer to wait for.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::ext::FeedbackStats;
use super::guard;
use super::server::Backend;
use super::state::Shared;
use crate::completion::cache::CacheKeyText;
use crate::completion::inflight::Speculation;
use crate::completion::suggestions::SuggestionRecord;
use crate::completion::{Trigger, TriggerDecision, complete_rope, trigger};
use crate::feedback::event::now_ms;
use crate::feedback::{Durability, FeedbackEvent, FeedbackKind, Receipt, SuggestionFacts};
use crate::model::CancelFlag;
use crate::model::worker::ModelState;
use crate::text::utf16_prefix_to_chars;

/// The longest an accept/reject command waits for its commit before it is answered anyway.
pub const DECISION_ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Finds a suggestion id in what clients send: a bare string, `{suggestionId}`, `{id}`, or an
/// `{item}` / item whose `command.arguments[0]` is the id.
pub fn suggestion_id_in(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => {
            for key in ["suggestionId", "id"] {
                if let Some(Value::String(id)) = object.get(key) {
                    return Some(id.clone());
                }
            }
            if let Some(item) = object.get("item") {
                return suggestion_id_in(item);
            }
            object
                .get("command")
                .and_then(|command| command.pointer("/arguments/0"))
                .and_then(suggestion_id_in)
        }
        _ => None,
    }
}

impl Backend {
    /// `textDocument/didShowCompletion`.
    pub async fn did_show_completion(&self, params: Value) {
        guard::notification("textDocument/didShowCompletion", async {
            match suggestion_id_in(&params) {
                Some(id) => drop(self.feedback(&id, FeedbackKind::Shown)),
                None => {
                    tracing::warn!(%params, "didShowCompletion without a suggestion id; ignored")
                }
            }
        })
        .await
    }

    /// `textDocument/didPartiallyAcceptCompletion` with `acceptedLength` in UTF-16 code units of
    /// the item's `insertText`.
    pub async fn did_partially_accept_completion(&self, params: Value) {
        guard::notification("textDocument/didPartiallyAcceptCompletion", async {
            let Some(id) = suggestion_id_in(&params) else {
                tracing::warn!(%params, "didPartiallyAcceptCompletion without a suggestion id; ignored");
                return;
            };
            let Some(accepted_units) = params.get("acceptedLength").and_then(Value::as_u64) else {
                tracing::warn!(%params, "didPartiallyAcceptCompletion without a numeric acceptedLength; ignored");
                return;
            };
            let accepted_chars = match self.shared.suggestions.get(&id) {
                Some(record) => utf16_prefix_to_chars(&record.insert_text, accepted_units as usize),
                None => accepted_units as usize,
            };
            drop(self.feedback(&id, FeedbackKind::PartiallyAccepted { accepted_chars }));
        })
        .await
    }

    /// `ghostline/reject` notification; an unknown id is not an error.
    pub async fn reject_notification(&self, params: Value) {
        guard::notification("ghostline/reject", async {
            match suggestion_id_in(&params) {
                Some(id) => drop(self.reject(&id)),
                None => {
                    tracing::warn!(%params, "ghostline/reject without a suggestion id; ignored")
                }
            }
        })
        .await
    }

    /// The `ghostline.accept` command.
    pub(crate) fn accept(&self, id: &str) -> Receipt {
        let receipt = self.feedback(id, FeedbackKind::Accepted);
        if let Some(record) = self.shared.suggestions.get(id) {
            self.start_speculation(record);
        }
        receipt
    }

    /// The `ghostline.reject` command and notification.
    pub(crate) fn reject(&self, id: &str) -> Receipt {
        self.feedback(id, FeedbackKind::Rejected)
    }

    /// The `ghostline.resetAdaptation` command: forgets what the adaptation learnt (in memory
    /// before the next generation, and in the feedback store) and the cached suggestions it
    /// shaped. Answers `{"stored": true}` once the store's rows are deleted, or `{"stored":
    /// false, "reason"}` when there is no store to clear (recording off) or it failed.
    pub(crate) async fn reset_adaptation(&self) -> Value {
        let receipt = self.shared.learner.reset();
        self.shared.cache().clear();
        super::tuned::reset(&self.shared);
        match receipt.durable(DECISION_ACK_TIMEOUT).await {
            Durability::Committed => serde_json::json!({"stored": true}),
            Durability::NotRecorded(reason) => serde_json::json!({"stored": false, "reason": reason}),
        }
    }

    /// Waits until a decision is committed (bounded), logging when it could not be.
    pub(crate) async fn await_durable(&self, id: &str, receipt: Receipt) {
        if let Durability::NotRecorded(reason) = receipt.durable(DECISION_ACK_TIMEOUT).await {
            tracing::debug!(
                id,
                reason,
                "feedback decision answered without a durable record"
            );
        }
    }

    fn feedback(&self, id: &str, kind: FeedbackKind) -> Receipt {
        let record = self.shared.suggestions.get(id);
        {
            let mut stats = self.shared.stats();
            match kind {
                FeedbackKind::Shown => stats.shown += 1,
                FeedbackKind::Accepted => stats.accepted += 1,
                FeedbackKind::PartiallyAccepted { .. } => stats.partially_accepted += 1,
                FeedbackKind::Rejected => stats.rejected += 1,
            }
            if record.is_none() {
                stats.unknown_suggestion_ids += 1;
            }
        }
        let suggestion = record.map(|record| SuggestionFacts::of(&record));
        self.shared.feedback.record(FeedbackEvent {
            suggestion_id: id.to_string(),
            kind,
            at_ms: now_ms(),
            suggestion,
        })
    }

    /// Computes the suggestion for the document as it will be after `record` is inserted, on the
    /// model thread, and caches it. A request for that position waits for it instead of
    /// starting its own generation.
    fn start_speculation(&self, record: SuggestionRecord) {
        let config = self.shared.config();
        if !config.enable || !matches!(self.shared.worker.state(), ModelState::Ready { .. }) {
            return;
        }
        let mut rope = record.document.clone();
        let replace_end = record.replace.end.min(rope.len_chars());
        let replace_start = record.replace.start.min(replace_end);
        rope.remove(replace_start..replace_end);
        rope.insert(replace_start, &record.insert_text);
        let cursor = replace_start + record.insert_text.chars().count();
        let key = CacheKeyText::at(&rope, cursor, &record.language_id);
        let wanted = config.completion.alternatives(Trigger::Automatic);
        if self.shared.cache().lookup(&key, wanted).is_some() {
            return;
        }
        if let TriggerDecision::Skip { .. } = trigger::decide(&rope, cursor, Trigger::Automatic) {
            return;
        }
        let cancel = CancelFlag::new();
        let (done_sender, done) = watch::channel(false);
        self.shared.in_flight.start_speculation(
            &record.uri,
            Speculation {
                key: key.key(),
                cancel: cancel.clone(),
                done,
            },
        );
        self.shared.stats().speculative_started += 1;
        let shared = self.shared.clone();
        let language_id = record.language_id.clone();
        let completion_config = config.completion.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let job_cancel = cancel.clone();
            let result = shared
                .worker
                .run(move |model| {
                    if job_cancel.is_cancelled() {
                        return None;
                    }
                    complete_rope(
                        model,
                        &rope,
                        cursor,
                        &language_id,
                        Trigger::Automatic,
                        &completion_config,
                        &job_cancel,
                    )
                    .ok()
                })
                .await;
            if let Ok(Some(outcome)) = result
                && !outcome.cancelled
            {
                let items = outcome.cached_items();
                shared.cache().store(&key, &items, wanted);
                tracing::debug!(
                    items = items.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "speculative suggestion cached"
                );
            }
            let _ = done_sender.send(true);
        });
    }
}

/// The feedback part of `ghostline/stats`: the status, and the report `ghostline stats --json`
/// prints, read after everything recorded so far is committed.
pub async fn feedback_stats(shared: &Shared) -> FeedbackStats {
    let _ = shared.feedback.flush().durable(DECISION_ACK_TIMEOUT).await;
    let status = shared.feedback.status();
    let Some(path) = status.path.clone() else {
        return FeedbackStats {
            status,
            report: None,
            report_error: Some("no feedback database is configured".to_string()),
        };
    };
    let result =
        tokio::task::spawn_blocking(move || crate::feedback::report::read(Path::new(&path), None))
            .await;
    let (report, report_error) = match result {
        Ok(Ok(report)) => (Some(report), None),
        Ok(Err(error)) => (None, Some(error.to_string())),
        Err(error) => (None, Some(format!("the report failed: {error}"))),
    };
    FeedbackStats {
        status,
        report,
        report_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_found_in_every_shape_clients_send() {
        let item = json!({"insertText": "x", "command": {"command": "ghostline.accept", "arguments": ["gl-1"]}});
        for value in [
            json!("gl-1"),
            json!({"suggestionId": "gl-1"}),
            json!({"id": "gl-1"}),
            json!({"item": item}),
            item.clone(),
        ] {
            assert_eq!(suggestion_id_in(&value).as_deref(), Some("gl-1"), "{value}");
        }
        assert_eq!(suggestion_id_in(&json!({"item": {}})), None);
        assert_eq!(suggestion_id_in(&json!(5)), None);
    }
}
