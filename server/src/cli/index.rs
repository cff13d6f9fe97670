//! `ghostline index DIR`: builds the workspace index of DIR the way the server does and prints
//! what it holds, how long it took and the memory it cost; with `--snippets FILE`, also times
//! the snippet selection at cursor positions through FILE (the other files of its folder and
//! language act as the open documents). For debugging the index and for docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use ropey::Rope;
use serde::Serialize;

use crate::index::extract::TreeSitterExtractor;
use crate::index::{IndexCommand, IndexEvent, IndexHandle, IndexLimits, IndexStats};
use crate::related::{self, SnippetConfig, SnippetSource};

/// `ghostline index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The workspace folder to index.
    pub root: PathBuf,
    /// Print the definitions of these names as the prompt would get them.
    #[arg(long, value_name = "NAME")]
    pub lookup: Vec<String>,
    /// Time snippet selection at every 25th line of this file.
    #[arg(long, value_name = "FILE")]
    pub snippets: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    root: String,
    stats: IndexStats,
    build_ms: f64,
    limits_hit: Vec<String>,
    rss_before_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippets: Option<SnippetTimings>,
}

#[derive(Serialize)]
struct SnippetTimings {
    open_documents: usize,
    positions: usize,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    mean_snippets: f64,
}

/// Runs the command.
pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    let root = args
        .root
        .canonicalize()
        .with_context(|| format!("cannot open the folder {}", args.root.display()))?;
    if !root.is_dir() {
        bail!("{} is not a folder", root.display());
    }
    let rss_before_kib = memory_kib("VmRSS");
    let (events, received) = std::sync::mpsc::channel();
    let handle = IndexHandle::spawn(
        root.clone(),
        IndexLimits::default(),
        Arc::new(TreeSitterExtractor),
        move |event| {
            let _ = events.send(event);
        },
    );
    let started = Instant::now();
    handle.send(IndexCommand::Build);
    if !handle.wait_idle(Duration::from_secs(3600)) {
        bail!("indexing did not finish within an hour");
    }
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let limits_hit = received
        .try_iter()
        .find_map(|event| match event {
            IndexEvent::BuildFinished { limits_hit, .. } => Some(limits_hit),
            _ => None,
        })
        .unwrap_or_default();
    let rss_after_kib = memory_kib("VmRSS");
    let peak_rss_kib = memory_kib("VmHWM");

    for name in &args.lookup {
        for snippet in handle
            .read()
            .definitions_for(std::slice::from_ref(name), None, 8, 100_000)
        {
            eprintln!(
                "== {}:{} ({:?})\n{}",
                snippet.path,
                snippet.start_line + 1,
                snippet.kind,
                snippet.text
            );
        }
    }
    let snippets = match &args.snippets {
        Some(file) => Some(time_snippets(file)?),
        None => None,
    };
    let report = Report {
        root: root.display().to_string(),
        stats: handle.read().stats(),
        build_ms,
        limits_hit,
        rss_before_kib,
        rss_after_kib,
        peak_rss_kib,
        snippets,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn time_snippets(file: &Path) -> anyhow::Result<SnippetTimings> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let extension = file.extension().map(|e| e.to_owned());
    let folder = file.parent().unwrap_or(Path::new("."));
    let mut others: Vec<(String, Rope)> = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path != file && path.extension().map(|e| e.to_owned()) == extension)
        .collect();
    entries.sort();
    for path in entries.into_iter().take(20) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            others.push((path.display().to_string(), Rope::from_str(&text)));
        }
    }
    let language_id = "rust"; // any language with comments; selection itself is language-blind
    let no_edits: Vec<usize> = Vec::new();
    let sources: Vec<SnippetSource> = others
        .iter()
        .map(|(path, rope)| SnippetSource {
            path,
            language_id,
            rope,
            recent_edit_lines: &no_edits,
        })
        .collect();
    let rope = Rope::from_str(&text);
    let path = file.display().to_string();
    let current = SnippetSource {
        path: &path,
        language_id,
        rope: &rope,
        recent_edit_lines: &no_edits,
    };
    let mut times = Vec::new();
    let mut chosen = 0;
    for line in (0..rope.len_lines()).step_by(25) {
        let cursor = rope.line_to_char(line);
        let started = Instant::now();
        chosen += related::related(&sources, &current, cursor, &SnippetConfig::default()).len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(SnippetTimings {
        open_documents: others.len(),
        positions: times.len(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: *times.last().unwrap_or(&0.0),
        mean_snippets: chosen as f64 / times.len().max(1) as f64,
    })
}

/// A `/proc/self/status` figure in KiB (Linux only).
fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
