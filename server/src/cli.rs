//! The command line: `ghostline lsp | complete | model generate | eval | bench | stats | replay | feedback | tune`.

mod complete;
mod feedback;
mod index;
mod model_generate;
mod model_info;
pub mod remote_args;
mod replay;
mod replay_tune;
mod stats;
mod tune;

pub use complete::language_from_path;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::model::DevicePreference;

/// ghostline: local-first ghost-text completions from a small model of our own.
#[derive(Debug, Parser)]
#[command(name = "ghostline", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the language server over stdin/stdout (what editors start).
    Lsp(LspArgs),
    /// Print the suggestion the server would give at a position in a file.
    Complete(CompleteArgs),
    /// Run the model directly.
    Model {
        /// Model subcommand.
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Run the quality evaluation.
    Eval(crate::eval::EvalArgs),
    /// Latency replay and model throughput benchmarks.
    Bench(crate::bench::BenchArgs),
    /// What the local feedback store says: acceptance, latency, a plot over time.
    Stats(stats::StatsArgs),
    /// Replay benchmark: simulate writing a repository and measure acceptance, with and without adaptation.
    Replay(replay::ReplayArgs),
    /// Export or delete the locally recorded feedback.
    Feedback {
        /// Feedback subcommand.
        #[command(subcommand)]
        command: feedback::FeedbackCommand,
    },
    /// Build the workspace index of a folder and print its size, build time and memory.
    Index(index::IndexArgs),
    /// Fine-tune the model's last layers on a workspace and accepted suggestions (an overlay
    /// file the server loads while `tunedWeights` is on).
    Tune(tune::TuneCommandArgs),
}

/// `ghostline lsp`.
#[derive(Debug, Args)]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
    /// Append logs to this file instead of stderr (default: $GHOSTLINE_LOG_FILE when set).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log filter: error, warn, info, debug, trace (GHOSTLINE_LOG overrides).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
}

/// `ghostline complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The file to complete in.
    pub file: PathBuf,
    /// Line of the cursor, 1-based as editors show it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub line: u32,
    /// Column of the cursor, 1-based, counted in characters.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub column: u32,
    /// Print the InlineCompletionList the server would send, plus `timings_ms` per stage.
    #[arg(long)]
    pub json: bool,
    /// A model directory (config.json, model.safetensors, tokenizer.json) or a `.gguf` file; default: the embedded model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Where to run the model.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DevicePreference,
    /// Language id; default: from the file extension.
    #[arg(long)]
    pub language: Option<String>,
    /// Answer as for typing (one item, may decline) instead of an explicit request.
    #[arg(long)]
    pub automatic: bool,
    /// Remote inference backend options.
    #[command(flatten)]
    pub remote: remote_args::RemoteArgs,
}

/// `ghostline model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Generate text from a prompt.
    Generate(GenerateArgs),
    /// Describe a model file or directory: architecture, size, dtypes, tokenizer, FIM support.
    Info(model_info::InfoArgs),
}

/// `ghostline model generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A model directory or `.gguf` file, or `embedded` for the built-in default.
    pub model: String,
    /// The prompt (prefix).
    #[arg(long)]
    pub prompt: String,
    /// Text after the cursor: makes a fill-in-the-middle prompt.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Most new tokens.
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// Always pick the most likely token (the default).
    #[arg(long, conflicts_with_all = ["temperature", "top_p", "seed"])]
    pub greedy: bool,
    /// Sampling temperature (turns on nucleus sampling).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Nucleus mass for sampling.
    #[arg(long, requires = "temperature")]
    pub top_p: Option<f32>,
    /// Sampling seed.
    #[arg(long, requires = "temperature")]
    pub seed: Option<u64>,
    /// Where to run the model.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DevicePreference,
    /// Print JSON: tokens, text, prefill/decode tokens per second, device.
    #[arg(long)]
    pub json: bool,
}

fn parse_device(text: &str) -> Result<DevicePreference, String> {
    text.parse::<DevicePreference>()
        .map_err(|_| format!("unknown device {text:?}: expected auto, cpu or gpu"))
}

/// Parses the command line and runs it. Errors print as one clear line and exit with 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ghostline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Lsp(args) => {
            let log_file = args
                .log_file
                .or_else(|| std::env::var_os("GHOSTLINE_LOG_FILE").map(PathBuf::from));
            crate::logging::init(&args.log_level, log_file.as_deref())?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                "ghostline lsp starting"
            );
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::lsp::serve_stdio(crate::lsp::LspOptions::product()));
            tracing::info!("ghostline lsp stopped");
            // The model thread may be mid-generation; do not wait for it.
            runtime.shutdown_background();
            Ok(())
        }
        Command::Complete(args) => {
            crate::logging::init("warn", None)?;
            complete::run(args)
        }
        Command::Model {
            command: ModelCommand::Generate(args),
        } => {
            crate::logging::init("warn", None)?;
            model_generate::run(args)
        }
        Command::Model {
            command: ModelCommand::Info(args),
        } => {
            crate::logging::init("warn", None)?;
            model_info::run(args)
        }
        Command::Eval(args) => {
            crate::logging::init("warn", None)?;
            crate::eval::run(args)
        }
        Command::Bench(args) => {
            crate::logging::init("warn", None)?;
            crate::bench::run(args)
        }
        Command::Stats(args) => {
            crate::logging::init("warn", None)?;
            stats::run(args)
        }
        Command::Replay(args) => {
            crate::logging::init("warn", None)?;
            replay::run(args)
        }
        Command::Feedback { command } => {
            crate::logging::init("warn", None)?;
            feedback::run(command)
        }
        Command::Index(args) => {
            crate::logging::init("warn", None)?;
            index::run(args)
        }
        Command::Tune(args) => {
            crate::logging::init("warn", None)?;
            tune::run(args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_arguments_are_rejected_with_clear_messages() {
        let error = Cli::try_parse_from([
            "ghostline",
            "complete",
            "f.rs",
            "--line",
            "0",
            "--column",
            "1",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("--line"), "{error}");
        let error = Cli::try_parse_from([
            "ghostline",
            "complete",
            "f.rs",
            "--line",
            "1",
            "--column",
            "1",
            "--device",
            "tpu",
        ])
        .unwrap_err();
        assert!(
            error.to_string().contains("expected auto, cpu or gpu"),
            "{error}"
        );
        let error = Cli::try_parse_from([
            "ghostline",
            "model",
            "generate",
            "m",
            "--prompt",
            "x",
            "--greedy",
            "--temperature",
            "0.5",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("--greedy"), "{error}");
    }
}
