//! `ghostline bench latency|model`: the latency replay against the real language server and the
//! engine's prefill/decode throughput. Both print a markdown table (or JSON with `--json`) on stdout,
//! progress on stderr, and can write their JSON report to a file with `--out`.

pub mod context;
pub mod latency;
pub mod load;
pub mod lsp_client;
pub mod model;
pub mod report;

use std::path::PathBuf;

/// Command-line arguments of `ghostline bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Which benchmark to run.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum BenchCommand {
    /// Replay typing into the real `ghostline lsp` over stdio and measure completion latency.
    Latency(latency::LatencyArgs),
    /// The server under load: a fast typist, many open documents, a huge file.
    Load(load::LoadArgs),
    /// Prefill and decode tokens/s of the engine (embedded model and a 135M-parameter shape).
    Model(model::ModelBenchArgs),
    /// Time to build a completion context (trigger + prompt) on the repository's own files.
    Context(context::ContextBenchArgs),
}

/// Output options shared by the benchmarks.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct OutputArgs {
    /// Print the report as JSON instead of a markdown table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A short run that only proves the benchmark works (for CI).
    #[arg(long)]
    pub smoke: bool,
}

/// Entry point of `ghostline bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Latency(args) => latency::run(args),
        BenchCommand::Model(args) => model::run(args),
        BenchCommand::Load(args) => load::run(args),
        BenchCommand::Context(args) => context::run(args),
    }
}
