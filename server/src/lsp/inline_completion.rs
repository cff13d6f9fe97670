//! `textDocument/inlineCompletion`: trigger decision → cache → debounce → (model thread:
//! context → generation → post-processing) → cache store → items with accept commands.
//!
//! The cache is consulted *before* the debounce: a hit costs no model time, so typing along a
//! suggestion is answered at once; the debounce only protects the model.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::{
    InlineCompletionItem, InlineCompletionList, InlineCompletionParams, InlineCompletionTriggerKind,
};

use super::ext::{LastCompletion, TimingsNotification, TimingsParams};
use super::server::Backend;
use super::{from_proto, guard, to_proto, workspace_index};
use crate::related::Snippet;
use crate::completion::cache::{CacheKeyText, CachedItem};
use crate::completion::debounce::debounce;
use crate::completion::inflight::Ticket;
use crate::completion::suggestions::SuggestionRecord;
use crate::completion::{
    CompletionItem, StageTimings, Trigger, TriggerDecision, complete_document, ms_since, trigger,
};
use crate::config::ServerConfig;
use crate::documents::Document;
use crate::model::worker::{ModelState, WorkerError, not_ready_reason};

/// Params of the request: the LSP params plus the arrival number stamped by the sync layer.
#[derive(Debug, Deserialize)]
pub struct InlineCompletionRequestParams {
    #[serde(flatten)]
    params: InlineCompletionParams,
    #[serde(default, rename = "ghostlineArrival")]
    arrival: Option<u64>,
}

/// How a request ended, for stats and timings.
struct Answer {
    items: Vec<CompletionItem>,
    from_cache: bool,
    model_called: bool,
    outcome: &'static str,
    reason: Option<String>,
    /// Prompt tokens of the generation (`None`: no generation ran for this answer).
    prompt_tokens: Option<usize>,
    /// The extra snippets that made it into the prompt, best first.
    snippets: Vec<Snippet>,
}

impl Answer {
    fn empty(outcome: &'static str, reason: impl Into<String>) -> Answer {
        Answer {
            items: Vec::new(),
            from_cache: false,
            model_called: false,
            outcome,
            reason: Some(reason.into()),
            prompt_tokens: None,
            snippets: Vec::new(),
        }
    }
}

impl Backend {
    /// The `textDocument/inlineCompletion` handler.
    pub async fn inline_completion(
        &self,
        params: InlineCompletionRequestParams,
    ) -> Result<InlineCompletionList> {
        guard::request(
            "textDocument/inlineCompletion",
            self.inline_completion_guarded(params),
        )
        .await
    }

    async fn inline_completion_guarded(
        &self,
        params: InlineCompletionRequestParams,
    ) -> Result<InlineCompletionList> {
        let started = Instant::now();
        let shared = &self.shared;
        shared.stats().requests += 1;
        let position_params = &params.params.text_document_position;
        let uri = position_params.text_document.uri.as_str().to_string();
        let ticket = params
            .arrival
            .and_then(|seq| shared.take_ticket(seq))
            .unwrap_or_else(|| shared.in_flight.begin(&uri));
        // `$/cancelRequest` drops this future: the generation must stop too, not run to the end.
        let _stop_on_drop = CancelOnDrop(ticket.cancel.clone());

        let Some(document) = shared.documents.snapshot(&uri) else {
            shared.in_flight.finish(&uri, ticket.seq);
            return Err(jsonrpc::Error::invalid_params(format!(
                "unknown document {uri}: it is not open (send textDocument/didOpen first)"
            )));
        };
        let encoding = shared.encoding();
        let cursor = from_proto::offset(&document.rope, position_params.position, encoding)
            .map_err(|error| {
                jsonrpc::Error::invalid_params(format!("invalid position: {error}"))
            })?;
        let trigger = if params.params.context.trigger_kind == InlineCompletionTriggerKind::INVOKED
        {
            Trigger::Invoked
        } else {
            Trigger::Automatic
        };
        let config = shared.config();
        let mut timings = StageTimings::default();

        // With a completion menu item selected, suggest what follows that item: complete the
        // document as if it were inserted, then prefix the item's text and use its range.
        let selected = match &params.params.context.selected_completion_info {
            None => None,
            Some(info) => {
                let range =
                    from_proto::range(&document.rope, info.range, encoding).map_err(|error| {
                        jsonrpc::Error::invalid_params(format!(
                            "invalid selectedCompletionInfo.range: {error}"
                        ))
                    })?;
                Some((range, info.text.clone()))
            }
        };
        let answer = match &selected {
            None => {
                self.answer(
                    &uri,
                    &document,
                    cursor,
                    trigger,
                    &config,
                    &ticket,
                    &mut timings,
                )
                .await?
            }
            Some((range, text)) => {
                // An edit (not a bare Rope change), so the tree follows the text.
                let mut assumed = document.clone();
                assumed.edit(&crate::documents::TextEdit {
                    range: Some(range.clone()),
                    text: text.clone(),
                });
                assumed.finish_edits();
                let assumed_cursor = range.start + text.chars().count();
                let mut answer = self
                    .answer(
                        &uri,
                        &assumed,
                        assumed_cursor,
                        trigger,
                        &config,
                        &ticket,
                        &mut timings,
                    )
                    .await?;
                for item in &mut answer.items {
                    item.insert_text = format!("{text}{}", item.insert_text);
                    item.replace = range.start..range.end + item.replace.len();
                }
                answer
            }
        };
        shared.in_flight.finish(&uri, ticket.seq);
        timings.total_ms = ms_since(started);

        let items = self.to_lsp_items(&uri, &document, trigger, &answer, started, &timings);
        self.record(&answer, &timings, &config, items.len());
        if config.timings_notifications {
            let position = position_params.position;
            let params = TimingsParams {
                uri: uri.clone(),
                line: position.line,
                character: position.character,
                cache_hit: answer.from_cache,
                outcome: answer.outcome.to_string(),
                total_ms: timings.total_ms,
                stages: serde_json::to_value(&timings).unwrap_or_default(),
            };
            shared
                .client
                .send_notification::<TimingsNotification>(params)
                .await;
        }
        Ok(InlineCompletionList { items })
    }

    #[allow(clippy::too_many_arguments)]
    async fn answer(
        &self,
        uri: &str,
        document: &Document,
        cursor: usize,
        trigger: Trigger,
        config: &ServerConfig,
        ticket: &Ticket,
        timings: &mut StageTimings,
    ) -> Result<Answer> {
        let shared = &self.shared;
        if !config.enable {
            return Ok(Answer::empty(
                "empty",
                "ghostline is disabled in the settings",
            ));
        }
        if let TriggerDecision::Skip { reason } =
            trigger::decide_in(&document.view(), cursor, trigger)
        {
            return Ok(Answer::empty("skipped", reason));
        }

        let cache_started = Instant::now();
        let key = CacheKeyText::at(&document.rope, cursor, &document.language_id);
        let wanted = config.completion.alternatives(trigger);
        let hit = shared.cache().lookup(&key, wanted);
        timings.cache_ms = ms_since(cache_started);
        if let Some(hit) = hit {
            return Ok(cached_answer(cursor, hit.items));
        }

        let state = shared.worker.state();
        if !matches!(state, ModelState::Ready { .. }) {
            return Ok(Answer::empty("empty", not_ready_reason(&state)));
        }

        if let Some(mut speculation) = shared.in_flight.speculation_for(uri, key.key()) {
            // A generation of our own would queue behind the speculation on the model thread
            // anyway, so wait for it (unless this request is superseded meanwhile).
            let cancel = ticket.cancel.clone();
            let superseded = async move {
                while !cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            tokio::select! {
                _ = speculation.done.wait_for(|done| *done) => {}
                _ = superseded => {
                    return Ok(Answer::empty("cancelled", "superseded by a newer request or an edit"));
                }
            }
            if let Some(hit) = shared.cache().lookup(&key, wanted) {
                shared.stats().speculative_served += 1;
                return Ok(cached_answer(cursor, hit.items));
            }
        }

        let debounce_started = Instant::now();
        let wanted_still =
            debounce(Duration::from_millis(config.debounce_ms), &ticket.cancel).await;
        timings.debounce_ms = ms_since(debounce_started);
        if !wanted_still {
            return Ok(Answer::empty(
                "cancelled",
                "superseded by a newer request or an edit",
            ));
        }

        shared.stats().model_calls += 1;
        let queued = Instant::now();
        let document = document.clone();
        let completion_config = config.completion.clone();
        let cancel = ticket.cancel.clone();
        let snippet_inputs = workspace_index::snippet_inputs(shared);
        let snippet_uri = uri.to_string();
        let store = shared.documents.clone();
        let adaptation = config.adapt.then(|| shared.adaptation.clone());
        let job = shared.worker.run(move |model| {
            let queue_ms = ms_since(queued);
            if cancel.is_cancelled() {
                return Ok((None, queue_ms, Vec::new()));
            }
            // A big document's reparse is deferred to here, off the read loop, and handed back
            // to the store (documents.rs). Counted in the context stage, as is choosing
            // snippets: both build the prompt.
            let snippets_started = std::time::Instant::now();
            let mut document = document;
            store.parse(&snippet_uri, &mut document);
            let candidates = workspace_index::extra_snippets(
                &snippet_inputs,
                &snippet_uri,
                &document,
                cursor,
            );
            let snippets_ms = ms_since(snippets_started);
            // The context engine renders as many as its extra-context budget holds.
            let slot: Vec<crate::context::Snippet> = candidates
                .iter()
                .map(|snippet| crate::context::Snippet {
                    path: snippet.path.clone(),
                    text: snippet.text.clone(),
                })
                .collect();
            // Adaptation (crate::adapt): the local cache mixed into the model's next-token
            // choice; an invoked request it leaves empty asks the model alone.
            let recent = match adaptation {
                Some(_) => crate::adapt::recent_texts(
                    &document.rope,
                    cursor,
                    snippet_inputs.documents(),
                    &snippet_uri,
                ),
                None => Vec::new(),
            };
            let run = |model: &mut dyn crate::model::CompletionModel| {
                complete_document(
                    model,
                    &document,
                    cursor,
                    trigger,
                    &completion_config,
                    slot.clone(),
                    &cancel,
                )
            };
            crate::adapt::fallback::complete(model, adaptation, recent, trigger, &cancel, run)
            .map(|mut outcome| {
                outcome.timings.context_ms += snippets_ms;
                let used: Vec<Snippet> = candidates
                    .into_iter()
                    .filter(|candidate| {
                        outcome.snippets.iter().any(|used| {
                            used.path == candidate.path && used.text == candidate.text
                        })
                    })
                    .collect();
                (Some(outcome), queue_ms, used)
            })
        });
        let (outcome, queue_ms, used_snippets) = match job.await {
            Ok(Ok(result)) => result,
            // A remote endpoint that is down is a state (shown by `ghostline/status`), not a
            // protocol error on every keystroke.
            Ok(Err(error))
                if matches!(
                    shared.worker.state(),
                    ModelState::Ready {
                        health: Some(_),
                        ..
                    }
                ) =>
            {
                return Ok(Answer::empty("empty", error.to_string()));
            }
            Ok(Err(error)) => {
                return Err(guard::internal_error(format!(
                    "ghostline: the completion failed: {error}"
                )));
            }
            Err(WorkerError::NotReady { reason }) => return Ok(Answer::empty("empty", reason)),
            Err(error) => return Err(guard::internal_error(format!("ghostline: {error}"))),
        };
        timings.queue_ms = queue_ms;
        let Some(outcome) = outcome else {
            return Ok(Answer::empty(
                "cancelled",
                "superseded before the model started",
            ));
        };
        let model_timings = &outcome.timings;
        timings.context_ms = model_timings.context_ms;
        timings.tokenize_ms = model_timings.tokenize_ms;
        timings.prefill_ms = model_timings.prefill_ms;
        timings.decode_ms = model_timings.decode_ms;
        timings.postprocess_ms = model_timings.postprocess_ms;

        if !outcome.cancelled {
            let cached = outcome.cached_items();
            shared.cache().store(&key, &cached, wanted);
        }
        if outcome.cancelled || ticket.cancel.is_cancelled() {
            let mut answer = Answer::empty("cancelled", "superseded by a newer request or an edit");
            answer.model_called = true;
            return Ok(answer);
        }
        let outcome_name = if outcome.items.is_empty() {
            "empty"
        } else {
            "completed"
        };
        let reason = outcome
            .items
            .is_empty()
            .then(|| "post-processing left nothing to show".to_string());
        Ok(Answer {
            items: outcome.items,
            from_cache: false,
            model_called: true,
            outcome: outcome_name,
            reason,
            prompt_tokens: Some(outcome.prompt_tokens),
            snippets: used_snippets,
        })
    }

    fn to_lsp_items(
        &self,
        uri: &str,
        document: &Document,
        trigger: Trigger,
        answer: &Answer,
        requested: Instant,
        timings: &StageTimings,
    ) -> Vec<InlineCompletionItem> {
        let encoding = self.shared.encoding();
        let model_id = match self.shared.worker.state() {
            ModelState::Ready { info, .. } => info.name,
            _ => "unknown".to_string(),
        };
        answer
            .items
            .iter()
            .map(|item| {
                let id = self.shared.suggestions.next_id();
                self.shared.suggestions.insert(SuggestionRecord {
                    id: id.clone(),
                    uri: uri.to_string(),
                    language_id: document.language_id.clone(),
                    document: document.rope.clone(),
                    replace: item.replace.clone(),
                    insert_text: item.insert_text.clone(),
                    trigger,
                    from_cache: answer.from_cache,
                    created: Instant::now(),
                    requested,
                    model_id: model_id.clone(),
                    prompt_tokens: answer.prompt_tokens,
                    timings: timings.clone(),
                });
                to_proto::inline_completion_item(&document.rope, item, &id, encoding)
            })
            .collect()
    }

    fn record(&self, answer: &Answer, timings: &StageTimings, config: &ServerConfig, items: usize) {
        let mut stats = self.shared.stats();
        if answer.from_cache {
            stats.cache_hits += 1;
        }
        if answer.outcome == "cancelled" {
            stats.cancelled += 1;
        }
        stats.last_latency_ms = Some(timings.total_ms);
        stats.last = Some(LastCompletion {
            from_cache: answer.from_cache,
            model_called: answer.model_called,
            outcome: answer.outcome.to_string(),
            reason: answer.reason.clone(),
            items,
            timings_ms: timings.clone(),
            prompt_snippets: answer.snippets.clone(),
        });
        drop(stats);
        let working_ms = timings.working_ms();
        if working_ms > config.latency_budget_ms as f64 {
            tracing::warn!(
                budget_ms = config.latency_budget_ms,
                working_ms,
                ?timings,
                "inline completion exceeded its latency budget"
            );
        } else {
            tracing::debug!(
                outcome = answer.outcome,
                from_cache = answer.from_cache,
                ?timings,
                "inline completion"
            );
        }
    }
}

/// Sets its flag when dropped (the request finished or was abandoned).
struct CancelOnDrop(crate::model::CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn cached_answer(cursor: usize, items: Vec<CachedItem>) -> Answer {
    let items = items
        .into_iter()
        .map(|item| CompletionItem {
            replace: cursor..cursor + item.covers_after_chars,
            insert_text: item.insert_text,
        })
        .collect();
    Answer {
        items,
        from_cache: true,
        model_called: false,
        outcome: "completed",
        reason: None,
        prompt_tokens: None,
        snippets: Vec::new(),
    }
}
