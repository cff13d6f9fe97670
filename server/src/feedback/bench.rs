//! `ghostline feedback bench`: what recording costs the keystroke path (the time `record` takes
//! for a shown event, facts included, as the `didShowCompletion` handler calls it), how long an
//! accept waits for its commit, and how many events per second the writer commits.

use std::path::Path;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::Serialize;

use super::event::{FeedbackEvent, FeedbackKind, SuggestionFacts, now_ms};
use super::{Durability, FeedbackSettings, FeedbackSink, FeedbackState, Recorder};
use crate::completion::suggestions::SuggestionRecord;
use crate::completion::{StageTimings, Trigger};

/// Timings of one measured operation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Number of measurements.
    pub n: usize,
    /// Median (µs).
    pub p50_us: f64,
    /// 99th percentile (µs).
    pub p99_us: f64,
    /// Largest (µs).
    pub max_us: f64,
}

/// The benchmark's results.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    /// `record` of a shown event with its facts (2 KiB replay context), paced at 1 per ms.
    pub record_shown_paced: Summary,
    /// `record` of an accept (enqueue only, not the wait for its commit).
    pub record_accept: Summary,
    /// An accept from `record` to its commit (what the `ghostline.accept` answer waits for).
    pub accept_to_commit: Summary,
    /// `record` of shown events pushed back to back (a flood far beyond any editor's rate).
    pub record_shown_flood: Summary,
    /// Events in the flood.
    pub flood_events: usize,
    /// Of those, dropped because the queue was full.
    pub flood_dropped: u64,
    /// Shown events in the throughput burst (fits the queue: nothing dropped).
    pub burst_events: usize,
    /// Rows committed per second for that burst (first push to its commit).
    pub writer_rows_per_s: f64,
}

fn summary(mut micros: Vec<f64>) -> Summary {
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| {
        if micros.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * micros.len() as f64).ceil().max(1.0) as usize;
        micros[rank.min(micros.len()) - 1]
    };
    Summary {
        n: micros.len(),
        p50_us: at(50.0),
        p99_us: at(99.0),
        max_us: micros.last().copied().unwrap_or_default(),
    }
}

fn record_of(document: &Rope, n: usize) -> SuggestionRecord {
    let cursor = document.len_chars() / 2;
    SuggestionRecord {
        id: format!("bench-{n}"),
        uri: format!("file:///bench/file{}.rs", n % 7),
        language_id: "rust".into(),
        document: document.clone(),
        replace: cursor..cursor,
        insert_text: "let total = values.iter().map(|value| value * 2).sum::<i64>();".into(),
        trigger: Trigger::Automatic,
        from_cache: false,
        created: Instant::now(),
        requested: Instant::now(),
        model_id: "bench-model".into(),
        prompt_tokens: Some(512),
        timings: StageTimings::default(),
    }
}

fn event(record: &SuggestionRecord, kind: FeedbackKind) -> FeedbackEvent {
    FeedbackEvent {
        suggestion_id: record.id.clone(),
        kind,
        at_ms: now_ms(),
        suggestion: Some(SuggestionFacts::of(record)),
    }
}

fn timed(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e6
}

/// Runs the benchmark against a fresh database in `dir`.
pub fn run(
    dir: &Path,
    paced: usize,
    decisions: usize,
    flood: usize,
) -> anyhow::Result<BenchReport> {
    let path = dir.join("bench-feedback.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let recorder = Recorder::new();
    recorder.configure(&FeedbackSettings {
        path: Some(path.clone()),
        ..FeedbackSettings::default()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while recorder.status().state == FeedbackState::Starting && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    anyhow::ensure!(
        recorder.status().state == FeedbackState::On,
        "the store did not start: {}",
        recorder.status().message
    );
    // A 20 000-char document: the replay context is cut to its bound around the cursor.
    let document = Rope::from_str(&"    let value = compute(index, &table);\n".repeat(500));
    let mut report = BenchReport::default();
    let mut n = 0;

    let mut times = Vec::with_capacity(paced);
    for _ in 0..paced {
        let record = record_of(&document, n);
        n += 1;
        times.push(timed(|| {
            drop(recorder.record(event(&record, FeedbackKind::Shown)))
        }));
        std::thread::sleep(Duration::from_millis(1));
    }
    report.record_shown_paced = summary(times);

    let mut enqueue = Vec::with_capacity(decisions);
    let mut commit = Vec::with_capacity(decisions);
    for _ in 0..decisions {
        let record = record_of(&document, n);
        n += 1;
        let started = Instant::now();
        let receipt = recorder.record(event(&record, FeedbackKind::Accepted));
        enqueue.push(started.elapsed().as_secs_f64() * 1e6);
        let durability = receipt.durable_blocking(Duration::from_secs(10));
        anyhow::ensure!(
            durability == Durability::Committed,
            "accept not committed: {durability:?}"
        );
        commit.push(started.elapsed().as_secs_f64() * 1e6);
    }
    report.record_accept = summary(enqueue);
    report.accept_to_commit = summary(commit);

    // Writer throughput: a burst that fits the queue (no drops), from the first push to the commit.
    let burst = flood.min(super::writer::QUEUE_CAPACITY - 96);
    let events: Vec<FeedbackEvent> = (0..burst)
        .map(|index| event(&record_of(&document, n + index), FeedbackKind::Shown))
        .collect();
    n += burst;
    let started = Instant::now();
    for event in events {
        drop(recorder.record(event));
    }
    let durability = recorder.flush().durable_blocking(Duration::from_secs(600));
    anyhow::ensure!(
        durability == Durability::Committed,
        "flush failed: {durability:?}"
    );
    report.writer_rows_per_s = burst as f64 / started.elapsed().as_secs_f64();
    report.burst_events = burst;

    // The flood: facts are built before the clock starts so only `record` is timed.
    let events: Vec<FeedbackEvent> = (0..flood)
        .map(|index| event(&record_of(&document, n + index), FeedbackKind::Shown))
        .collect();
    let dropped_before = recorder.status().dropped_events;
    let mut times = Vec::with_capacity(flood);
    for event in events {
        times.push(timed(|| drop(recorder.record(event))));
    }
    let durability = recorder.flush().durable_blocking(Duration::from_secs(600));
    anyhow::ensure!(
        durability == Durability::Committed,
        "flush failed: {durability:?}"
    );
    report.record_shown_flood = summary(times);
    report.flood_events = flood;
    // The writer publishes its drop count after each batch; give it the moment after the flush.
    std::thread::sleep(Duration::from_millis(100));
    report.flood_dropped = recorder.status().dropped_events - dropped_before;
    recorder.configure(&FeedbackSettings {
        enabled: false,
        ..FeedbackSettings::default()
    });
    Ok(report)
}

/// The report as a Markdown table.
pub fn to_markdown(report: &BenchReport) -> String {
    let row = |name: &str, s: &Summary| {
        format!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} |\n",
            s.n, s.p50_us, s.p99_us, s.max_us
        )
    };
    let mut out =
        String::from("| operation | n | p50 µs | p99 µs | max µs |\n|---|---|---|---|---|\n");
    out.push_str(&row(
        "record(shown) with facts, 1 per ms",
        &report.record_shown_paced,
    ));
    out.push_str(&row("record(accept), enqueue only", &report.record_accept));
    out.push_str(&row("accept → committed (fsync)", &report.accept_to_commit));
    out.push_str(&row(
        "record(shown), back-to-back flood",
        &report.record_shown_flood,
    ));
    out.push_str(&format!(
        "\nwriter: a burst of {} shown events committed at {:.0} rows/s; a flood of {} back to back: {} dropped (queue full, oldest shown first)\n",
        report.burst_events, report.writer_rows_per_s, report.flood_events, report.flood_dropped
    ));
    out
}
