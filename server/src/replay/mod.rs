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

/// Called once, when the walk reaches its first second-half position, with what is written by
/// then (`TuneInput::written`: the finished files whole and the current file up to the cursor,
/// never later text); returns the model the adapted run uses from there on (`ghostline replay
/// --tune-at-half`: the model tuned on that text). `TuneInput::later` (the text after that
/// point, at most [`LATER_TEXT_CHARS`]) is only for measuring the tuned model's loss on text it
/// never saw, never for training.
pub type TuneAtHalf<'a> =
    Box<dyn FnOnce(TuneInput) -> anyhow::Result<Box<dyn CompletionModel>> + 'a>;

/// What a [`TuneAtHalf`] hook gets.
#[derive(Clone, Debug, Default)]
pub struct TuneInput {
    /// `(path, text)` written so far ([`written_before`]).
    pub written: Vec<(String, String)>,
    /// The text after (for measurement only, see [`written_after`]).
    pub later: String,
    /// The run's rejected first-half suggestions as `(text before, line the user wrote, rejected
    /// line)`: preferences.
    pub pairs: Vec<(String, String, String)>,
}

/// Chars of later text handed to a [`TuneAtHalf`] hook for measurement.
pub const LATER_TEXT_CHARS: usize = 40_000;

/// The walk's text after position `index` (see [`TuneAtHalf`]).
pub fn written_after(walk: &Walk, index: usize) -> String {
    let position = &walk.positions[index];
    let mut text: String = walk.files[position.file].chars[position.cursor..]
        .iter()
        .take(LATER_TEXT_CHARS)
        .collect();
    for file in &walk.files[position.file + 1..] {
        if text.len() >= LATER_TEXT_CHARS {
            break;
        }
        text.extend(file.chars.iter().take(LATER_TEXT_CHARS - text.len()));
    }
    text
}

/// What the simulated user has written when the walk reaches position `index`.
pub fn written_before(walk: &Walk, index: usize) -> Vec<(String, String)> {
    let position = &walk.positions[index];
    let mut texts: Vec<(String, String)> = walk.files[..position.file]
        .iter()
        .map(|f| (f.path.display().to_string(), f.chars.iter().collect()))
        .collect();
    let file = &walk.files[position.file];
    texts.push((
        file.path.display().to_string(),
        file.chars[..position.cursor].iter().collect(),
    ));
    texts
}

/// One run's state while the walk goes on: its adaptation (fresh), tallies and latencies.
struct Runner<'w> {
    walk: &'w Walk,
    /// "baseline" or "adapted" (trace lines).
    label: &'static str,
    adaptation: Arc<Mutex<Adaptation>>,
    inbox: crate::adapt::Inbox,
    sink: AdaptationSink,
    adapt: bool,
    feed: bool,
    report: RunReport,
    first: Tally,
    second: Tally,
    exact: usize,
    latencies: Vec<f64>,
    trace: bool,
    /// Files before `fed_file` were fed to the adaptation.
    fed_file: usize,
    /// Rejected or partly accepted suggestions: (text before, real line, suggested line).
    pairs: Vec<(String, String, String)>,
}

impl<'w> Runner<'w> {
    fn new(walk: &'w Walk, options: &AdaptOptions, label: &'static str) -> Runner<'w> {
        let adaptation = Arc::new(Mutex::new(Adaptation::new()));
        let inbox = adaptation.lock().unwrap_or_else(|p| p.into_inner()).inbox();
        if options.on {
            for text in &options.prime {
                inbox.observe_text(text.clone());
            }
        }
        let sink = AdaptationSink::new(inbox.clone(), Box::new(NoSink), Arc::new(true.into()));
        Runner {
            walk,
            label,
            adaptation,
            inbox,
            sink,
            adapt: options.on,
            feed: options.on && options.feed_walk,
            report: RunReport {
                positions: walk.positions.len(),
                ..RunReport::default()
            },
            first: Tally::default(),
            second: Tally::default(),
            exact: 0,
            latencies: Vec::new(),
            // GHOSTLINE_REPLAY_TRACE=1 prints every position's suggestion and the real code.
            trace: std::env::var_os("GHOSTLINE_REPLAY_TRACE").is_some(),
            fed_file: 0,
            pairs: Vec::new(),
        }
    }

    /// Asks at the walk's position `index`; returns the pipeline's time in ms.
    fn step(
        &mut self,
        model: &mut dyn CompletionModel,
        index: usize,
        config: &CompletionConfig,
    ) -> anyhow::Result<f64> {
        let walk = self.walk;
        let position = &walk.positions[index];
        let file = &walk.files[position.file];
        // Finished files are fed whole, as the server feeds a closed document; the current
        // file before the cursor is searched by the text cache on each request, as the server
        // searches the document being edited.
        if self.feed {
            while self.fed_file < position.file {
                let text = walk.files[self.fed_file].chars.iter().collect::<String>();
                self.inbox.observe_text(text);
                self.fed_file += 1;
            }
        }
        let prefix: String = file.chars[..position.cursor].iter().collect();
        let target: String = file.chars[position.cursor..].iter().collect();
        let cancel = CancelFlag::new();
        let adapt = self.adapt;
        let outcome = crate::adapt::fallback::complete(
            model,
            adapt.then(|| self.adaptation.clone()),
            if adapt {
                vec![prefix.clone()]
            } else {
                Vec::new()
            },
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
        let latency = outcome.timings.total_ms;
        self.latencies.push(latency);
        let suggestion = outcome
            .items
            .first()
            .map(|item| item.insert_text.clone())
            .unwrap_or_default();
        let decision = score::decide(&suggestion, &target);
        if self.trace {
            let real = target.split('\n').next().unwrap_or("");
            eprintln!(
                "{}:{} {:?} {decision:?} [{}]\n  got  {suggestion:?}\n  real {real:?}",
                file.path.display(),
                position.cursor,
                position.kind,
                self.label,
            );
        }
        let half = if index * 2 < walk.positions.len() {
            &mut self.first
        } else {
            &mut self.second
        };
        half.positions += 1;
        half.chars += decision.accepted_chars();
        match decision {
            Decision::Accepted { .. } => {
                half.accepted += 1;
                self.report.accepted += 1;
            }
            Decision::Partial { .. } => self.report.partially_accepted += 1,
            Decision::Rejected => self.report.rejected += 1,
        }
        if score::exact_match(&suggestion, &target) {
            self.exact += 1;
        }
        if !matches!(decision, Decision::Accepted { .. }) && !suggestion.is_empty() {
            let line = |text: &str| text.split('\n').next().unwrap_or("").to_string();
            self.pairs.push((
                tail(&file.chars[..position.cursor], 1000),
                line(&target),
                line(&suggestion),
            ));
        }
        if suggestion.is_empty() {
            return Ok(latency);
        }
        self.report.suggestions += 1;
        if !self.feed {
            return Ok(latency);
        }
        // The outcome goes through the normal feedback path.
        let facts = SuggestionFacts {
            language_id: file.language_id.to_string(),
            uri: format!("file:///{}", file.path.display()),
            model_id: model.info().name,
            trigger_kind: "invoked",
            prompt_tokens: Some(outcome.prompt_tokens),
            text: suggestion.clone(),
            context_before: tail(&file.chars[..position.cursor], EVENT_CONTEXT_CHARS),
            context_after: String::new(),
            from_cache: false,
            since_request_ms: latency,
            latency_ms: latency,
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
            self.sink.record(FeedbackEvent {
                suggestion_id: id.clone(),
                kind,
                at_ms: now_ms(),
                suggestion: Some(facts.clone()),
            });
        }
        Ok(latency)
    }

    fn finish(self) -> RunReport {
        let mut report = self.report;
        let (first, second) = (self.first, self.second);
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
            self.exact as f64 / report.positions as f64
        };
        let mut latencies = self.latencies;
        latencies.sort_by(f64::total_cmp);
        report.p50_latency_ms = percentile(&latencies, 0.5);
        report.p95_latency_ms = percentile(&latencies, 0.95);
        let state = self.adaptation.lock().unwrap_or_else(|p| p.into_inner());
        report.cache_tokens = state.cache().tokens_seen();
        report.cache_chars = state.text_cache().len();
        report
    }
}

/// Replays `walk` once.
pub fn run(
    model: &mut dyn CompletionModel,
    walk: &Walk,
    options: &AdaptOptions,
    config: &CompletionConfig,
) -> anyhow::Result<RunReport> {
    run_tuned(model, walk, options, config, None, false)
}

/// [`run`] whose model is replaced at the half by `tune` (when given); `second_half_only` skips
/// the first half's asks (only for a run without adaptation, whose asks do not depend on each
/// other: a quick look at what tuning alone does).
pub fn run_tuned(
    model: &mut dyn CompletionModel,
    walk: &Walk,
    options: &AdaptOptions,
    config: &CompletionConfig,
    mut tune: Option<TuneAtHalf<'_>>,
    second_half_only: bool,
) -> anyhow::Result<RunReport> {
    let mut runner = Runner::new(
        walk,
        options,
        if options.on { "adapted" } else { "baseline" },
    );
    let half = walk.positions.len().div_ceil(2);
    let mut tuned: Option<Box<dyn CompletionModel>> = None;
    for index in 0..walk.positions.len() {
        if index < half && second_half_only && !options.on {
            continue;
        }
        if index == half
            && let Some(tune) = tune.take()
        {
            tuned = Some(tune_here(tune, walk, index, &runner.pairs)?);
        }
        match tuned.as_mut() {
            Some(tuned) => runner.step(tuned.as_mut(), index, config)?,
            None => runner.step(model, index, config)?,
        };
    }
    if second_half_only && !options.on {
        runner.report.positions = walk.positions.len() - half;
    }
    Ok(runner.finish())
}

/// Calls `tune` with what the walk has written before position `index`, the text after it, and
/// the run's (text before, real line, suggested line) pairs so far.
fn tune_here(
    tune: TuneAtHalf<'_>,
    walk: &Walk,
    index: usize,
    pairs: &[(String, String, String)],
) -> anyhow::Result<Box<dyn CompletionModel>> {
    tune(TuneInput {
        written: written_before(walk, index),
        later: written_after(walk, index),
        pairs: pairs.to_vec(),
    })
}

/// Latencies of the baseline and the adapted run measured position by position in one process
/// (see [`run_paired`]), so both see the same machine load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PairedLatency {
    /// Positions measured (both runs at each).
    pub positions: usize,
    /// How the runs were ordered at each position.
    pub order: &'static str,
    /// Baseline p50 / p95, ms.
    pub baseline_p50_ms: f64,
    /// Baseline p95, ms.
    pub baseline_p95_ms: f64,
    /// Adapted p50, ms.
    pub adapted_p50_ms: f64,
    /// Adapted p95, ms.
    pub adapted_p95_ms: f64,
    /// adapted p95 / baseline p95 − 1.
    pub p95_change: f64,
    /// Median over positions of adapted / baseline time at that position.
    pub median_paired_ratio: f64,
    /// 95th percentile of the same per-position ratios.
    pub p95_paired_ratio: f64,
    /// Baseline p95 over the second half's positions, ms (with `--tune-at-half`, where the
    /// adapted run uses the tuned model).
    pub second_half_baseline_p95_ms: f64,
    /// Adapted p95 over the second half's positions, ms.
    pub second_half_adapted_p95_ms: f64,
}

/// Replays `walk` without and with adaptation interleaved: at each position both runs ask, in
/// alternating order (baseline first at even positions), each after the model forgot its
/// reusable prompt state (so neither reuses the other's prefill). Machine load then falls on both
/// alike; the accept figures are the same as two separate runs'.
pub fn run_paired(
    model: &mut dyn CompletionModel,
    walk: &Walk,
    adapted: &AdaptOptions,
    config: &CompletionConfig,
) -> anyhow::Result<(RunReport, RunReport, PairedLatency)> {
    run_paired_tuned(model, walk, adapted, config, None)
}

/// [`run_paired`] where the adapted run switches to the model `tune` returns at the half (the
/// baseline keeps `model`, untouched).
pub fn run_paired_tuned(
    model: &mut dyn CompletionModel,
    walk: &Walk,
    adapted: &AdaptOptions,
    config: &CompletionConfig,
    mut tune: Option<TuneAtHalf<'_>>,
) -> anyhow::Result<(RunReport, RunReport, PairedLatency)> {
    let mut base = Runner::new(walk, &AdaptOptions::default(), "baseline");
    let mut adapt = Runner::new(walk, adapted, "adapted");
    let mut ratios = Vec::new();
    let half = walk.positions.len().div_ceil(2);
    let mut tuned: Option<Box<dyn CompletionModel>> = None;
    let mut second_half: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for index in 0..walk.positions.len() {
        if index == half
            && let Some(tune) = tune.take()
        {
            tuned = Some(tune_here(tune, walk, index, &adapt.pairs)?);
        }
        let mut times = [0.0; 2];
        for turn in 0..2 {
            let adapted_turn = (index + turn) % 2 == 1;
            model.forget_reusable_state();
            if adapted_turn {
                times[1] = match tuned.as_mut() {
                    Some(tuned) => {
                        tuned.forget_reusable_state();
                        adapt.step(tuned.as_mut(), index, config)?
                    }
                    None => adapt.step(model, index, config)?,
                };
            } else {
                times[0] = base.step(model, index, config)?;
            }
        }
        if times[0] > 0.0 {
            ratios.push(times[1] / times[0]);
        }
        if index >= half {
            second_half[0].push(times[0]);
            second_half[1].push(times[1]);
        }
    }
    let (base, adapt) = (base.finish(), adapt.finish());
    ratios.sort_by(f64::total_cmp);
    let latency = PairedLatency {
        positions: walk.positions.len(),
        order: "interleaved per position, alternating which run goes first",
        baseline_p50_ms: base.p50_latency_ms,
        baseline_p95_ms: base.p95_latency_ms,
        adapted_p50_ms: adapt.p50_latency_ms,
        adapted_p95_ms: adapt.p95_latency_ms,
        p95_change: if base.p95_latency_ms > 0.0 {
            adapt.p95_latency_ms / base.p95_latency_ms - 1.0
        } else {
            0.0
        },
        median_paired_ratio: percentile(&ratios, 0.5),
        p95_paired_ratio: percentile(&ratios, 0.95),
        second_half_baseline_p95_ms: {
            second_half[0].sort_by(f64::total_cmp);
            percentile(&second_half[0], 0.95)
        },
        second_half_adapted_p95_ms: {
            second_half[1].sort_by(f64::total_cmp);
            percentile(&second_half[1], 0.95)
        },
    };
    Ok((base, adapt, latency))
}
