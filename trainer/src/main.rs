//! `ghostline-train`: build the tokenizer, prepare data, train and export ghostline's default model.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use ghostline_train::run;

#[derive(Parser)]
#[command(about = "Train ghostline's embedded fill-in-the-middle code model")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the byte-level BPE tokenizer on the training corpus.
    Tokenizer {
        #[arg(long, default_value = "data/corpus/train.jsonl")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 4096)]
        vocab_size: usize,
        /// Train on the first this many bytes of the corpus.
        #[arg(long, default_value_t = 40_000_000)]
        max_bytes: usize,
        #[arg(long, default_value = "runs/data/tokenizer.json")]
        out: PathBuf,
    },
    /// Encode the corpus (with the FIM transform) into packed token files.
    Prepare {
        #[arg(long, default_value = "data/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value = "runs/data/tokenizer.json")]
        tokenizer: PathBuf,
        #[arg(long, default_value = "runs/data")]
        out: PathBuf,
        /// Encode the first this many bytes of `train.jsonl`.
        #[arg(long, default_value_t = 60_000_000)]
        max_train_bytes: usize,
        #[arg(long, default_value_t = 20261127)]
        seed: u64,
    },
    /// Train (or resume) a run; `touch RUN/STOP` makes it checkpoint and exit.
    Train {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        resume: bool,
        /// With --resume: change the schedule's total number of steps.
        #[arg(long)]
        total_steps: Option<usize>,
        /// `cpu` (burn flex) or `gpu` (burn wgpu on the default adapter).
        #[arg(long, value_enum, default_value = "cpu")]
        device: ghostline_train::trainer::TrainDevice,
    },
    /// Greedy completions from a model directory, through the editor's engine, with timings.
    Sample {
        #[arg(long, default_value = "model/weights/default")]
        model: PathBuf,
        /// Text before the cursor (`\n` for newlines); repeat for several prompts.
        #[arg(long, required = true)]
        prompt: Vec<String>,
        /// Text after the cursor (FIM).
        #[arg(long)]
        suffix: Option<String>,
        #[arg(long, default_value_t = 48)]
        max_tokens: usize,
    },
    /// Write a small seeded random model directory with the embedded model's tokenizer: a real,
    /// deterministic model whose suggestions are never empty, for end-to-end tests of the plumbing
    /// (editors, server) that must not depend on how far the default model is trained.
    RandomModel {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value = "model/weights/default/tokenizer.json")]
        tokenizer: PathBuf,
    },
    /// Export a run's latest checkpoint as a model directory (config.json, model.safetensors, tokenizer.json).
    Export {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value = "model/weights/default")]
        out: PathBuf,
        /// Element type of `model.safetensors`: `f32`, or `f16` (half the size).
        #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
        dtype: String,
    },
    /// Held-out loss/perplexity and FIM exact match of an exported model directory (the trainer's
    /// own evaluation, on the CPU; prints one JSON line; `--show N` prints N FIM tasks' outputs).
    Evaluate {
        #[arg(long, default_value = "model/weights/default")]
        model: PathBuf,
        #[arg(long, default_value = "runs/data-full/heldout.tokens")]
        heldout_tokens: PathBuf,
        #[arg(long, default_value = "data/corpus/heldout.jsonl")]
        heldout_documents: PathBuf,
        #[arg(long, default_value_t = 64)]
        windows: usize,
        #[arg(long, default_value_t = 100)]
        fim_samples: usize,
        #[arg(long, default_value_t = 0)]
        show: usize,
    },
    /// Rewrites a model directory's weights in another element type (e.g. an f32 export as f16).
    Convert {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "f16", value_parser = ["f32", "f16"])]
        dtype: String,
    },
}

fn store_dtype(name: &str) -> ghostline_model::weights::StoreDtype {
    if name == "f16" {
        ghostline_model::weights::StoreDtype::F16
    } else {
        ghostline_model::weights::StoreDtype::F32
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match Cli::parse().command {
        Command::Tokenizer {
            corpus,
            vocab_size,
            max_bytes,
            out,
        } => run::tokenizer(&corpus, vocab_size, max_bytes, &out),
        Command::Prepare {
            corpus,
            tokenizer,
            out,
            max_train_bytes,
            seed,
        } => run::prepare(&corpus, &tokenizer, &out, max_train_bytes, seed),
        Command::Train {
            config,
            out,
            resume,
            total_steps,
            device,
        } => run::train(config.as_deref(), &out, resume, total_steps, device),
        Command::Export { run, out, dtype } => run::export(&run, &out, store_dtype(&dtype)),
        Command::Evaluate {
            model,
            heldout_tokens,
            heldout_documents,
            windows,
            fim_samples,
            show,
        } => run::evaluate_dir(
            &model,
            &heldout_tokens,
            &heldout_documents,
            windows,
            fim_samples,
            show,
        ),
        Command::Convert { model, out, dtype } => run::convert(&model, &out, store_dtype(&dtype)),
        Command::RandomModel {
            out,
            seed,
            tokenizer,
        } => run::random_model(&out, seed, &tokenizer),
        Command::Sample {
            model,
            prompt,
            suffix,
            max_tokens,
        } => ghostline_train::sample::sample(&model, &prompt, suffix.as_deref(), max_tokens),
    }
}
