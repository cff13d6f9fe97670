//! `ghostline feedback export --jsonl` and `ghostline feedback forget` (privacy): the user's own
//! data, out of the store or gone from it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::stats::database;
use crate::feedback::dates::parse_date;
use crate::feedback::event::now_ms;
use crate::feedback::{adaptation, schema, store};

/// `ghostline feedback ...`.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Print every recorded suggestion as one JSON object per line.
    Export(ExportArgs),
    /// Delete recorded suggestions (all, or those shown before a date).
    Forget(ForgetArgs),
    /// Benchmark: the cost of recording on the keystroke path and the writer's throughput.
    Bench(BenchArgs),
}

/// `ghostline feedback bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Shown events recorded one per millisecond.
    #[arg(long, default_value_t = 1000)]
    pub paced: usize,
    /// Accepts, each waited for until committed.
    #[arg(long, default_value_t = 200)]
    pub decisions: usize,
    /// Shown events recorded back to back (facts are prepared first: ~2.6 KB each in memory).
    #[arg(long, default_value_t = 20000)]
    pub flood: usize,
    /// Directory for the scratch database (default: the system temp dir).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print JSON instead of a Markdown table.
    #[arg(long)]
    pub json: bool,
}

/// `ghostline feedback export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// JSON Lines output (the only format).
    #[arg(long, required = true)]
    pub jsonl: bool,
    /// Only suggestions shown since this date (UTC): YYYY-MM-DD, YYYY-MM-DDTHH:MM, or 7d / 12h ago.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The feedback database (default: $XDG_DATA_HOME/ghostline/feedback.sqlite3).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `ghostline feedback forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Delete everything (recorded suggestions and what the adaptation learnt).
    #[arg(
        long,
        conflicts_with = "before",
        required_unless_present_any = ["before", "adaptation"]
    )]
    pub all: bool,
    /// Delete only what the adaptation learnt (closed documents' text, accepted and rejected
    /// suggestions it keeps); with --before, only what it learnt before that date. A running
    /// server keeps what it holds in memory until it restarts: use the editor's "reset
    /// adaptation" command (ghostline.resetAdaptation) there.
    #[arg(long)]
    pub adaptation: bool,
    /// Delete suggestions shown before this date (UTC): YYYY-MM-DD, YYYY-MM-DDTHH:MM, or 30d ago.
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// The feedback database (default: $XDG_DATA_HOME/ghostline/feedback.sqlite3).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// Runs a `ghostline feedback` subcommand.
pub fn run(command: FeedbackCommand) -> anyhow::Result<()> {
    match command {
        FeedbackCommand::Export(args) => export(args),
        FeedbackCommand::Forget(args) => forget(args),
        FeedbackCommand::Bench(args) => {
            let dir = args.dir.unwrap_or_else(std::env::temp_dir);
            let report = crate::feedback::bench::run(&dir, args.paced, args.decisions, args.flood)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::feedback::bench::to_markdown(&report));
            }
            Ok(())
        }
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let path = database(args.db)?;
    let since_ms = args
        .since
        .as_deref()
        .map(|text| parse_date(text, now_ms()))
        .transpose()?;
    let Some(connection) = schema::open_existing(&path)? else {
        eprintln!(
            "ghostline: no feedback recorded yet ({} does not exist)",
            path.display()
        );
        return Ok(());
    };
    let count = match &args.output {
        Some(file) => {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(file)
                    .with_context(|| format!("cannot create {}", file.display()))?,
            );
            let count = store::export_jsonl(&connection, since_ms, &mut out)?;
            out.flush()?;
            count
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let count = store::export_jsonl(&connection, since_ms, &mut out)?;
            out.flush()?;
            count
        }
    };
    eprintln!(
        "ghostline: exported {count} suggestions from {}",
        path.display()
    );
    Ok(())
}

fn forget(args: ForgetArgs) -> anyhow::Result<()> {
    let path = database(args.db)?;
    let before_ms = match (&args.before, args.all) {
        (Some(text), _) => Some(parse_date(text, now_ms())?),
        (None, true) => None,
        (None, false) if args.adaptation => None,
        (None, false) => {
            anyhow::bail!("say what to forget: --all, --before DATE or --adaptation")
        }
    };
    let Some(connection) = schema::open_existing(&path)? else {
        if before_ms.is_none()
            && let Some(dir) = path.parent()
        {
            let deleted = crate::adapt::tuned::delete_overlays(dir).unwrap_or(0);
            if deleted > 0 {
                println!("deleted {deleted} tuned-weights files in {}", dir.display());
            }
        }
        println!("nothing to forget: {} does not exist", path.display());
        return Ok(());
    };
    let learnt = adaptation::clear(&connection, before_ms)
        .with_context(|| format!("cannot delete from {}", path.display()))?;
    // The tuned weights (`ghostline tune`) are part of what was learnt: gone with it.
    if before_ms.is_none()
        && let Some(dir) = path.parent()
    {
        let deleted = crate::adapt::tuned::delete_overlays(dir)
            .with_context(|| format!("cannot delete the tuned weights in {}", dir.display()))?;
        if deleted > 0 {
            println!("deleted {deleted} tuned-weights files in {}", dir.display());
        }
    }
    if args.adaptation {
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .with_context(|| format!("cannot truncate the log of {}", path.display()))?;
        println!(
            "forgot {learnt} adaptation entries in {}",
            path.display()
        );
        return Ok(());
    }
    let deleted = store::forget(&connection, before_ms)
        .with_context(|| format!("cannot delete from {}", path.display()))?;
    println!(
        "forgot {deleted} suggestions and {learnt} adaptation entries in {}",
        path.display()
    );
    Ok(())
}
