//! `ghostline replay --tune-at-half SECONDS`: the adapted run switches, at the first second-half
//! position, to a second engine whose last layers were tuned on what is written by then (or, with
//! `--tune-texts DIR`, on another repository: the "not fed" check). The baseline keeps the
//! untouched model.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use clap::Args;

use crate::adapt::tuned::{TuneOptions, TuneReport, TuneText, tune_engine};
use crate::model::{CompletionModel, ModelSpec};
use crate::replay::{self, TuneAtHalf, TuneInput};
use ghostline_train::tune::PreferencePair;
use ghostline_train::tune::mean_loss;

/// Tuning options of `ghostline replay`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Tune the adapted run's model when the walk reaches its second half, for at most this many
    /// seconds, on the text written so far (finished files, the current file up to the cursor).
    #[arg(long, value_name = "SECONDS")]
    pub tune_at_half: Option<f64>,
    /// Tune on this repository's files instead (the adaptation "not fed" the walk).
    #[arg(long = "tune-texts", value_name = "DIR")]
    pub texts_dir: Option<PathBuf>,
    /// Decoder layers tuned, from the last.
    #[arg(long, default_value_t = 2)]
    pub tune_layers: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub tune_lr: f64,
    /// Passes over the text at most.
    #[arg(long, default_value_t = 4.0)]
    pub tune_epochs: f64,
    /// Fraction of chunks trained as FIM examples (PSM / SPM; pretraining used 0.5; the server's
    /// prompts here have an empty suffix, so mostly plain text).
    #[arg(long, default_value_t = 0.2)]
    pub tune_fim_rate: f64,
    /// Most optimizer steps.
    #[arg(long, default_value_t = 400)]
    pub tune_max_steps: usize,
    /// Share of the tuning time spent on preferences (DPO) from the first half's rejected
    /// suggestions versus the lines written there (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub tune_preferences: f64,
    /// DPO's β.
    #[arg(long, default_value_t = 0.1)]
    pub tune_beta: f32,
    /// Learning rate of the preference phase.
    #[arg(long, default_value_t = 1e-4)]
    pub tune_preference_lr: f64,
    /// Passes over the preference pairs at most.
    #[arg(long, default_value_t = 2.0)]
    pub tune_preference_epochs: f64,
    /// Weight of the chosen line's per-token likelihood term next to the DPO loss.
    #[arg(long, default_value_t = 1.0)]
    pub tune_preference_nll: f32,
    /// With `--adapt off`: ask only at the second half's positions (a quick look at tuning
    /// alone; the first half's asks of a run without adaptation change nothing after them).
    #[arg(long)]
    pub second_half_only: bool,
}

/// What the tuning did, in `--json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TuneOutput {
    /// The texts tuned on.
    pub source: String,
    /// How many texts.
    pub texts: usize,
    /// Their chars.
    pub chars: usize,
    /// The run's numbers.
    pub report: TuneReport,
    /// Mean loss (nats/token) on the walk's text after the cursor (never trained on), base
    /// model → tuned model: does the tuning generalize to what the user writes next?
    pub later_text_loss: Option<(f64, f64)>,
}

/// Filled by the hook when it ran.
#[derive(Clone, Default)]
pub struct TuneState(Rc<RefCell<Option<TuneOutput>>>);

impl TuneState {
    /// The tuning's numbers, if it ran.
    pub fn take(&self) -> Option<TuneOutput> {
        self.0.borrow_mut().take()
    }
}

impl TuneArgs {
    /// The options `ghostline_train::tune` runs with.
    pub fn options(&self, seconds: f64) -> TuneOptions {
        let mut options = TuneOptions {
            layers: self.tune_layers,
            learning_rate: self.tune_lr,
            min_learning_rate: self.tune_lr / 10.0,
            max_steps: self.tune_max_steps,
            epochs: self.tune_epochs,
            max_seconds: seconds,
            ..TuneOptions::default()
        };
        options.transform.fim_rate = self.tune_fim_rate;
        options.preference_share = self.tune_preferences;
        options.preference_beta = self.tune_beta;
        options.preference_lr = self.tune_preference_lr;
        options.preference_epochs = self.tune_preference_epochs;
        options.preference_nll = self.tune_preference_nll;
        options
    }

    /// The replay's hook, when tuning is asked for: it owns a second engine, tuned at the half.
    pub fn hook<'a>(
        &'a self,
        spec: &ModelSpec,
        texts_dir: &'a Option<PathBuf>,
        state: &'a TuneState,
    ) -> anyhow::Result<Option<TuneAtHalf<'a>>> {
        let Some(seconds) = self.tune_at_half else {
            return Ok(None);
        };
        let mut engine = crate::model::engine::load_engine(spec)?;
        let options = self.options(seconds);
        Ok(Some(Box::new(move |input: TuneInput| {
            let TuneInput {
                written,
                later,
                pairs,
            } = input;
            let (source, texts) = match texts_dir {
                Some(dir) => (
                    dir.display().to_string(),
                    replay::plan(dir, 0, 0)?
                        .files
                        .into_iter()
                        .map(|f| (f.path.display().to_string(), f.chars.into_iter().collect()))
                        .collect(),
                ),
                None => ("the walk's text written so far".to_string(), written),
            };
            let texts: Vec<TuneText> = texts
                .into_iter()
                .map(|(path, text)| TuneText { path, text })
                .collect();
            let chars = texts.iter().map(|t| t.text.chars().count()).sum();
            eprintln!(
                "tuning on {} texts ({chars} chars) from {source}",
                texts.len()
            );
            let later_base = mean_loss(engine.model(), engine.tokenizer(), &later, 256, 12);
            let pairs: Vec<PreferencePair> = if self.tune_preferences > 0.0 && texts_dir.is_none() {
                pairs
                    .into_iter()
                    .map(|(context, chosen, rejected)| PreferencePair {
                        context,
                        chosen,
                        rejected,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let (_, report) = tune_engine(
                &mut engine,
                &texts,
                &pairs,
                &options,
                &mut crate::adapt::tuned::print_progress("tune step"),
            )?;
            eprintln!("tuned: {}", report.summary());
            if let (Some((before, after)), Some((m0, m1))) =
                (report.preference_accuracy, report.preference_margin)
            {
                eprintln!(
                    "preferences: {} pairs, {} steps, chosen more likely {before:.2} -> {after:.2}, mean margin {m0:.2} -> {m1:.2} nats",
                    report.preference_pairs, report.preference_steps
                );
            }
            let later_tuned = mean_loss(engine.model(), engine.tokenizer(), &later, 256, 12);
            let later_text_loss = later_base.zip(later_tuned);
            if let Some((base, tuned)) = later_text_loss {
                eprintln!("loss on the text written later: base {base:.3}, tuned {tuned:.3}");
            }
            *state.0.borrow_mut() = Some(TuneOutput {
                source,
                texts: texts.len(),
                chars,
                report,
                later_text_loss,
            });
            Ok(Box::new(engine) as Box<dyn CompletionModel>)
        })))
    }
}
