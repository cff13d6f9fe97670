//! The subcommands' bodies: tokenizer training, data preparation, the training run with its
//! progress bar, evaluations, checkpoints and loss curve, and export of a model directory.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::module::Module;
use burn::tensor::Device;
use ghostline_model::{LlamaConfig, TokenIds};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;

use crate::corpus::read_documents;
use crate::data::{TokenWindows, encode_documents, read_tokens, write_tokens};
use crate::eval::{fim_exact_match, fim_tasks, heldout_loss};
use crate::fim::TransformOptions;
use crate::plot::loss_curve_svg;
use crate::tokenizer::{TextEncoder, load_tokenizer, train_tokenizer};
use crate::trainer::{
    EvalRecord, TrainConfig, TrainDevice, Trainer, learning_rate, use_flex_by_default,
};

/// `ghostline-train tokenizer`: trains the BPE on the first `max_bytes` of the training corpus.
pub fn tokenizer(corpus: &Path, vocab_size: usize, max_bytes: usize, out: &Path) -> Result<()> {
    let documents = read_documents(corpus, Some(max_bytes))?;
    let started = Instant::now();
    let tokenizer = train_tokenizer(documents.iter().map(|d| d.text.as_str()), vocab_size)?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    tokenizer
        .save(out, false)
        .map_err(|e| anyhow!("saving {}: {e}", out.display()))?;
    let encoder = TextEncoder::new(tokenizer);
    let sample: String = documents
        .iter()
        .rev()
        .take(200)
        .map(|d| d.text.as_str())
        .collect();
    let n_tokens = encoder.encode(&sample)?.len();
    info!(
        "tokenizer: vocab {vocab_size}, trained on {} documents in {:.1}s, {:.2} bytes/token on a sample",
        documents.len(),
        started.elapsed().as_secs_f64(),
        sample.len() as f64 / n_tokens as f64
    );
    Ok(())
}

/// `ghostline-train prepare`: encodes the corpus into `train.tokens` and `heldout.tokens`.
pub fn prepare(
    corpus_dir: &Path,
    tokenizer_path: &Path,
    out: &Path,
    max_train_bytes: usize,
    seed: u64,
) -> Result<()> {
    let encoder = TextEncoder::new(load_tokenizer(tokenizer_path)?);
    std::fs::create_dir_all(out)?;
    let options = TransformOptions::default();
    for (name, max_bytes, transform) in [
        ("train", Some(max_train_bytes), Some(&options)),
        ("heldout", None, None),
    ] {
        let started = Instant::now();
        let documents = read_documents(&corpus_dir.join(format!("{name}.jsonl")), max_bytes)?;
        let n_bytes: usize = documents.iter().map(|d| d.text.len()).sum();
        let tokens = encode_documents(&encoder, &documents, transform, seed, 2)?;
        write_tokens(&out.join(format!("{name}.tokens")), &tokens)?;
        let summary = serde_json::json!({
            "documents": documents.len(), "bytes": n_bytes, "tokens": tokens.len(),
            "fim": transform.is_some(), "seed": seed,
        });
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&summary)?,
        )?;
        info!(
            "{name}: {} documents, {n_bytes} bytes -> {} tokens in {:.1}s",
            documents.len(),
            tokens.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `ghostline-train train`: runs (or resumes) a training run in `out`.
///
/// `total_steps` (resume only) changes the schedule's length from the current step on (the cosine
/// is recomputed for the new length); the change is written into `run_config.json`.
pub fn train(
    config_path: Option<&Path>,
    out: &Path,
    resume: bool,
    total_steps: Option<usize>,
    device: TrainDevice,
) -> Result<()> {
    let run_config = out.join("run_config.json");
    let checkpoint = out.join("checkpoint");
    let mut config: TrainConfig = if resume {
        let mut config: TrainConfig = serde_json::from_str(
            &std::fs::read_to_string(&run_config)
                .with_context(|| format!("reading {}", run_config.display()))?,
        )?;
        if let Some(total_steps) = total_steps {
            info!(
                "schedule length changed from {} to {total_steps} steps",
                config.total_steps
            );
            config.total_steps = total_steps;
            std::fs::write(&run_config, serde_json::to_string_pretty(&config)?)?;
        }
        config
    } else {
        anyhow::ensure!(
            total_steps.is_none(),
            "--total-steps is for --resume; set total_steps in the config"
        );
        let path = config_path.ok_or_else(|| anyhow!("--config is required for a new run"))?;
        let config: TrainConfig = serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(
            !checkpoint.exists(),
            "{} already has a checkpoint: use --resume",
            out.display()
        );
        std::fs::create_dir_all(out)?;
        std::fs::write(&run_config, serde_json::to_string_pretty(&config)?)?;
        config
    };
    let train_windows = TokenWindows::new(
        read_tokens(&config.data_dir.join("train.tokens"))?,
        config.seq_len,
    )?;
    let heldout_windows = TokenWindows::new(
        read_tokens(&config.data_dir.join("heldout.tokens"))?,
        config.seq_len,
    )?;
    let encoder = TextEncoder::new(load_tokenizer(&config.tokenizer)?);
    let heldout_documents = read_documents(&config.heldout_documents, None)?;
    let tasks = fim_tasks(&heldout_documents, config.fim_eval_samples, 7);

    let mut trainer = if resume {
        Trainer::resume_on(config.clone(), &checkpoint, device)?
    } else {
        Trainer::new_on(config.clone(), device)?
    };
    info!("training on {device:?} ({:?})", trainer.device());
    let n_params = config.model.n_params();
    info!(
        "run {}: {n_params} parameters, {} training tokens available ({} windows), step {}/{}",
        out.display(),
        train_windows.n_tokens(),
        train_windows.n_windows(),
        trainer.state.step,
        config.total_steps
    );
    let progress =
        ProgressBar::new(config.total_steps as u64).with_position(trainer.state.step as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ETA {eta}")
            .expect("valid template"),
    );
    let session_start = Instant::now();
    let session_first_step = trainer.state.step;
    let elapsed_before = trainer.state.elapsed_secs;
    let mut last_checkpoint = Instant::now();
    let tokens_per_step = config.batch_size * config.seq_len;
    let eval_config = config.clone();
    let evaluate = |trainer: &mut Trainer| -> Result<()> {
        let started = Instant::now();
        let model = trainer.inference_model();
        let loss = heldout_loss(
            &model,
            &heldout_windows,
            eval_config.eval_windows,
            eval_config.seq_len,
        );
        let em = fim_exact_match(&model, &eval_config.model, &encoder, &tasks)?;
        let record = EvalRecord {
            step: trainer.state.step,
            tokens_seen: trainer.state.tokens_seen,
            heldout_loss: loss,
            heldout_perplexity: loss.exp(),
            fim_exact_match: em,
            fim_samples: tasks.len(),
        };
        info!(
            "eval at step {}: held-out loss {loss:.4} (ppl {:.2}), FIM exact match {:.1}% of {} ({:.1}s)",
            record.step,
            record.heldout_perplexity,
            em * 100.0,
            tasks.len(),
            started.elapsed().as_secs_f64()
        );
        trainer.state.evals.push(record);
        Ok(())
    };
    let save = |trainer: &mut Trainer| -> Result<()> {
        trainer.state.elapsed_secs = elapsed_before + session_start.elapsed().as_secs_f64();
        trainer.save_checkpoint(&checkpoint)?;
        let heldout: Vec<(usize, f64)> = trainer
            .state
            .evals
            .iter()
            .map(|e| (e.step, e.heldout_loss))
            .collect();
        std::fs::write(
            out.join("loss.svg"),
            loss_curve_svg(&trainer.state.losses, &heldout),
        )?;
        std::fs::write(
            out.join("evals.json"),
            serde_json::to_string_pretty(&trainer.state.evals)?,
        )?;
        info!(
            "checkpoint at step {} ({} tokens, {:.0}s of training)",
            trainer.state.step, trainer.state.tokens_seen, trainer.state.elapsed_secs
        );
        Ok(())
    };
    // Time-budgeted schedule: steps CALIBRATION_START.. are timed (the first ones include kernel
    // compilation and autotuning), then total_steps is fixed for the rest of the run.
    const CALIBRATION_START: usize = 10;
    const CALIBRATION_STEPS: usize = 30;
    let mut calibration_started: Option<Instant> = None;
    while trainer.state.step < config.total_steps {
        let loss = trainer.step(&train_windows)?;
        let step = trainer.state.step;
        if let Some(budget) = config.time_budget_secs {
            let done_in_session = step - session_first_step;
            if done_in_session == CALIBRATION_START {
                calibration_started = Some(Instant::now());
            } else if done_in_session == CALIBRATION_START + CALIBRATION_STEPS
                && let Some(started) = calibration_started
            {
                let per_step = started.elapsed().as_secs_f64() / CALIBRATION_STEPS as f64;
                let total = fit_schedule(&config, step, per_step, session_start.elapsed().as_secs_f64(), budget);
                info!(
                    "time budget {budget:.0}s: {per_step:.3}s/step -> schedule of {total} steps ({} tokens)",
                    total * tokens_per_step
                );
                config.total_steps = total;
                config.time_budget_secs = None;
                trainer.config.total_steps = total;
                trainer.config.time_budget_secs = None;
                std::fs::write(&run_config, serde_json::to_string_pretty(&config)?)?;
                progress.set_length(total as u64);
            }
        }
        let session_secs = session_start.elapsed().as_secs_f64();
        let tokens_per_sec =
            ((step - session_first_step) * tokens_per_step) as f64 / session_secs.max(1e-9);
        let recent: Vec<f32> = trainer
            .state
            .losses
            .iter()
            .rev()
            .take(20)
            .map(|l| l.1)
            .collect();
        let mean_loss = recent.iter().sum::<f32>() / recent.len() as f32;
        progress.set_position(step as u64);
        progress.set_message(format!(
            "loss {mean_loss:.3} lr {:.2e} {tokens_per_sec:.0} tok/s",
            learning_rate(&config, step - 1)
        ));
        if step % 10 == 0 || step == 1 {
            let eta = (config.total_steps - step) as f64 * session_secs
                / (step - session_first_step) as f64;
            info!(
                "step {step}/{} loss {loss:.4} (20-step mean {mean_loss:.4}) lr {:.2e} {tokens_per_sec:.0} tok/s, ETA {:.1} min",
                config.total_steps,
                learning_rate(&config, step - 1),
                eta / 60.0
            );
        }
        let stop_requested = out.join("STOP").exists();
        if config.eval_every_steps > 0
            && step % config.eval_every_steps == 0
            && step < config.total_steps
        {
            evaluate(&mut trainer)?;
            save(&mut trainer)?;
            last_checkpoint = Instant::now();
        } else if last_checkpoint.elapsed().as_secs() >= config.checkpoint_every_secs
            || stop_requested
        {
            save(&mut trainer)?;
            last_checkpoint = Instant::now();
        }
        if stop_requested {
            info!(
                "STOP file found: checkpoint saved at step {step}, exiting (resume with --resume)"
            );
            let _ = std::fs::remove_file(out.join("STOP"));
            return Ok(());
        }
    }
    progress.finish();
    if trainer.state.evals.last().map(|e| e.step) != Some(trainer.state.step) {
        evaluate(&mut trainer)?;
    }
    save(&mut trainer)?;
    info!(
        "done: {} steps, {} tokens, {:.1} min of training",
        trainer.state.step,
        trainer.state.tokens_seen,
        trainer.state.elapsed_secs / 60.0
    );
    Ok(())
}

/// The schedule length that fits `budget` seconds of wall time, given `per_step` seconds per
/// optimizer step, `elapsed` seconds already spent and `step` steps done. Evaluations are counted
/// as their share of the budget (a held-out evaluation costs about as much as its windows in
/// training steps, plus the FIM tasks' generation); 5 % is kept in reserve for the final
/// checkpoint.
pub fn fit_schedule(
    config: &TrainConfig,
    step: usize,
    per_step: f64,
    elapsed: f64,
    budget: f64,
) -> usize {
    let remaining = (budget * 0.95 - elapsed).max(0.0);
    let eval_cost_steps = (config.eval_windows as f64 / config.batch_size as f64)
        + config.fim_eval_samples as f64 * 0.5;
    let steps_per_eval = if config.eval_every_steps > 0 {
        config.eval_every_steps as f64
    } else {
        f64::INFINITY
    };
    // x training steps cost x + (x / steps_per_eval + 1) * eval_cost_steps step-times.
    let per_training_step = 1.0 + eval_cost_steps / steps_per_eval;
    let available = remaining / per_step - eval_cost_steps;
    let more = (available / per_training_step).floor().max(1.0) as usize;
    (step + more).max(config.warmup_steps + 1)
}

/// `ghostline-train evaluate`: the trainer's evaluation of an exported model directory.
pub fn evaluate_dir(
    model_dir: &Path,
    heldout_tokens: &Path,
    heldout_documents: &Path,
    n_windows: usize,
    fim_samples: usize,
    show: usize,
) -> Result<()> {
    use_flex_by_default();
    let (config, model) = ghostline_model::Llama::load_dir(model_dir, &Device::flex())
        .map_err(|e| anyhow!("{e}"))?;
    let seq_len = config.max_position_embeddings;
    let windows = TokenWindows::new(read_tokens(heldout_tokens)?, seq_len)?;
    let started = Instant::now();
    let loss = heldout_loss(&model, &windows, n_windows, seq_len);
    let loss_secs = started.elapsed().as_secs_f64();
    let encoder = TextEncoder::new(load_tokenizer(&model_dir.join("tokenizer.json"))?);
    let documents = read_documents(heldout_documents, None)?;
    // Same task seed as the training run's evaluations.
    let tasks = fim_tasks(&documents, fim_samples, 7);
    for task in tasks.iter().take(show) {
        let middle = crate::eval::complete_fim(&model, &config, &encoder, task, 48)?;
        println!(
            "--- prefix …{:?}\n    expected {:?}\n    got      {:?}",
            {
                let tail: Vec<char> = task.prefix.chars().rev().take(60).collect();
                tail.into_iter().rev().collect::<String>()
            },
            task.middle,
            middle
        );
    }
    let started = Instant::now();
    let em = fim_exact_match(&model, &config, &encoder, &tasks)?;
    println!(
        "{}",
        serde_json::json!({
            "model": model_dir, "heldout_windows": n_windows.min(windows.n_windows()),
            "heldout_loss": loss, "heldout_perplexity": loss.exp(),
            "fim_exact_match": em, "fim_samples": tasks.len(),
            "loss_secs": loss_secs, "fim_secs": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}

/// `ghostline-train convert`: copies the model directory `model` to `out` with its weights
/// rewritten as `dtype` (config.json and tokenizer.json unchanged).
pub fn convert(model: &Path, out: &Path, dtype: ghostline_model::weights::StoreDtype) -> Result<()> {
    use_flex_by_default();
    let (config, llama) = ghostline_model::Llama::load_dir(model, &Device::flex())
        .map_err(|e| anyhow!("{e}"))?;
    std::fs::create_dir_all(out)?;
    for file in ["config.json", "tokenizer.json"] {
        if model.join(file) != out.join(file) {
            std::fs::copy(model.join(file), out.join(file))
                .with_context(|| format!("copying {}", model.join(file).display()))?;
        }
    }
    llama
        .save_safetensors_as(&config, &out.join("model.safetensors"), dtype)
        .map_err(|e| anyhow!("{e}"))?;
    info!("wrote {} as {dtype:?}", out.display());
    Ok(())
}

/// `ghostline-train export`: writes `config.json`, `model.safetensors` and `tokenizer.json` of the
/// run's latest checkpoint into `out` (a model directory the engine loads).
/// Writes config.json, model.safetensors (seeded random weights) and a copy of `tokenizer` into `out`.
pub fn random_model(out: &Path, seed: u64, tokenizer: &Path) -> Result<()> {
    let vocab_size = load_tokenizer(tokenizer)?.get_vocab_size(true);
    std::fs::create_dir_all(out)?;
    std::fs::copy(tokenizer, out.join("tokenizer.json"))
        .with_context(|| format!("copying {}", tokenizer.display()))?;
    let mut config = LlamaConfig::new(vocab_size, 64, 128, 2, 4, 2);
    config.max_position_embeddings = 1024;
    config.eos_token_id = Some(TokenIds::One(0));
    let model = config.init_seeded(&Device::flex(), seed);
    config.save(&out.join("config.json"))?;
    model.save_safetensors(&config, &out.join("model.safetensors"))?;
    info!("wrote a seeded random model (seed {seed}) to {}", out.display());
    Ok(())
}

pub fn export(run: &Path, out: &Path, dtype: ghostline_model::weights::StoreDtype) -> Result<()> {
    use_flex_by_default();
    let config: TrainConfig =
        serde_json::from_str(&std::fs::read_to_string(run.join("run_config.json"))?)?;
    let device = Device::flex();
    let model_path = run.join("checkpoint").join("model.bpk");
    let model = config
        .model
        .init_seeded(&device, config.seed)
        .try_load_file(&model_path)
        .map_err(|e| anyhow!("loading {}: {e:?}", model_path.display()))?;
    let tokenizer = load_tokenizer(&config.tokenizer)?;
    anyhow::ensure!(
        tokenizer.get_vocab_size(true) == config.model.vocab_size,
        "tokenizer {} has {} tokens, the model {}",
        config.tokenizer.display(),
        tokenizer.get_vocab_size(true),
        config.model.vocab_size
    );
    std::fs::create_dir_all(out)?;
    let mut model_config: LlamaConfig = config.model.clone();
    model_config.eos_token_id = Some(TokenIds::One(crate::tokenizer::special_id(
        crate::fim::SpecialToken::EndOfText,
    )));
    // Trained on both FIM orders; with token healing, suffix-prefix-middle prompts score far
    // better (docs/benchmarks.md, "Issue 5 (session 4)").
    model_config.fim_order = Some(ghostline_model::FimMode::SuffixPrefixMiddle);
    model_config
        .save(&out.join("config.json"))
        .map_err(|e| anyhow!("{e}"))?;
    model
        .save_safetensors_as(&model_config, &out.join("model.safetensors"), dtype)
        .map_err(|e| anyhow!("{e}"))?;
    std::fs::copy(&config.tokenizer, out.join("tokenizer.json"))
        .with_context(|| format!("copying {}", config.tokenizer.display()))?;
    let state: crate::trainer::TrainState = serde_json::from_str(&std::fs::read_to_string(
        run.join("checkpoint").join("state.json"),
    )?)?;
    info!(
        "exported step {} ({} tokens) of {} to {}",
        state.step,
        state.tokens_seen,
        run.display(),
        out.display()
    );
    Ok(())
}
