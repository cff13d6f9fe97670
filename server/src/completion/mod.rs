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

use crate::context::{self, WindowSizes};
use crate::related::{self, Snippet};
use crate::model::{
    CancelFlag, CompletionModel, FinishReason, GenerateRequest, GenerateTimings, ModelCallError,
    Sampling,
};
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

/// The share of the prompt budget extra snippets may take (the anchors' split: prefix ~35 %,
/// suffix ~15 %, the rest extra context). What they leave unused goes to the prefix and suffix.
const SNIPPET_SHARE_PERCENT: usize = 50;

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

/// Runs the pipeline on a document snapshot (what the LSP handler calls on the model thread).
pub fn complete_rope(
    model: &mut dyn CompletionModel,
    rope: &Rope,
    cursor: usize,
    language_id: &str,
    trigger: Trigger,
    config: &CompletionConfig,
    cancel: &CancelFlag,
) -> Result<CompletionOutcome, CompletionError> {
    complete_rope_with_snippets(
        model,
        rope,
        cursor,
        language_id,
        trigger,
        config,
        cancel,
        Vec::new(),
    )
}

/// [`complete_rope`] with extra snippets (other files, recent edits, definitions: see
/// `crate::related`), which get up to [`SNIPPET_SHARE_PERCENT`] of the prompt budget, most
/// relevant first, and go above the prefix.
#[allow(clippy::too_many_arguments)]
pub fn complete_rope_with_snippets(
    model: &mut dyn CompletionModel,
    rope: &Rope,
    cursor: usize,
    language_id: &str,
    trigger: Trigger,
    config: &CompletionConfig,
    cancel: &CancelFlag,
    snippets: Vec<Snippet>,
) -> Result<CompletionOutcome, CompletionError> {
    let started = Instant::now();
    if cursor > rope.len_chars() {
        return Err(CompletionError::CursorOutOfRange {
            cursor,
            len: rope.len_chars(),
        });
    }
    let _ = language_id; // The context engine will use it (comment syntax, prose mode).
    let mut outcome = CompletionOutcome {
        items: Vec::new(),
        decision: trigger::decide(rope, cursor, trigger),
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
    let mut prompt = context::build(
        rope,
        cursor,
        WindowSizes {
            prefix_chars: config.prefix_chars,
            suffix_chars: config.suffix_chars,
        },
    );
    let context_length = model.info().context_length;
    let prompt_budget = context_length
        .saturating_sub(config.max_tokens + PROMPT_OVERHEAD_TOKENS)
        .max(16);
    {
        let model_ref: &dyn CompletionModel = &*model;
        let count_tokens = |text: &str| model_ref.count_tokens(text);
        let mut snippet_text = String::new();
        if !snippets.is_empty() {
            let share = prompt_budget * SNIPPET_SHARE_PERCENT / 100;
            outcome.snippets = related::fit_to_budget(snippets, language_id, share, &count_tokens);
            snippet_text = related::render(&outcome.snippets, language_id);
        }
        let snippet_tokens = if snippet_text.is_empty() {
            0
        } else {
            count_tokens(&snippet_text)
        };
        context::fit_to_token_budget(
            &mut prompt,
            prompt_budget.saturating_sub(snippet_tokens),
            &count_tokens,
        );
        if !snippet_text.is_empty() {
            prompt.prefix.insert_str(0, &snippet_text);
        }
    }
    outcome.timings.context_ms = ms_since(context_started);

    let stop = match shape {
        Shape::SingleLine => vec!["\n".to_string()],
        Shape::MultiLine => Vec::new(),
    };
    let mut request = GenerateRequest {
        prefix: prompt.prefix,
        suffix: Some(prompt.suffix),
        max_tokens: config.max_tokens,
        sampling: Sampling::Greedy,
        n: 1,
        stop,
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
    let context = PostprocessContext::new(rope, cursor, shape, config.max_lines);
    for raw in &outcome.raw_completions {
        if let Some(suggestion) = postprocess(raw, &context)
            && !outcome
                .items
                .iter()
                .any(|item| item.insert_text == suggestion.insert_text)
        {
            outcome.items.push(CompletionItem {
                insert_text: suggestion.insert_text,
                replace: cursor..cursor + suggestion.covers_after_chars,
            });
        }
    }
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
