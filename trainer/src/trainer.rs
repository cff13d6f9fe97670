//! The training loop state: model, AdamW, schedule, global-norm clipping, and exact checkpoints.
//!
//! A checkpoint holds the model (burnpack, parameter ids included), the optimizer state (burnpack,
//! keyed by those ids), and `state.json` (step, tokens seen, histories). Batches are a pure
//! function of the step (see [`crate::data::TokenWindows`]) and no RNG is consumed while
//! training, so resuming from a checkpoint continues bit-for-bit as if never interrupted.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use ghostline_model::{Llama, LlamaConfig};
use serde::{Deserialize, Serialize};

use crate::data::TokenWindows;

/// Everything that defines a training run (saved as `run_config.json` in the run directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The model's hyper-parameters (Hugging Face `config.json` names).
    pub model: LlamaConfig,
    /// Directory with `train.tokens`, `heldout.tokens` (from `ghostline-train prepare`).
    pub data_dir: PathBuf,
    /// The tokenizer the data was encoded with.
    pub tokenizer: PathBuf,
    /// Held-out documents (JSONL) for the FIM exact-match evaluation.
    pub heldout_documents: PathBuf,
    /// Tokens per training sequence.
    pub seq_len: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Length of the schedule (optimizer steps).
    pub total_steps: usize,
    /// Linear warmup steps.
    pub warmup_steps: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// AdamW beta 1.
    pub beta_1: f32,
    /// AdamW beta 2.
    pub beta_2: f32,
    /// Clip the global gradient norm to this value.
    pub grad_clip_norm: f32,
    /// Seed of the model's random init.
    pub seed: u64,
    /// Save a checkpoint at least this often (seconds of training).
    pub checkpoint_every_secs: u64,
    /// Evaluate every this many steps (0: only at the end).
    pub eval_every_steps: usize,
    /// Held-out windows used for perplexity.
    pub eval_windows: usize,
    /// FIM exact-match samples per evaluation.
    pub fim_eval_samples: usize,
    /// Fit the schedule to this much wall time: after the first steps have been timed,
    /// `total_steps` is recomputed so that training (and its evaluations) ends within the budget,
    /// written into `run_config.json`, and this field cleared. `None`: `total_steps` as given.
    #[serde(default)]
    pub time_budget_secs: Option<f64>,
    /// Start from this model directory's weights (config.json + model.safetensors of the same
    /// shape) instead of the seeded random init; the optimizer state starts fresh.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Training window of step 0 (a continuation run starts where an earlier run stopped:
    /// earlier steps × batch size).
    #[serde(default)]
    pub window_offset: usize,
}

/// Learning rate at `step`: linear warmup to the peak, then cosine decay to the minimum.
pub fn learning_rate(config: &TrainConfig, step: usize) -> f64 {
    if step < config.warmup_steps {
        return config.learning_rate * (step + 1) as f64 / config.warmup_steps as f64;
    }
    let decay_steps = config
        .total_steps
        .saturating_sub(config.warmup_steps)
        .max(1);
    let progress = ((step - config.warmup_steps) as f64 / decay_steps as f64).min(1.0);
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    config.min_learning_rate + (config.learning_rate - config.min_learning_rate) * cosine
}

/// One evaluation's numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Optimizer steps done when evaluated.
    pub step: usize,
    /// Training tokens seen.
    pub tokens_seen: usize,
    /// Mean held-out cross-entropy (nats/token).
    pub heldout_loss: f64,
    /// `exp(heldout_loss)`.
    pub heldout_perplexity: f64,
    /// Single-line FIM exact match on held-out files (fraction).
    pub fim_exact_match: f64,
    /// Number of FIM samples.
    pub fim_samples: usize,
}

/// The part of the training state that is not tensors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimizer steps done.
    pub step: usize,
    /// Training tokens consumed.
    pub tokens_seen: usize,
    /// Training wall time so far, over all sessions (seconds).
    pub elapsed_secs: f64,
    /// `(step, loss)` for every step.
    pub losses: Vec<(usize, f32)>,
    /// Evaluations so far.
    pub evals: Vec<EvalRecord>,
}

/// Model + optimizer + state on the autodiff flex device.
pub struct Trainer {
    /// The run's configuration.
    pub config: TrainConfig,
    /// The model being trained (autodiff device).
    pub model: Llama,
    optimizer: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    device: Device,
    /// Counters and histories.
    pub state: TrainState,
}

/// Makes the CPU `flex` backend burn's default device for this process (burn otherwise picks
/// wgpu, and the optimizer materializes restored state on the default device).
pub fn use_flex_by_default() {
    // SAFETY: called at the start of `main`/tests before other threads read the environment.
    unsafe { std::env::set_var("BURN_DEVICE", "flex") };
}

/// Where a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrainDevice {
    /// burn's `flex` CPU backend (all cores through rayon).
    #[default]
    Cpu,
    /// burn's wgpu backend on the default adapter (Vulkan/Metal/DX12; a real GPU).
    Gpu,
}

impl TrainDevice {
    /// Makes this backend burn's default device (see [`use_flex_by_default`]) and returns the
    /// autodiff device to train on.
    pub fn select(self) -> Device {
        match self {
            TrainDevice::Cpu => {
                use_flex_by_default();
                Device::flex().autodiff()
            }
            TrainDevice::Gpu => {
                // SAFETY: as in `use_flex_by_default`.
                unsafe { std::env::set_var("BURN_DEVICE", "wgpu") };
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff()
            }
        }
    }
}

fn optimizer_config(config: &TrainConfig) -> AdamWConfig {
    AdamWConfig::new()
        .with_beta_1(config.beta_1)
        .with_beta_2(config.beta_2)
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay)
}

impl Trainer {
    /// A fresh run on the CPU: seeded random model, empty optimizer state.
    pub fn new(config: TrainConfig) -> Self {
        Trainer::new_on(config, TrainDevice::Cpu).expect("a seeded init cannot fail")
    }

    /// A fresh run on `device` (the seeded init is computed on the host, so it is the same model
    /// on every device).
    pub fn new_on(config: TrainConfig, device: TrainDevice) -> Result<Self> {
        let device = device.select();
        let model = match &config.init_from {
            None => config.model.init_seeded(&device, config.seed),
            Some(dir) => {
                let (loaded_config, model) = Llama::load_dir(dir, &device)
                    .map_err(|e| anyhow!("init_from {}: {e}", dir.display()))?;
                anyhow::ensure!(
                    loaded_config.n_params() == config.model.n_params()
                        && loaded_config.num_hidden_layers == config.model.num_hidden_layers
                        && loaded_config.hidden_size == config.model.hidden_size,
                    "init_from {}: its config differs from the run's model",
                    dir.display()
                );
                model
            }
        };
        let optimizer = optimizer_config(&config).init();
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        Ok(Trainer {
            config,
            model,
            optimizer,
            loss_fn,
            device,
            state: TrainState::default(),
        })
    }

    /// Restores a run from `checkpoint_dir` (written by [`Trainer::save_checkpoint`]).
    pub fn resume(config: TrainConfig, checkpoint_dir: &Path) -> Result<Self> {
        Trainer::resume_on(config, checkpoint_dir, TrainDevice::Cpu)
    }

    /// [`Trainer::resume`] on `device`.
    pub fn resume_on(
        config: TrainConfig,
        checkpoint_dir: &Path,
        device: TrainDevice,
    ) -> Result<Self> {
        let mut trainer = Trainer::new_on(config, device)?;
        let model_path = checkpoint_dir.join("model.bpk");
        trainer.model = trainer
            .model
            .try_load_file(&model_path)
            .map_err(|e| anyhow!("loading {}: {e:?}", model_path.display()))?;
        let optim_path = checkpoint_dir.join("optimizer.bpk");
        trainer.optimizer = optimizer_config(&trainer.config)
            .init()
            .load(&optim_path)
            .map_err(|e| anyhow!("loading {}: {e:?}", optim_path.display()))?;
        let state_path = checkpoint_dir.join("state.json");
        let text = std::fs::read_to_string(&state_path)
            .with_context(|| format!("reading {}", state_path.display()))?;
        trainer.state = serde_json::from_str(&text)
            .with_context(|| format!("parsing {}", state_path.display()))?;
        Ok(trainer)
    }

    /// Writes the checkpoint atomically: into `dir.tmp`, then renamed over `dir`.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<()> {
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        self.model
            .clone()
            .save_file(tmp.join("model.bpk"))
            .map_err(|e| anyhow!("saving model: {e:?}"))?;
        self.optimizer
            .save(tmp.join("optimizer.bpk"))
            .map_err(|e| anyhow!("saving optimizer: {e:?}"))?;
        std::fs::write(tmp.join("state.json"), serde_json::to_string(&self.state)?)?;
        let old = dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old)?;
        }
        std::fs::rename(&tmp, dir)?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// One optimizer step on the batch of the current step; returns the batch's mean loss.
    pub fn step(&mut self, windows: &TokenWindows) -> Result<f32> {
        let (batch, seq) = (self.config.batch_size, self.config.seq_len);
        let (inputs, targets) =
            windows.batch_from(self.config.window_offset + self.state.step * batch, batch);
        let inputs =
            Tensor::<2, Int>::from_data(TensorData::new(inputs, [batch, seq]), &self.device);
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(targets, [batch * seq]), &self.device);
        let logits = self.model.forward(inputs); // [batch, seq, vocab]
        let vocab = logits.dims()[2];
        let loss = self
            .loss_fn
            .forward(logits.reshape([batch * seq, vocab]), targets);
        let loss_value = loss.clone().into_scalar::<f32>();
        anyhow::ensure!(
            loss_value.is_finite(),
            "loss is {loss_value} at step {}",
            self.state.step
        );
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
        clip_global_norm(&self.model, &mut grads, self.config.grad_clip_norm);
        let lr = learning_rate(&self.config, self.state.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        self.state.step += 1;
        self.state.tokens_seen += batch * seq;
        self.state.losses.push((self.state.step, loss_value));
        Ok(loss_value)
    }

    /// The device being trained on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The model without autodiff, for evaluation and export.
    pub fn inference_model(&self) -> Llama {
        self.model.valid()
    }
}

/// Scales all gradients so that their global L2 norm is at most `max_norm`; returns the norm
/// before clipping.
pub fn clip_global_norm(model: &Llama, grads: &mut GradientsParams, max_norm: f32) -> f32 {
    struct SquaredNorm<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SquaredNorm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let sum = grad.square().sum();
                self.total = Some(match self.total.take() {
                    Some(total) => total + sum,
                    None => sum,
                });
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f32,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, grad.mul_scalar(self.factor));
            }
        }
    }
    let mut norm = SquaredNorm { grads, total: None };
    model.visit(&mut norm);
    let total = norm.total.map_or(0.0, |t| t.into_scalar::<f32>()).sqrt();
    if total > max_norm && total.is_finite() {
        let mut scale = Scale {
            grads,
            factor: max_norm / (total + 1e-6),
        };
        model.visit(&mut scale);
    }
    total
}
