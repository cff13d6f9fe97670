//! `ghostline stats`: what the feedback store says — counts, acceptance rate overall, by language
//! and by model, characters accepted, latency percentiles, sparklines or an SVG over time.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::feedback::dates::{day_label, parse_date};
use crate::feedback::event::now_ms;
use crate::feedback::report::{Counts, StatsReport, read};
use crate::feedback::{plot, settings};

/// `ghostline stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only suggestions shown since this date (UTC): YYYY-MM-DD, YYYY-MM-DDTHH:MM, or 7d / 12h ago.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Print the numbers as JSON (the same object the editors' "show stats" commands get).
    #[arg(long)]
    pub json: bool,
    /// Also write an SVG chart of acceptance rate and latency over time to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// The feedback database (default: $XDG_DATA_HOME/ghostline/feedback.sqlite3).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// The database a command reads: `--db`, else the default location.
pub fn database(db: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match db {
        Some(path) => Ok(path),
        None => Ok(settings::default_path()?),
    }
}

/// Runs `ghostline stats`.
pub fn run(args: StatsArgs) -> anyhow::Result<()> {
    let path = database(args.db)?;
    let since_ms = args
        .since
        .as_deref()
        .map(|text| parse_date(text, now_ms()))
        .transpose()?;
    let report = read(&path, since_ms)?;
    if let Some(svg_path) = &args.svg {
        std::fs::write(svg_path, plot::svg(&report.timeline))
            .with_context(|| format!("cannot write {}", svg_path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&path, &report));
        if let Some(svg_path) = &args.svg {
            println!("chart written to {}", svg_path.display());
        }
    }
    Ok(())
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("-".to_string(), |rate| format!("{:.1} %", rate * 100.0))
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |ms| format!("{ms:.0} ms"))
}

fn counts_line(counts: &Counts) -> String {
    format!(
        "shown {}  accepted {}  partially accepted {}  rejected {}  ignored {}  acceptance {}",
        counts.shown,
        counts.accepted,
        counts.partially_accepted,
        counts.rejected,
        counts.ignored,
        percent(counts.acceptance_rate)
    )
}

/// The human-readable report.
pub fn render(path: &std::path::Path, report: &StatsReport) -> String {
    let mut out = format!("ghostline feedback in {}", path.display());
    if let Some(since) = report.since_ms {
        out.push_str(&format!(" since {}", day_label(since)));
    }
    out.push('\n');
    if report.totals.shown == 0 {
        out.push_str("no suggestions recorded yet\n");
        return out;
    }
    out.push_str(&format!("  {}\n", counts_line(&report.totals)));
    out.push_str(&format!(
        "  characters accepted {}  undecided {}  dropped events {}\n",
        report.totals.chars_accepted, report.pending, report.dropped_events
    ));
    out.push_str(&format!(
        "  latency p50 {}  p95 {}  (time to show p50 {}  p95 {})\n",
        ms(report.latency_ms.p50),
        ms(report.latency_ms.p95),
        ms(report.time_to_show_ms.p50),
        ms(report.time_to_show_ms.p95)
    ));
    for (title, groups) in [
        ("by language", &report.by_language),
        ("by model", &report.by_model),
    ] {
        out.push_str(&format!("{title}:\n"));
        let width = groups
            .iter()
            .map(|g| g.name.chars().count())
            .max()
            .unwrap_or(0);
        for group in groups {
            out.push_str(&format!(
                "  {:<width$}  {}\n",
                group.name,
                counts_line(&group.counts)
            ));
        }
    }
    out.push_str(&plot::terminal(&report.timeline, 60));
    out
}
