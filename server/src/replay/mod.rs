//! `ghostline replay`: simulates a user writing a repository top to bottom and measures how often
//! the server's suggestions would be accepted, without and with adaptation.
//!
//! - `sample.rs`: the walk (files in path order) and the positions asked at.
//! - `score.rs`: the simulated user's accept / partial accept / reject decision.
//!
//! At each position the document is the file's text up to the cursor and nothing after it (the
//! user writes top-down; the rest of the file does not exist yet), so the suffix is empty. The
//! suggestion comes from [`complete_text`] (the server's pipeline, invoked trigger, one greedy
//! alternative, no time budget so runs are reproducible). Its outcome is turned into the same
//! [`FeedbackEvent`]s the LSP layer records and given to a [`FeedbackSink`]; with adaptation on
//! that sink is [`AdaptationSink`], and the model is wrapped in [`crate::adapt::AdaptedModel`]
//! (through [`crate::adapt::fallback`], as in the server). Files the walk finished feed the
//! adaptation's caches whole (as the server feeds a closed document); the current file before
//! the cursor is the prompt's prefix, which the text cache searches too.

pub mod sample;
pub mod score;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::adapt::{Adaptation, AdaptationSink, NoSink};
use crate::completion::{CompletionConfig, Trigger, complete_text};
use crate::feedback::{FeedbackEvent, FeedbackKind, FeedbackSink, SuggestionFacts};
use crate::model::{CancelFlag, CompletionModel};
use sample::{Position, SplitMix};
use score::Decision;

/// Chars of context kept in the feedback events (as the LSP layer keeps).
const EVENT_CONTEXT_CHARS: usize = crate::feedback::event::REPLAY_BEFORE_CHARS;

/// One source file of the walk.
#[derive(Clone, Debug)]
pub struct WalkFile {
    /// Path relative to the repository.
    pub path: PathBuf,
    /// Language id from the extension.
    pub language_id: &'static str,
    /// The file's chars.
    pub chars: Vec<char>,
}

/// The files and the positions of a replay.
#[derive(Clone, Debug)]
pub struct Walk {
    /// Files in walk order.
    pub files: Vec<WalkFile>,
    /// Positions in walk order.
    pub positions: Vec<Position>,
    /// Candidate positions before the cap.
    pub candidates: usize,
}

/// Reads `repo` and picks at most `max_positions` positions (seeded).
pub fn plan(repo: &Path, max_positions: usize, seed: u64) -> anyhow::Result<Walk> {
    let paths =
        sample::walk(repo).map_err(|e| anyhow::anyhow!("reading {}: {e}", repo.display()))?;
    let mut rng = SplitMix::new(seed);
    let mut files = Vec::new();
    let mut candidates = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: not source we replay
        };
        let text = text.replace("\r\n", "\n");
        candidates.extend(sample::positions(files.len(), &text, &mut rng));
        files.push(WalkFile {
            language_id: crate::cli::language_from_path(&path),
            path: path.strip_prefix(repo).unwrap_or(&path).to_path_buf(),
            chars: text.chars().collect(),
        });
    }
    if files.is_empty() {
        anyhow::bail!("{} holds no source files the replay reads", repo.display());
    }
    let total = candidates.len();
    let positions = sample::spread(candidates, max_positions, &mut rng);
    Ok(Walk {
        files,
        positions,
        candidates: total,
    })
}

/// The numbers of one run (adaptation on or off). Rates and chars are per position asked (a
/// position with no suggestion counts as not accepted).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    /// Positions asked.
    pub positions: usize,
    /// Positions where a suggestion was offered.
    pub suggestions: usize,
    /// First line accepted exactly.
    pub accepted: usize,
    /// Partially accepted (a word-aligned common prefix).
    pub partially_accepted: usize,
    /// Rejected (or nothing offered).
    pub rejected: usize,
    /// accepted / positions.
    pub acceptance_rate: f64,
    /// The same over the first half of the walk.
    pub first_half_acceptance_rate: f64,
    /// The same over the second half of the walk.
    pub second_half_acceptance_rate: f64,
    /// Whole suggestion equal to the real code, / positions.
    pub exact_match: f64,
    /// Accepted chars (full or partial) / positions.
    pub accepted_chars_per_suggestion: f64,
    /// The same over the first half.
    pub first_half_accepted_chars_per_suggestion: f64,
    /// The same over the second half.
    pub second_half_accepted_chars_per_suggestion: f64,
    /// Median pipeline time per position, ms.
    pub p50_latency_ms: f64,
    /// 95th percentile pipeline time per position, ms.
    pub p95_latency_ms: f64,
    /// Tokens in the n-gram cache at the end (0 without adaptation).
    pub cache_tokens: usize,
    /// Bytes in the text cache at the end (0 without adaptation).
    pub cache_chars: usize,
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    positions: usize,
    accepted: usize,
    chars: usize,
}

impl Tally {
    fn rate(self) -> f64 {
        if self.positions == 0 {
            0.0
        } else {
            self.accepted as f64 / self.positions as f64
        }
    }
    fn chars(self) -> f64 {
        if self.positions == 0 {
            0.0
        } else {
            self.chars as f64 / self.positions as f64
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn tail(chars: &[char], n: usize) -> String {
    chars[chars.len().saturating_sub(n)..].iter().collect()
}

/// How the adaptation runs in one replay.
#[derive(Clone, Debug, Default)]
pub struct AdaptOptions {
    /// Adaptation on (fresh state each run).
    pub on: bool,
    /// Feed the walk's own text and outcomes (off: the adaptation only knows `prime`, which
    /// measures the harm on a repository it was not fed).
    pub feed_walk: bool,
    /// Text fed before the walk starts (another repository's files).
    pub prime: Vec<String>,
}

/// Replays `walk` once.
pub fn run(
    model: &mut dyn CompletionModel,
    walk: &Walk,
    options: &AdaptOptions,
    config: &CompletionConfig,
) -> anyhow::Result<RunReport> {
    let adaptation = Arc::new(Mutex::new(Adaptation::new()));
    let inbox = adaptation.lock().unwrap_or_else(|p| p.into_inner()).inbox();
    if options.on {
        for text in &options.prime {
            inbox.observe_text(text.clone());
        }
    }
    let adapt = options.on;
    let feed = options.on && options.feed_walk;
    let sink = AdaptationSink::new(inbox.clone(), Box::new(NoSink), Arc::new(true.into()));
    let model_id = model.info().name;
    let mut report = RunReport {
        positions: walk.positions.len(),
        ..RunReport::default()
    };
    let (mut first, mut second) = (Tally::default(), Tally::default());
    let mut exact = 0usize;
    let mut latencies = Vec::new();
    // GHOSTLINE_REPLAY_TRACE=1 prints every position's suggestion and the real code to stderr.
    let trace = std::env::var_os("GHOSTLINE_REPLAY_TRACE").is_some();
    // Files before `fed_file` were fed to the adaptation.
    let mut fed_file = 0usize;
    for (index, position) in walk.positions.iter().enumerate() {
        let file = &walk.files[position.file];
        // Finished files are fed whole, as the server feeds a closed document; the current
        // file before the cursor is the prompt's prefix, which the cache searches itself.
        if feed {
            while fed_file < position.file {
                inbox.observe_text(walk.files[fed_file].chars.iter().collect::<String>());
                fed_file += 1;
            }
        }
        let prefix: String = file.chars[..position.cursor].iter().collect();
        let target: String = file.chars[position.cursor..].iter().collect();
        let cancel = CancelFlag::new();
        let outcome = crate::adapt::fallback::complete(
            model,
            adapt.then(|| adaptation.clone()),
            if adapt { vec![prefix.clone()] } else { Vec::new() },
            Trigger::Invoked,
            &cancel,
            |model| {
                complete_text(
                    model,
                    &prefix,
                    position.cursor,
                    file.language_id,
                    Trigger::Invoked,
                    config,
                    &cancel,
                )
            },
        )
        .map_err(|e| anyhow::anyhow!("{} at char {}: {e}", file.path.display(), position.cursor))?;
        latencies.push(outcome.timings.total_ms);
        let suggestion = outcome
            .items
            .first()
            .map(|item| item.insert_text.clone())
            .unwrap_or_default();
        let decision = score::decide(&suggestion, &target);
        if trace {
            let real = target.split('\n').next().unwrap_or("");
            eprintln!(
                "{}:{} {:?} {decision:?}\n  got  {suggestion:?}\n  real {real:?}",
                file.path.display(),
                position.cursor,
                position.kind
            );
        }
        let half = if index * 2 < walk.positions.len() {
            &mut first
        } else {
            &mut second
        };
        half.positions += 1;
        half.chars += decision.accepted_chars();
        match decision {
            Decision::Accepted { .. } => {
                half.accepted += 1;
                report.accepted += 1;
            }
            Decision::Partial { .. } => report.partially_accepted += 1,
            Decision::Rejected => report.rejected += 1,
        }
        if score::exact_match(&suggestion, &target) {
            exact += 1;
        }
        if suggestion.is_empty() {
            continue;
        }
        report.suggestions += 1;
        // The outcome goes through the normal feedback path.
        let facts = SuggestionFacts {
            language_id: file.language_id.to_string(),
            uri: format!("file:///{}", file.path.display()),
            model_id: model_id.clone(),
            trigger_kind: "invoked",
            prompt_tokens: Some(outcome.prompt_tokens),
            text: suggestion.clone(),
            context_before: tail(&file.chars[..position.cursor], EVENT_CONTEXT_CHARS),
            context_after: String::new(),
            from_cache: false,
            since_request_ms: outcome.timings.total_ms,
            latency_ms: outcome.timings.total_ms,
            stages_json: serde_json::to_string(&outcome.timings)?,
        };
        let id = format!("replay-{index}");
        let kind = match decision {
            Decision::Accepted { .. } => FeedbackKind::Accepted,
            Decision::Partial { chars } => FeedbackKind::PartiallyAccepted {
                accepted_chars: chars,
            },
            Decision::Rejected => FeedbackKind::Rejected,
        };
        for kind in [FeedbackKind::Shown, kind] {
            let event = FeedbackEvent {
                suggestion_id: id.clone(),
                kind,
                at_ms: now_ms(),
                suggestion: Some(facts.clone()),
            };
            if feed {
                sink.record(event);
            }
        }
    }
    let all = Tally {
        positions: first.positions + second.positions,
        accepted: first.accepted + second.accepted,
        chars: first.chars + second.chars,
    };
    report.acceptance_rate = all.rate();
    report.first_half_acceptance_rate = first.rate();
    report.second_half_acceptance_rate = second.rate();
    report.accepted_chars_per_suggestion = all.chars();
    report.first_half_accepted_chars_per_suggestion = first.chars();
    report.second_half_accepted_chars_per_suggestion = second.chars();
    report.exact_match = if report.positions == 0 {
        0.0
    } else {
        exact as f64 / report.positions as f64
    };
    latencies.sort_by(f64::total_cmp);
    report.p50_latency_ms = percentile(&latencies, 0.5);
    report.p95_latency_ms = percentile(&latencies, 0.95);
    {
        let state = adaptation.lock().unwrap_or_else(|p| p.into_inner());
        report.cache_tokens = state.cache().tokens_seen();
        report.cache_chars = state.text_cache().len();
    }
    Ok(report)
}
