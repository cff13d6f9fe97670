//! Workspace fine-tuning (`ghostline tune`, issue 10): the last layers of a base model trained on
//! a workspace's own text, written as an **overlay**: only the changed tensors, in Hugging Face
//! names, in a safetensors file whose header metadata names the base model it belongs to.
//!
//! - The token embedding (tied to the output head) and every layer but the last `layers` are
//!   frozen (`require_grad` off, so backward stops at the first trained layer); the final norm
//!   trains with them.
//! - Texts are FIM-transformed as in pretraining ([`crate::fim::transform_document`]: about half
//!   of the chunks become PSM or SPM examples) and packed into windows; next-token loss, AdamW,
//!   warmup + cosine, global-norm clipping, a step and wall-time budget.
//! - Optionally a preference (DPO) phase on (context, written line, rejected suggestion) pairs:
//!   `prefer.rs`.
//! - `overlay.rs`: the file; [`merge`] puts an overlay onto base weights (fingerprint, names and
//!   shapes checked) — the tuned model is the base with those tensors replaced, so switching the
//!   overlay off is loading the base.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Int, Tensor, TensorData};
use ghostline_model::import::TensorSpec;
use ghostline_model::{Llama, LlamaConfig, TextTokenizer};

use crate::fim::{Piece, TransformOptions, transform_document};
pub use crate::overlay::{
    Overlay, OverlayMeta, base_fingerprint, merge, parse_overlay, read_overlay, write_overlay,
};
use crate::overlay::{merge_tensors, rebuild};
pub use crate::prefer::PreferencePair;
use crate::prefer::{dpo_loss, encode_pairs, preference_stats, reference_logprobs, stats_of};
use crate::rng::SplitMix64;

/// Marks a safetensors file as a ghostline overlay (metadata key and value).
pub const OVERLAY_FORMAT: (&str, &str) = ("ghostline_overlay", "1");

/// What went wrong while tuning or reading an overlay.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// No text to train on.
    #[error("nothing to tune on: the texts hold fewer than {needed} tokens")]
    NoData {
        /// Tokens one window needs.
        needed: usize,
    },
    /// The tokenizer lacks a special token the FIM transform writes.
    #[error("the tokenizer has no {0} token")]
    MissingSpecial(&'static str),
    /// The model crate refused weights.
    #[error("{0}")]
    Model(#[from] ghostline_model::ModelError),
    /// The loss stopped being a number.
    #[error("the loss is {loss} at step {step}")]
    Diverged {
        /// Step.
        step: usize,
        /// Loss.
        loss: f32,
    },
    /// An overlay file that cannot be used with this model.
    #[error("overlay {path}: {message}")]
    Overlay {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

pub(crate) fn overlay_error(path: &Path, message: impl Into<String>) -> TuneError {
    TuneError::Overlay {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// How to tune.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Decoder layers trained, counted from the last (with the final norm); the rest is frozen.
    pub layers: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_learning_rate: f64,
    /// Linear warmup steps.
    pub warmup_steps: usize,
    /// Most optimizer steps.
    pub max_steps: usize,
    /// Passes over the data at most.
    pub epochs: f64,
    /// Wall-time budget (seconds); the schedule is shortened to fit after the first steps.
    pub max_seconds: f64,
    /// Tokens per window.
    pub seq_len: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Most training tokens kept (the latest texts win).
    pub max_tokens: usize,
    /// The FIM transform (rate, PSM/SPM mix, chunking).
    pub transform: TransformOptions,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Global gradient-norm clip.
    pub grad_clip_norm: f32,
    /// Seed of the transform and the window order.
    pub seed: u64,
    /// Share of the time budget for the preference (DPO) phase when pairs are given (0: none).
    pub preference_share: f64,
    /// DPO's β.
    pub preference_beta: f32,
    /// Learning rate of the preference phase (constant).
    pub preference_lr: f64,
    /// Passes over the pairs at most.
    pub preference_epochs: f64,
    /// Weight of the chosen line's per-token negative log-likelihood added to the DPO loss.
    pub preference_nll: f32,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            layers: 2,
            learning_rate: 3e-4,
            min_learning_rate: 3e-5,
            warmup_steps: 5,
            max_steps: 400,
            epochs: 2.0,
            max_seconds: 90.0,
            seq_len: 256,
            batch_size: 4,
            max_tokens: 200_000,
            transform: TransformOptions::default(),
            weight_decay: 0.0,
            grad_clip_norm: 1.0,
            seed: 0,
            preference_share: 0.0,
            preference_beta: 0.1,
            preference_lr: 1e-4,
            preference_epochs: 4.0,
            preference_nll: 1.0,
        }
    }
}

/// One text to tune on.
#[derive(Debug, Clone)]
pub struct TuneText {
    /// Its path (the transform may write it after `<|file_sep|>`).
    pub path: String,
    /// Its contents.
    pub text: String,
}

/// What a tuning run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TuneReport {
    /// Optimizer steps done.
    pub steps: usize,
    /// Tokens in the packed training data.
    pub data_tokens: usize,
    /// Tokens trained on (steps × batch × window).
    pub tokens_seen: usize,
    /// Mean loss of the first step.
    pub first_loss: f32,
    /// Mean loss of the last 5 steps.
    pub last_loss: f32,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Layers trained.
    pub layers: usize,
    /// Preference pairs used (after filtering).
    #[serde(default)]
    pub preference_pairs: usize,
    /// Preference (DPO) steps done.
    #[serde(default)]
    pub preference_steps: usize,
    /// Fraction of pairs whose chosen line the model finds more likely than the rejected one,
    /// before → after the DPO phase.
    #[serde(default)]
    pub preference_accuracy: Option<(f64, f64)>,
    /// Mean log-probability margin chosen − rejected (nats), before → after.
    #[serde(default)]
    pub preference_margin: Option<(f64, f64)>,
}

impl TuneReport {
    /// One line for people: steps, tokens, loss first → last, wall time.
    pub fn summary(&self) -> String {
        format!(
            "{} steps, {} tokens trained of {} in the data, loss {:.3} -> {:.3}, {:.1} s",
            self.steps,
            self.tokens_seen,
            self.data_tokens,
            self.first_loss,
            self.last_loss,
            self.seconds
        )
    }
}

/// A tuned model: the merged weights for inference, and the overlay (changed tensors only).
pub struct Tuned {
    /// Base weights with the overlay applied, on the base model's device.
    pub model: Llama,
    /// The trained tensors (HF names, f32).
    pub overlay: Vec<(TensorSpec, Vec<f32>)>,
    /// Numbers of the run.
    pub report: TuneReport,
}

/// Whether an HF tensor name belongs to the trained part (the last `layers` layers, final norm).
fn trained_name(name: &str, n_layers: usize, layers: usize) -> bool {
    if name == "model.norm.weight" {
        return true;
    }
    name.strip_prefix("model.layers.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n + layers >= n_layers)
}

/// Turns gradients off for every parameter outside the trained part (by module path).
struct Freeze {
    path: Vec<String>,
    first_trained: usize,
}

impl Freeze {
    fn trained(&self) -> bool {
        match self.path.first().map(String::as_str) {
            Some("norm") => true,
            Some("layers") => self
                .path
                .get(1)
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n >= self.first_trained),
            _ => false,
        }
    }
}

impl ModuleMapper for Freeze {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.trained() {
            param
        } else {
            param.set_require_grad(false)
        }
    }
}

/// Packs the texts (FIM-transformed) into one token stream; the latest `max_tokens` are kept.
fn pack(
    tokenizer: &TextTokenizer,
    texts: &[TuneText],
    options: &TuneOptions,
) -> Result<Vec<u32>, TuneError> {
    let mut special = HashMap::new();
    for token in crate::fim::SpecialToken::ALL {
        if let Some(id) = tokenizer.token_id(token.as_str()) {
            special.insert(token, id);
        }
    }
    let mut tokens = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let mut rng = crate::data::document_rng(options.seed, index);
        for piece in transform_document(&text.path, &text.text, &options.transform, &mut rng) {
            match piece {
                Piece::Text(t) => tokens.extend(tokenizer.encode(t)),
                Piece::Special(s) => tokens.push(
                    *special
                        .get(&s)
                        .ok_or(TuneError::MissingSpecial(s.as_str()))?,
                ),
            }
        }
    }
    if tokens.len() > options.max_tokens {
        tokens.drain(..tokens.len() - options.max_tokens);
    }
    Ok(tokens)
}

/// Learning rate at `step` of `total`: linear warmup, then cosine to the minimum.
fn learning_rate(options: &TuneOptions, step: usize, total: usize) -> f64 {
    if step < options.warmup_steps {
        return options.learning_rate * (step + 1) as f64 / options.warmup_steps as f64;
    }
    let decay = total.saturating_sub(options.warmup_steps).max(1);
    let progress = ((step - options.warmup_steps) as f64 / decay as f64).min(1.0);
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    options.min_learning_rate + (options.learning_rate - options.min_learning_rate) * cosine
}

/// Tunes the last `options.layers` layers of `base` on `texts`; `progress` gets (step, total,
/// loss) after each step.
pub fn tune(
    config: &LlamaConfig,
    base: &Llama,
    tokenizer: &TextTokenizer,
    texts: &[TuneText],
    options: &TuneOptions,
    progress: &mut dyn FnMut(usize, usize, f32),
) -> Result<Tuned, TuneError> {
    tune_with_preferences(config, base, tokenizer, texts, &[], options, progress)
}

/// [`tune`], then (when `pairs` is not empty and `options.preference_share > 0`) a DPO phase on
/// the pairs in the last part of the time budget (see [`crate::prefer`]).
pub fn tune_with_preferences(
    config: &LlamaConfig,
    base: &Llama,
    tokenizer: &TextTokenizer,
    texts: &[TuneText],
    pairs: &[PreferencePair],
    options: &TuneOptions,
    progress: &mut dyn FnMut(usize, usize, f32),
) -> Result<Tuned, TuneError> {
    let started = Instant::now();
    let share = if pairs.is_empty() {
        0.0
    } else {
        options.preference_share.clamp(0.0, 0.9)
    };
    let lm_seconds = options.max_seconds * (1.0 - share);
    let tokens = pack(tokenizer, texts, options)?;
    // Less text than one window: shorter windows, down to a minimum.
    const MIN_WINDOW: usize = 16;
    let seq = options
        .seq_len
        .min(config.max_position_embeddings)
        .min(tokens.len().saturating_sub(1))
        .max(2);
    let batch = options.batch_size.max(1);
    if seq < MIN_WINDOW.min(options.seq_len) || tokens.len() < seq + 1 {
        return Err(TuneError::NoData {
            needed: MIN_WINDOW + 1,
        });
    }
    // Windows of seq + 1 tokens at stride seq (inputs and shifted targets).
    let n_windows = (tokens.len() - 1) / seq;
    let base_device = base.embedding_weight().device();
    let train_device = base_device.clone().autodiff();
    let base_tensors = base.to_hf_tensors(config);
    let model = rebuild(config, &base_tensors, &train_device)?;
    let layers = options.layers.clamp(1, config.num_hidden_layers);
    let mut model = model.map(&mut Freeze {
        path: Vec::new(),
        first_trained: config.num_hidden_layers - layers,
    });
    let mut optimizer = AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.95)
        .with_epsilon(1e-8)
        .with_weight_decay(options.weight_decay)
        .init();
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let by_epochs = ((options.epochs * n_windows as f64) / batch as f64).ceil() as usize;
    let mut total = options.max_steps.min(by_epochs).max(1);
    // Window order: a seeded shuffle, reshuffled each pass.
    let mut rng = SplitMix64::new(options.seed ^ 0x7475_6e65);
    let mut order: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut losses = Vec::new();
    let mut step = 0;
    let mut loop_started = Instant::now();
    while step < total {
        let mut inputs = Vec::with_capacity(batch * seq);
        let mut targets = Vec::with_capacity(batch * seq);
        for _ in 0..batch {
            if next >= order.len() {
                order = (0..n_windows).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                next = 0;
            }
            let start = order[next] * seq;
            next += 1;
            let window = &tokens[start..start + seq + 1];
            inputs.extend(window[..seq].iter().map(|&t| i64::from(t)));
            targets.extend(window[1..].iter().map(|&t| i64::from(t)));
        }
        let inputs =
            Tensor::<2, Int>::from_data(TensorData::new(inputs, [batch, seq]), &train_device);
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(targets, [batch * seq]), &train_device);
        let logits = model.forward(inputs);
        let vocab = logits.dims()[2];
        let loss = loss_fn.forward(logits.reshape([batch * seq, vocab]), targets);
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            return Err(TuneError::Diverged { step, loss: value });
        }
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        crate::trainer::clip_global_norm(&model, &mut grads, options.grad_clip_norm);
        let lr = learning_rate(options, step, total);
        model = optimizer.step(lr, model, grads);
        losses.push(value);
        step += 1;
        // The first step's time includes one-off setup; from the fourth on, the pace so far
        // shortens the schedule (never lengthens it) so that the run ends within the budget
        // even when the machine gets busier; past the budget it stops.
        if step == 1 {
            loop_started = Instant::now();
        } else if step >= 4 {
            let per_step = loop_started.elapsed().as_secs_f64() / (step - 1) as f64;
            let left = lm_seconds - started.elapsed().as_secs_f64();
            let fit = step + (left.max(0.0) / per_step.max(1e-6)).floor() as usize;
            total = total.min(fit);
        }
        progress(step, total, value);
    }
    let mut preference = (0, 0, None, None);
    if share > 0.0 {
        let mode = config.fim_order.unwrap_or_default();
        let encoded = encode_pairs(tokenizer, mode, pairs, config.max_position_embeddings);
        if !encoded.is_empty() {
            let reference = reference_logprobs(&model.valid(), &encoded);
            let before = stats_of(&reference);
            let batch_size = 4.min(encoded.len());
            let max_steps = ((options.preference_epochs * encoded.len() as f64) / batch_size as f64)
                .ceil() as usize;
            let mut order: Vec<usize> = Vec::new();
            let mut next = 0;
            let mut steps = 0;
            while steps < max_steps && started.elapsed().as_secs_f64() < options.max_seconds {
                let mut batch = Vec::with_capacity(batch_size);
                while batch.len() < batch_size {
                    if next >= order.len() {
                        order = (0..encoded.len()).collect();
                        for i in (1..order.len()).rev() {
                            order.swap(i, rng.below(i as u64 + 1) as usize);
                        }
                        next = 0;
                    }
                    batch.push(order[next]);
                    next += 1;
                }
                let loss = dpo_loss(
                    &model,
                    &encoded,
                    &reference,
                    &batch,
                    options.preference_beta,
                    options.preference_nll,
                );
                let value = loss.clone().into_scalar::<f32>();
                if !value.is_finite() {
                    return Err(TuneError::Diverged { step, loss: value });
                }
                let mut grads = GradientsParams::from_grads(loss.backward(), &model);
                crate::trainer::clip_global_norm(&model, &mut grads, options.grad_clip_norm);
                model = optimizer.step(options.preference_lr, model, grads);
                steps += 1;
                progress(step + steps, total + max_steps, value);
            }
            let after = preference_stats(&model.valid(), &encoded);
            preference = (
                encoded.len(),
                steps,
                Some((before.0, after.0)),
                Some((before.1, after.1)),
            );
        }
    }
    let trained = model.valid();
    let tuned_tensors = trained.to_hf_tensors(config);
    let n_layers = config.num_hidden_layers;
    let overlay: Vec<(TensorSpec, Vec<f32>)> = tuned_tensors
        .into_iter()
        .filter(|(spec, _)| trained_name(&spec.name, n_layers, layers))
        .collect();
    let model = merge_tensors(
        config,
        base_tensors,
        &overlay,
        &base_device,
        Path::new("<tune>"),
    )?;
    let tail = &losses[losses.len().saturating_sub(5)..];
    let report = TuneReport {
        steps: step,
        data_tokens: tokens.len(),
        tokens_seen: step * batch * seq,
        first_loss: losses.first().copied().unwrap_or(0.0),
        last_loss: tail.iter().sum::<f32>() / tail.len().max(1) as f32,
        seconds: started.elapsed().as_secs_f64(),
        layers,
        preference_pairs: preference.0,
        preference_steps: preference.1,
        preference_accuracy: preference.2,
        preference_margin: preference.3,
    };
    Ok(Tuned {
        model,
        overlay,
        report,
    })
}

/// Mean next-token loss (nats/token) of `model` on `text` in plain windows of `seq_len` tokens,
/// at most `max_windows` of them (a measurement, e.g. on text the tuning never saw).
pub fn mean_loss(
    model: &Llama,
    tokenizer: &TextTokenizer,
    text: &str,
    seq_len: usize,
    max_windows: usize,
) -> Option<f64> {
    let tokens = tokenizer.encode(text);
    let seq = seq_len.max(2);
    let n_windows = (tokens.len().saturating_sub(1) / seq).min(max_windows);
    if n_windows == 0 {
        return None;
    }
    let device = model.embedding_weight().device();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut total = 0.0;
    for w in 0..n_windows {
        let window = &tokens[w * seq..w * seq + seq + 1];
        let inputs: Vec<i64> = window[..seq].iter().map(|&t| i64::from(t)).collect();
        let targets: Vec<i64> = window[1..].iter().map(|&t| i64::from(t)).collect();
        let logits = model.forward(Tensor::<2, Int>::from_data(
            TensorData::new(inputs, [1, seq]),
            &device,
        ));
        let vocab = logits.dims()[2];
        let loss = loss_fn.forward(
            logits.reshape([seq, vocab]),
            Tensor::<1, Int>::from_data(TensorData::new(targets, [seq]), &device),
        );
        total += f64::from(loss.into_scalar::<f32>());
    }
    Some(total / n_windows as f64)
}
