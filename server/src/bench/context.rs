//! `ghostline bench context`: the time to build a completion context (trigger decision + prompt
//! assembly with the embedded model's real tokenizer) at positions in the repository's own
//! files, plus first-parse and incremental-reparse times. Prints p50/p95 per stage.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use ghostline_model::{DevicePreference, Engine, LoadOptions};
use serde::Serialize;

use super::OutputArgs;
use super::report::{self, Distribution, cell_ms};
use crate::completion::trigger::{Trigger, decide_in};
use crate::context::{ContextBudget, build_prompt};
use crate::documents::{Document, TextEdit};
use crate::syntax::Lang;

/// Arguments of `ghostline bench context`.
#[derive(clap::Args, Clone, Debug)]
pub struct ContextBenchArgs {
    /// The repository whose tracked files (`git ls-files`) are measured.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Cursor positions per file (line ends spread evenly over the file).
    #[arg(long, default_value_t = 10)]
    pub positions: usize,
    /// At most this many files (the first ones in `git ls-files` order).
    #[arg(long, default_value_t = 400)]
    pub max_files: usize,
    /// Prompt budget in tokens (the embedded model's context minus generation room by default).
    #[arg(long)]
    pub budget_tokens: Option<usize>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct ContextReport {
    /// Machine in words.
    pub machine: String,
    /// UTC time of the run.
    pub date: String,
    /// Files measured (with a grammar).
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: usize,
    /// Prompt budget in tokens.
    pub budget_tokens: usize,
    /// First parse of a whole file, ms.
    pub first_parse_ms: Distribution,
    /// Incremental reparse after typing one character, ms.
    pub reparse_ms: Distribution,
    /// Trigger decision + prompt assembly at one position, ms (the `context_ms` stage).
    pub context_ms: Distribution,
}

/// Entry point.
pub fn run(mut args: ContextBenchArgs) -> anyhow::Result<()> {
    if args.output.smoke {
        args.max_files = args.max_files.min(5);
        args.positions = args.positions.min(2);
    }
    let files = tracked_files(&args.root)?;
    let engine = Engine::load_embedded(&LoadOptions {
        device: DevicePreference::Cpu,
    })
    .context("loading the embedded model's tokenizer")?;
    let budget_tokens = args
        .budget_tokens
        .unwrap_or_else(|| engine.info().context_length.saturating_sub(72).max(64));
    let budget = ContextBudget {
        total_tokens: budget_tokens,
        prefix_percent: 35,
        suffix_percent: 15,
        prefix_chars: 3000,
        suffix_chars: 800,
    };
    let count = |text: &str| engine.count_tokens(text);
    let (mut first_parse, mut reparse, mut context) = (Vec::new(), Vec::new(), Vec::new());
    let (mut measured, mut bytes) = (0, 0);
    for path in files {
        if measured >= args.max_files {
            break;
        }
        let Some(lang) = Lang::from_path(&path) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(args.root.join(&path)) else {
            continue;
        };
        measured += 1;
        bytes += text.len();
        let started = Instant::now();
        let mut document = Document::new(&text, 1, lang.language_id());
        document.reparse(); // done at once for files up to 1 MiB, asked for past that
        first_parse.push(ms(started));
        let lines = document.rope.len_lines();
        for index in 0..args.positions {
            let line = (index * lines / args.positions.max(1)).min(lines.saturating_sub(1));
            let cursor = document.rope.line_to_char(line)
                + crate::text::line_content_len(&document.rope, line);
            let started = Instant::now();
            let view = document.view();
            let _ = decide_in(&view, cursor, Trigger::Automatic);
            let prompt = build_prompt(&view, cursor, budget, &count, Vec::new());
            context.push(ms(started));
            std::hint::black_box(prompt);
        }
        // Type one character in the middle of the file and reparse.
        let middle = document.rope.len_chars() / 2;
        let started = Instant::now();
        document.apply(&TextEdit {
            range: Some(middle..middle),
            text: "x".into(),
        });
        reparse.push(ms(started));
        eprintln!("bench context: {}", path.display());
    }
    let report = ContextReport {
        machine: report::machine_description(),
        date: report::utc_now(),
        files: measured,
        bytes,
        budget_tokens,
        first_parse_ms: Distribution::of(&first_parse),
        reparse_ms: Distribution::of(&reparse),
        context_ms: Distribution::of(&context),
    };
    report::emit(&args.output, &report, &to_markdown(&report))
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn tracked_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .arg("ls-files")
        .output()
        .context("running git ls-files")?;
    anyhow::ensure!(
        output.status.success(),
        "git ls-files failed in {}",
        root.display()
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect())
}

fn to_markdown(report: &ContextReport) -> String {
    let row = |name: &str, d: &Distribution| {
        format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            d.n,
            cell_ms(d.p50),
            cell_ms(d.p95),
            cell_ms(d.mean),
            cell_ms(d.max)
        )
    };
    format!(
        "{} files ({} KiB) with a grammar, prompt budget {} tokens; {} at {}\n\n\
         | stage | n | p50 ms | p95 ms | mean ms | max ms |\n|---|---|---|---|---|---|\n{}{}{}",
        report.files,
        report.bytes / 1024,
        report.budget_tokens,
        report.machine,
        report.date,
        row("context (trigger + prompt)", &report.context_ms),
        row("first parse (whole file)", &report.first_parse_ms),
        row("reparse after 1 char", &report.reparse_ms),
    )
}
