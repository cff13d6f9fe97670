//! The completion pipeline, LSP-free: trigger decision → context → generation → post-processing.
//!
//! The LSP handler (`lsp/inline_completion.rs`) adds debounce, cache and cancellation around
//! [`complete_rope`]; the command line and the evaluation call [`complete_text`]. Both run the
//! very same code from the context step on.
//!
//! **Architecture invariant:** this module never sees LSP types; offsets are chars.

pub mod cache;
pub mod debounce;
pub mod inflight;
pub mod postprocess;
pub mod suggestions;
pub mod trigger;

use std::ops::Range;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::Serialize;

use crate::context::{self, ContextBudget, Snippet};
use crate::documents::Document;
use crate::model::{
    CancelFlag, CompletionModel, FinishReason, GenerateRequest, GenerateTimings, ModelCallError,
    Sampling,
};
use crate::syntax::{self, Lang, SourceView};
use postprocess::{PostprocessContext, postprocess};
pub use trigger::{Shape, Trigger, TriggerDecision};

/// Settings of the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionConfig {
    /// Most lines in a block suggestion.
    pub max_lines: usize,
    /// Most new tokens per generation.
    pub max_tokens: usize,
    /// Alternatives for an invoked request.
    pub n_invoked: usize,
    /// Alternatives for an automatic request.
    pub n_automatic: usize,
    /// Prefix window in chars (before the token budget trims it).
    pub prefix_chars: usize,
    /// Suffix window in chars.
    pub suffix_chars: usize,
    /// Percent of the prompt's token budget for the prefix window.
    pub prefix_percent: usize,
    /// Percent for the suffix window; the rest goes to extra context (imports, scope headers,
    /// snippets) and, when that leaves some unused, back to the windows.
    pub suffix_percent: usize,
    /// Wall-clock budget for one generation.
    pub time_budget_ms: Option<u64>,
    /// Seed for the sampled alternatives (the first item is always greedy).
    pub seed: u64,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        CompletionConfig {
            max_lines: 8,
            max_tokens: 64,
            n_invoked: 3,
            n_automatic: 1,
            prefix_chars: 3000,
            suffix_chars: 800,
            prefix_percent: 35,
            suffix_percent: 15,
            time_budget_ms: Some(5000),
            seed: 0,
        }
    }
}

impl CompletionConfig {
    /// How many alternatives `trigger` gets.
    pub fn alternatives(&self, trigger: Trigger) -> usize {
        match trigger {
            Trigger::Invoked => self.n_invoked.max(1),
            Trigger::Automatic => self.n_automatic.max(1),
        }
    }
}

/// One suggestion: insert `insert_text` over the chars `replace` (starting at the cursor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletionItem {
    /// The text to insert.
    pub insert_text: String,
    /// Chars of the document it replaces: `cursor..cursor + covered chars`.
    pub replace: Range<usize>,
}

/// Milliseconds spent per stage; stages that did not run stay 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageTimings {
    /// Waiting out the debounce (LSP only).
    pub debounce_ms: f64,
    /// Cache lookup (LSP only).
    pub cache_ms: f64,
    /// Waiting for the model thread (LSP only).
    pub queue_ms: f64,
    /// Building the prompt context.
    pub context_ms: f64,
    /// Tokenizing the prompt.
    pub tokenize_ms: f64,
    /// Running the prompt through the model.
    pub prefill_ms: f64,
    /// Generating new tokens.
    pub decode_ms: f64,
    /// Post-processing.
    pub postprocess_ms: f64,
    /// Everything, end to end.
    pub total_ms: f64,
}

impl StageTimings {
    fn add_generation(&mut self, timings: &GenerateTimings) {
        self.tokenize_ms += timings.tokenize_ms;
        self.prefill_ms += timings.prefill_ms;
        self.decode_ms += timings.decode_ms;
    }

    /// Adds every stage of `other` (a second pass through the pipeline for the same request).
    pub fn add(&mut self, other: &StageTimings) {
        self.debounce_ms += other.debounce_ms;
        self.cache_ms += other.cache_ms;
        self.queue_ms += other.queue_ms;
        self.context_ms += other.context_ms;
        self.tokenize_ms += other.tokenize_ms;
        self.prefill_ms += other.prefill_ms;
        self.decode_ms += other.decode_ms;
        self.postprocess_ms += other.postprocess_ms;
        self.total_ms += other.total_ms;
    }

    /// Time after the debounce: what the user waits for beyond the typing pause.
    pub fn working_ms(&self) -> f64 {
        self.total_ms - self.debounce_ms
    }
}

/// What one pass through the pipeline produced.
#[derive(Clone, Debug)]
pub struct CompletionOutcome {
    /// Suggestions, best first, deduplicated, never empty text.
    pub items: Vec<CompletionItem>,
    /// The trigger decision taken.
    pub decision: TriggerDecision,
    /// Per-stage timings.
    pub timings: StageTimings,
    /// The cancel flag was set before the generation finished (items may be partial or none).
    pub cancelled: bool,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// The model's raw texts, before post-processing.
    pub raw_completions: Vec<String>,
    /// Why each raw completion ended.
    pub finish_reasons: Vec<FinishReason>,
    /// The extra snippets that went into the prompt (above the prefix), best first.
    pub snippets: Vec<Snippet>,
}

impl CompletionOutcome {
    /// The items as cache entries (text still to insert and the chars right of the cursor each replaces).
    pub fn cached_items(&self) -> Vec<cache::CachedItem> {
        self.items
            .iter()
            .map(|item| cache::CachedItem {
                insert_text: item.insert_text.clone(),
                covers_after_chars: item.replace.len(),
            })
            .collect()
    }
}

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    /// The cursor lies outside the text.
    #[error("cursor at char {cursor} is past the end of the text ({len} chars)")]
    CursorOutOfRange {
        /// The requested char offset.
        cursor: usize,
        /// The text's length in chars.
        len: usize,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelCallError),
}

/// Tokens kept free for the FIM special tokens around the prompt.
const PROMPT_OVERHEAD_TOKENS: usize = 8;

/// Runs the pipeline on a whole document given as text, with the cursor at `char_offset`.
pub fn complete_text(
    model: &mut dyn CompletionModel,
    text: &str,
    char_offset: usize,
    language_id: &str,
    trigger: Trigger,
    config: &CompletionConfig,
    cancel: &CancelFlag,
) -> Result<CompletionOutcome, CompletionError> {
    complete_rope(
        model,
        &Rope::from_str(text),
        char_offset,
        language_id,
        trigger,
        config,
        cancel,
    )
}

/// Runs the pipeline on a Rope with a fresh parse for `language_id` (the command line and the
/// evaluation; the LSP handler has a tree already and calls [`complete_document`]).
pub fn complete_rope(
    model: &mut dyn CompletionModel,
    rope: &Rope,
    cursor: usize,
    language_id: &str,
    trigger: Trigger,
    config: &CompletionConfig,
    cancel: &CancelFlag,
) -> Result<CompletionOutcome, CompletionError> {
    let lang = Lang::from_language_id(language_id);
    let tree =
        lang.and_then(|lang| syntax::parse_rope(lang, rope, None, syntax::FIRST_PARSE_TIMEOUT));
    let view = SourceView {
        rope,
        lang,
        tree: tree.as_ref(),
    };
    complete_view(model, &view, cursor, trigger, config, Vec::new(), cancel)
}

/// Runs the pipeline on an open document (its incremental tree included) with extra snippets.
pub fn complete_document(
    model: &mut dyn CompletionModel,
    document: &Document,
    cursor: usize,
    trigger: Trigger,
    config: &CompletionConfig,
    snippets: Vec<Snippet>,
    cancel: &CancelFlag,
) -> Result<CompletionOutcome, CompletionError> {
    complete_view(
        model,
        &document.view(),
        cursor,
        trigger,
        config,
        snippets,
        cancel,
    )
}

/// The pipeline proper: trigger → context → generation → post-processing.
pub fn complete_view(
    model: &mut dyn CompletionModel,
    view: &SourceView<'_>,
    cursor: usize,
    trigger: Trigger,
    config: &CompletionConfig,
    snippets: Vec<Snippet>,
    cancel: &CancelFlag,
) -> Result<CompletionOutcome, CompletionError> {
    let started = Instant::now();
    let rope = view.rope;
    if cursor > rope.len_chars() {
        return Err(CompletionError::CursorOutOfRange {
            cursor,
            len: rope.len_chars(),
        });
    }
    let mut outcome = CompletionOutcome {
        items: Vec::new(),
        decision: trigger::decide_in(view, cursor, trigger),
        timings: StageTimings::default(),
        cancelled: false,
        prompt_tokens: 0,
        raw_completions: Vec::new(),
        finish_reasons: Vec::new(),
        snippets: Vec::new(),
    };
    let TriggerDecision::Suggest(shape) = outcome.decision else {
        outcome.timings.total_ms = ms_since(started);
        return Ok(outcome);
    };

    let context_started = Instant::now();
    let context_length = model.info().context_length;
    let prompt_budget = context_length
        .saturating_sub(config.max_tokens + PROMPT_OVERHEAD_TOKENS)
        .max(16);
    let prompt = {
        let model_ref: &dyn CompletionModel = &*model;
        let count = |text: &str| model_ref.count_tokens(text);
        let budget = ContextBudget {
            total_tokens: prompt_budget,
            prefix_percent: config.prefix_percent,
            suffix_percent: config.suffix_percent,
            prefix_chars: config.prefix_chars,
            suffix_chars: config.suffix_chars,
        };
        let mut prompt = context::build_prompt(view, cursor, budget, &count, snippets);
        // Safety net: lines counted one by one can add up to a little less than the whole.
        let model_prefix = prompt.model_prefix();
        let extra_tokens = count(&model_prefix[..model_prefix.len() - prompt.prefix.len()]);
        context::fit_to_token_budget(
            &mut prompt,
            prompt_budget.saturating_sub(extra_tokens),
            &count,
        );
        prompt
    };
    outcome.snippets = prompt.snippets.clone();
    outcome.timings.context_ms = ms_since(context_started);

    let stop = match shape {
        Shape::SingleLine => vec!["\n".to_string()],
        Shape::MultiLine => Vec::new(),
    };
    let mode = prompt.mode;
    let mut request = GenerateRequest {
        prefix: prompt.model_prefix(),
        suffix: Some(prompt.suffix),
        max_tokens: config.max_tokens,
        sampling: Sampling::Greedy,
        n: 1,
        stop,
        // Post-processing keeps at most `max_lines` lines of a block: stop generating there.
        max_lines: matches!(shape, Shape::MultiLine).then_some(config.max_lines),
        time_budget: config.time_budget_ms.map(Duration::from_millis),
    };
    let wanted = config.alternatives(trigger);
    let mut sampled_round = false;
    loop {
        let output = model.generate(&request, cancel, &mut |_| {})?;
        outcome.timings.add_generation(&output.timings);
        outcome.prompt_tokens = output.prompt_tokens;
        for completion in output.completions {
            outcome.finish_reasons.push(completion.finish);
            outcome.raw_completions.push(completion.text);
        }
        // The first item is the greedy one; alternatives are sampled in one extra call.
        if sampled_round || wanted <= 1 || cancel.is_cancelled() {
            break;
        }
        request.sampling = Sampling::TopP {
            temperature: 0.8,
            top_p: 0.95,
            seed: config.seed,
        };
        request.n = wanted - 1;
        sampled_round = true;
    }
    outcome.cancelled =
        cancel.is_cancelled() || outcome.finish_reasons.contains(&FinishReason::Cancelled);

    let postprocess_started = Instant::now();
    let mut context =
        PostprocessContext::new(rope, cursor, shape, config.max_lines).with_syntax(view, mode);
    context.reject_parse_worse = trigger == Trigger::Automatic;
    let mut parse_worse = Vec::new();
    for raw in &outcome.raw_completions {
        if let Some(suggestion) = postprocess(raw, &context)
            && !outcome
                .items
                .iter()
                .any(|item| item.insert_text == suggestion.insert_text)
        {
            parse_worse.push(suggestion.parse_worse);
            outcome.items.push(CompletionItem {
                insert_text: suggestion.insert_text,
                replace: cursor..cursor + suggestion.covers_after_chars,
            });
        }
    }
    // Suggestions that keep the file parsing as well as before come first (stable otherwise).
    let mut ranked: Vec<(bool, CompletionItem)> = parse_worse
        .into_iter()
        .zip(outcome.items.drain(..))
        .collect();
    ranked.sort_by_key(|(worse, _)| *worse);
    outcome.items = ranked.into_iter().map(|(_, item)| item).collect();
    outcome.items.truncate(wanted);
    outcome.timings.postprocess_ms = ms_since(postprocess_started);
    outcome.timings.total_ms = ms_since(started);
    Ok(outcome)
}

/// Milliseconds since `start`.
pub fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests;
