//! `ghostline replay`: the replay benchmark's command line (logic in `crate::replay`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::completion::CompletionConfig;
use crate::model::{DevicePreference, ModelSpec};
use crate::replay::{self, PairedLatency, RunReport};

/// Which runs to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdaptMode {
    /// Adaptation on only.
    On,
    /// Adaptation off only (the baseline).
    Off,
    /// Both, baseline first.
    Both,
}

/// `ghostline replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The repository to walk.
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// Print `{"baseline": {...}, "adapted": {...}}`.
    #[arg(long)]
    pub json: bool,
    /// Run with adaptation on, off, or both (interleaved position by position, so both see the
    /// same machine load; `latency` then compares them).
    #[arg(long, value_enum, default_value = "both")]
    pub adapt: AdaptMode,
    /// Most positions asked per run (spread evenly over the walk).
    #[arg(long, default_value_t = 200)]
    pub max_suggestions: usize,
    /// Seed of the position choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Most new tokens per suggestion.
    #[arg(long, default_value_t = 48)]
    pub max_tokens: usize,
    /// Feed this repository's source files to the adaptation before the walk (with
    /// `--no-walk-feed`: the harm on a repository the adaptation was not fed).
    #[arg(long, value_name = "DIR")]
    pub prime: Option<PathBuf>,
    /// Do not feed the walk's own text and outcomes to the adaptation.
    #[arg(long)]
    pub no_walk_feed: bool,
    /// A model directory; default: the embedded model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Where to run the model.
    #[arg(long, default_value = "auto", value_parser = super::parse_device)]
    pub device: DevicePreference,
    #[command(flatten)]
    pub tune: super::replay_tune::TuneArgs,
}

#[derive(serde::Serialize)]
struct Output {
    repo: String,
    model: String,
    seed: u64,
    files: usize,
    candidate_positions: usize,
    baseline: Option<RunReport>,
    adapted: Option<RunReport>,
    /// Both runs' latencies measured interleaved (`--adapt both`).
    latency: Option<PairedLatency>,
    /// The tuning done at the half (`--tune-at-half`).
    tune: Option<super::replay_tune::TuneOutput>,
}

/// Runs the replay.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let walk = replay::plan(&args.repo, args.max_suggestions, args.seed)?;
    let spec = ModelSpec {
        path: args.model.clone(),
        device: args.device,
        ..ModelSpec::default()
    };
    let mut model = crate::model::engine::load(&spec)
        .with_context(|| format!("loading {}", spec.describe()))?;
    let config = CompletionConfig {
        n_invoked: 1,
        max_tokens: args.max_tokens,
        time_budget_ms: None,
        seed: args.seed,
        ..CompletionConfig::default()
    };
    let prime = match &args.prime {
        Some(dir) => replay::plan(dir, 0, args.seed)?
            .files
            .into_iter()
            .map(|file| file.chars.into_iter().collect())
            .collect(),
        None => Vec::new(),
    };
    let adapt_options = replay::AdaptOptions {
        on: true,
        feed_walk: !args.no_walk_feed,
        prime,
    };
    let tune_state = super::replay_tune::TuneState::default();
    let tune_hook = || args.tune.hook(&spec, &args.tune.texts_dir, &tune_state);
    let (baseline, adapted, latency) = match args.adapt {
        AdaptMode::Both => {
            let (baseline, adapted, latency) = replay::run_paired_tuned(
                model.as_mut(),
                &walk,
                &adapt_options,
                &config,
                tune_hook()?,
            )?;
            (Some(baseline), Some(adapted), Some(latency))
        }
        AdaptMode::Off => {
            let off = replay::AdaptOptions::default();
            let baseline = replay::run_tuned(
                model.as_mut(),
                &walk,
                &off,
                &config,
                tune_hook()?,
                args.tune.second_half_only,
            )?;
            (Some(baseline), None, None)
        }
        AdaptMode::On => {
            let adapted = replay::run_tuned(
                model.as_mut(),
                &walk,
                &adapt_options,
                &config,
                tune_hook()?,
                false,
            )?;
            (None, Some(adapted), None)
        }
    };
    let output = Output {
        repo: args.repo.display().to_string(),
        model: model.info().name,
        seed: args.seed,
        files: walk.files.len(),
        candidate_positions: walk.candidates,
        baseline,
        adapted,
        latency,
        tune: tune_state.take(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(());
    }
    println!(
        "replay of {} ({} files, {} of {} candidate positions, model {}, seed {})",
        output.repo,
        output.files,
        walk.positions.len(),
        output.candidate_positions,
        output.model,
        output.seed
    );
    println!(
        "{:<9} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "run", "accept", "1st-half", "2nd-half", "exact", "chars", "partial", "p50ms", "p95ms"
    );
    for (name, report) in [("baseline", &output.baseline), ("adapted", &output.adapted)] {
        if let Some(r) = report {
            println!(
                "{:<9} {:>5.1}% {:>7.1}% {:>7.1}% {:>7.1}% {:>7.2} {:>7} {:>7.0} {:>7.0}",
                name,
                100.0 * r.acceptance_rate,
                100.0 * r.first_half_acceptance_rate,
                100.0 * r.second_half_acceptance_rate,
                100.0 * r.exact_match,
                r.accepted_chars_per_suggestion,
                r.partially_accepted,
                r.p50_latency_ms,
                r.p95_latency_ms
            );
        }
    }
    if let Some(latency) = &output.latency {
        println!(
            "latency, interleaved: p95 baseline {:.0} ms, adapted {:.0} ms ({:+.1} %); per-position ratio median {:.3}, p95 {:.3}",
            latency.baseline_p95_ms,
            latency.adapted_p95_ms,
            100.0 * latency.p95_change,
            latency.median_paired_ratio,
            latency.p95_paired_ratio
        );
    }
    Ok(())
}
