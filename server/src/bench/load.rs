//! `ghostline bench load`: the server under load, over stdio like an editor.
//!
//! 1. A fast typist: `--cps` keystrokes per second across `--docs` open documents for
//!    `--seconds`, each keystroke a `didChange` plus an automatic inline completion request (what
//!    editors send). Reports latency of the requests that complete with a suggestion, how many
//!    requests were superseded and how the server cancelled them, the model thread's queue
//!    (`modelJobsQueued` in `ghostline/stats`, sampled every second) and the server's RSS over time.
//! 2. `--many-docs` documents open at once.
//! 3. One `--big-mb` file: open, edit at both ends and the middle, complete.
//!
//! Every phase ends by comparing the server's documents (`ghostline/document`) with the client's.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use super::OutputArgs;
use super::lsp_client::{Incoming, LspClient};
use super::report::{self, Distribution, cell_ms};

/// Arguments of `ghostline bench load`.
#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// Output options (`--smoke`: a few seconds of each phase).
    #[command(flatten)]
    pub output: OutputArgs,
    /// How long the typist types.
    #[arg(long, default_value_t = 120.0)]
    pub seconds: f64,
    /// Keystrokes per second.
    #[arg(long, default_value_t = 20.0)]
    pub cps: f64,
    /// Documents the typist switches between.
    #[arg(long, default_value_t = 5)]
    pub docs: usize,
    /// Documents opened at once in phase 2 (0 skips it).
    #[arg(long, default_value_t = 1000)]
    pub many_docs: usize,
    /// Size of the big file in MB in phase 3 (0 skips it).
    #[arg(long, default_value_t = 20.0)]
    pub big_mb: f64,
    /// Extra argument for `ghostline lsp` (repeatable), e.g. `--server-arg=--log-level=warn`.
    #[arg(long, allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// JSON `initializationOptions` (e.g. `{"modelPath": "DIR"}`); the embedded model by default.
    #[arg(long, default_value = "{}")]
    pub init_options: String,
    /// Seed of the typist's document switching.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
}

/// Phase 1's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TypistReport {
    /// Keystrokes sent (each a didChange + an inline completion request).
    pub keystrokes: usize,
    /// Keystrokes per second achieved.
    pub keystrokes_per_s: f64,
    /// Requests answered (all must be).
    pub answered: usize,
    /// Requests never answered.
    pub unanswered: usize,
    /// Answers with at least one suggestion.
    pub with_suggestion: usize,
    /// Requests for which a newer keystroke on the same document was sent before the answer came.
    pub superseded: usize,
    /// Superseded requests that were still answered with a suggestion (stale: should be ~0; a
    /// few can race, answered just before the server read the keystroke).
    pub superseded_with_suggestion: usize,
    /// Latency of the answers with a suggestion (ms).
    pub completed_ms: Distribution,
    /// Latency of all answers (ms).
    pub all_ms: Distribution,
    /// The server's counters at the end.
    pub server_requests: u64,
    /// Requests the server counted as cancelled (superseded by a request or an edit).
    pub server_cancelled: u64,
    /// Generations run.
    pub server_model_calls: u64,
    /// Cache hits.
    pub server_cache_hits: u64,
    /// Largest model-thread queue seen in the 1 s samples.
    pub max_model_jobs_queued: usize,
    /// Model-thread queue at the end.
    pub final_model_jobs_queued: usize,
    /// RSS (MiB) sampled every second.
    pub rss_mib: Vec<f64>,
    /// RSS growth from the sample at 25 % of the run to the last one (MiB).
    pub rss_growth_mib: f64,
    /// The server's documents equal the client's at the end.
    pub documents_match: bool,
}

/// Phase 2's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ManyDocsReport {
    /// Documents opened.
    pub documents: usize,
    /// Seconds from the first didOpen until the server answered a request after the last.
    pub open_s: f64,
    /// The server's `openDocuments` afterwards.
    pub server_open_documents: usize,
    /// RSS before and after opening, and after closing them all (MiB).
    pub rss_before_mib: f64,
    /// See `rss_before_mib`.
    pub rss_open_mib: f64,
    /// See `rss_before_mib`.
    pub rss_closed_mib: f64,
    /// A completion request in one of them (ms).
    pub completion_ms: f64,
    /// Sampled documents equal the client's.
    pub documents_match: bool,
}

/// Phase 3's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BigFileReport {
    /// Size in bytes.
    pub bytes: usize,
    /// Seconds until the server answered a request after the didOpen.
    pub open_s: f64,
    /// Milliseconds per edit (start, middle, end), until a request after it was answered.
    pub edit_ms: Vec<f64>,
    /// A burst of keystrokes at the end of the file sent at once (a fast typist's two seconds):
    /// how many, and the milliseconds until a request after them was answered.
    pub burst_keystrokes: usize,
    /// See `burst_keystrokes`.
    pub burst_ms: f64,
    /// Completion at the end of the file (right after the burst): latency (ms) and whether it
    /// suggested something.
    pub completion_end_ms: f64,
    /// See `completion_end_ms`.
    pub completion_end_suggested: bool,
    /// Completion in the middle of the file.
    pub completion_middle_ms: f64,
    /// See `completion_middle_ms`.
    pub completion_middle_suggested: bool,
    /// Reopened, typed into at once, then 3 s of pause: the completion at the end (ms), and
    /// whether it suggested something.
    pub completion_after_pause_ms: f64,
    /// See `completion_after_pause_ms`.
    pub completion_after_pause_suggested: bool,
    /// Peak RSS of the server (MiB).
    pub peak_rss_mib: f64,
    /// The server's copy equals the client's after the edits.
    pub document_matches: bool,
}

/// The whole report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// When and where.
    pub date_utc: String,
    /// `nproc`, load average.
    pub machine: String,
    /// The arguments that mattered.
    pub seconds: f64,
    /// See `seconds`.
    pub cps: f64,
    /// Phase 1.
    pub typist: TypistReport,
    /// Phase 2 (absent when skipped).
    pub many_docs: Option<ManyDocsReport>,
    /// Phase 3 (absent when skipped).
    pub big_file: Option<BigFileReport>,
}

/// Entry point.
pub fn run(mut args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.docs > 0 && args.cps > 0.0, "--docs and --cps must be positive");
    if args.output.smoke {
        args.seconds = args.seconds.min(8.0);
        args.many_docs = args.many_docs.min(100);
        args.big_mb = args.big_mb.min(2.0);
    }
    let report = measure(&args)?;
    report::emit(&args.output, &report, &to_markdown(&report))
}

fn measure(args: &LoadArgs) -> anyhow::Result<LoadReport> {
    let exe = std::env::current_exe().context("cannot find the ghostline executable")?;
    let mut command = Command::new(&exe);
    command.arg("lsp").args(&args.server_arg);
    let init_options: Value =
        serde_json::from_str(&args.init_options).context("--init-options is not JSON")?;
    let mut session = Session {
        client: LspClient::spawn(command, None)?,
        stats: Vec::new(),
    };
    let init = session.call(
        "initialize",
        json!({"capabilities": {}, "initializationOptions": init_options}),
    )?;
    anyhow::ensure!(
        init.message.get("result").is_some(),
        "initialize failed: {}",
        init.message
    );
    session.client.notify("initialized", json!({}))?;
    session.wait_ready()?;
    let typist = typist(&mut session, args)?;
    let many_docs = (args.many_docs > 0)
        .then(|| many_docs(&mut session, args.many_docs))
        .transpose()?;
    let big_file = (args.big_mb > 0.0)
        .then(|| big_file(&mut session, args.big_mb))
        .transpose()?;
    session.client.shutdown(Duration::from_secs(30))?;
    Ok(LoadReport {
        date_utc: report::utc_now(),
        machine: report::machine_description(),
        seconds: args.seconds,
        cps: args.cps,
        typist,
        many_docs,
        big_file,
    })
}

struct Session {
    client: LspClient,
    stats: Vec<Value>,
}

const TIMEOUT: Duration = Duration::from_secs(300);

impl Session {
    /// A request answered synchronously (other messages are dropped).
    fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Incoming> {
        let (id, _) = self.client.request(method, params)?;
        self.client.wait_response(id, TIMEOUT, &mut |_| {})
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            let stats = self.call("ghostline/stats", Value::Null)?.message["result"].clone();
            match stats["modelState"].as_str() {
                Some("ready") | Some("disabled") => return Ok(()),
                Some("error") => {
                    anyhow::bail!("the model failed to load: {}", stats["modelMessage"])
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        anyhow::bail!("the model did not load within {TIMEOUT:?}")
    }

    fn rss_mib(&self) -> f64 {
        rss_kib(self.client.pid()).unwrap_or(0) as f64 / 1024.0
    }

    fn document(&mut self, uri: &str) -> anyhow::Result<Option<String>> {
        let answer = self.call("ghostline/document", json!({"uri": uri}))?;
        Ok(answer.message["result"]["text"]
            .as_str()
            .map(str::to_string))
    }

    fn open(&mut self, uri: &str, text: &str) -> anyhow::Result<()> {
        self.client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )?;
        Ok(())
    }
}

/// Current RSS of a process (`VmRSS`) in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the typist types: plausible code, one character at a time.
fn typed_text(n: usize) -> String {
    (0..)
        .map(|i| {
            format!(
                "    let value_{i} = compute(value_{}, {i}) + 1;\n",
                i.max(1) - 1
            )
        })
        .take(n / 20 + 2)
        .collect()
}

/// The (line, UTF-16 column) after `text` (ASCII here).
fn end_position(text: &str) -> (u32, u32) {
    let line = text.matches('\n').count() as u32;
    let column = text.rsplit('\n').next().unwrap_or("").len() as u32;
    (line, column)
}

struct Pending {
    doc: usize,
    keystroke: usize,
    sent: Instant,
}

fn typist(session: &mut Session, args: &LoadArgs) -> anyhow::Result<TypistReport> {
    let uris: Vec<String> = (0..args.docs)
        .map(|i| format!("file:///ghostline-load/doc{i}.rs"))
        .collect();
    let mut texts: Vec<String> = (0..args.docs)
        .map(|i| format!("// document {i}\nfn main() {{\n"))
        .collect();
    let mut versions = vec![1i32; args.docs];
    for (uri, text) in uris.iter().zip(&texts) {
        session.open(uri, text)?;
    }
    let keystrokes_total = (args.seconds * args.cps).round() as usize;
    let script: Vec<char> = typed_text(keystrokes_total).chars().collect();
    let interval = Duration::from_secs_f64(1.0 / args.cps);
    let mut rng = args.seed.max(1);
    let mut doc = 0;
    let mut pending: HashMap<i64, Pending> = HashMap::new();
    let mut last_keystroke = vec![0usize; args.docs];
    let mut stats_ids: Vec<i64> = Vec::new();
    let mut report = TypistReport::default();
    let (mut completed, mut all) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut next_sample = started;

    let mut handle = |message: Incoming,
                      pending: &mut HashMap<i64, Pending>,
                      report: &mut TypistReport,
                      last: &[usize],
                      stats: &mut Vec<Value>,
                      stats_ids: &mut Vec<i64>| {
        let Some(id) = message.response_id() else {
            return;
        };
        if let Some(index) = stats_ids.iter().position(|&s| s == id) {
            stats_ids.remove(index);
            stats.push(message.message["result"].clone());
            return;
        }
        let Some(request) = pending.remove(&id) else {
            return;
        };
        let ms = message.at.duration_since(request.sent).as_secs_f64() * 1000.0;
        let suggested = super::latency::has_suggestion(&message.message["result"]);
        let superseded = last[request.doc] > request.keystroke;
        report.answered += 1;
        all.push(ms);
        if suggested {
            report.with_suggestion += 1;
            completed.push(ms);
        }
        if superseded {
            report.superseded += 1;
            if suggested {
                report.superseded_with_suggestion += 1;
            }
        }
    };

    for keystroke in 0..keystrokes_total {
        // Switch documents every 10–40 keystrokes, like moving between files.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if keystroke > 0 && rng.is_multiple_of(25) {
            doc = (doc + 1 + (rng / 25) as usize % (args.docs.max(2) - 1)) % args.docs;
        }
        let ch = script[keystroke % script.len()];
        let (line, column) = end_position(&texts[doc]);
        texts[doc].push(ch);
        versions[doc] += 1;
        last_keystroke[doc] = keystroke;
        session.client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uris[doc], "version": versions[doc]},
                   "contentChanges": [{"range": {"start": {"line": line, "character": column}, "end": {"line": line, "character": column}}, "text": ch.to_string()}]}),
        )?;
        let (line, column) = end_position(&texts[doc]);
        let (id, sent) = session.client.request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uris[doc]}, "position": {"line": line, "character": column}, "context": {"triggerKind": 2}}),
        )?;
        pending.insert(
            id,
            Pending {
                doc,
                keystroke,
                sent,
            },
        );
        report.keystrokes += 1;
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(1);
            report.rss_mib.push(session.rss_mib());
            let (id, _) = session.client.request("ghostline/stats", Value::Null)?;
            stats_ids.push(id);
        }
        let due = started + interval * (keystroke as u32 + 1);
        while let Some(wait) = due.checked_duration_since(Instant::now()) {
            match session.client.recv_timeout(wait)? {
                Some(message) => handle(
                    message,
                    &mut pending,
                    &mut report,
                    &last_keystroke,
                    &mut session.stats,
                    &mut stats_ids,
                ),
                None => break,
            }
        }
    }
    report.keystrokes_per_s = report.keystrokes as f64 / started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(pending.is_empty() && stats_ids.is_empty()) && Instant::now() < deadline {
        if let Some(message) = session.client.recv_timeout(Duration::from_millis(200))? {
            handle(
                message,
                &mut pending,
                &mut report,
                &last_keystroke,
                &mut session.stats,
                &mut stats_ids,
            );
        }
    }
    report.unanswered = pending.len();
    report.completed_ms = Distribution::of(&completed);
    report.all_ms = Distribution::of(&all);
    let stats = session.call("ghostline/stats", Value::Null)?.message["result"].clone();
    let counter = |key: &str| stats[key].as_u64().unwrap_or(0);
    report.server_requests = counter("requests");
    report.server_cancelled = counter("cancelled");
    report.server_model_calls = counter("modelCalls");
    report.server_cache_hits = counter("cacheHits");
    report.final_model_jobs_queued = counter("modelJobsQueued") as usize;
    report.max_model_jobs_queued = session
        .stats
        .iter()
        .filter_map(|s| s["modelJobsQueued"].as_u64())
        .max()
        .unwrap_or(0) as usize;
    let warm = report
        .rss_mib
        .get(report.rss_mib.len() / 4)
        .copied()
        .unwrap_or(0.0);
    report.rss_growth_mib = report.rss_mib.last().copied().unwrap_or(0.0) - warm;
    report.documents_match = true;
    for (uri, text) in uris.iter().zip(&texts) {
        report.documents_match &= session.document(uri)?.as_deref() == Some(text.as_str());
        session.client.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )?;
    }
    Ok(report)
}

fn many_docs(session: &mut Session, n: usize) -> anyhow::Result<ManyDocsReport> {
    let mut report = ManyDocsReport {
        documents: n,
        rss_before_mib: session.rss_mib(),
        ..Default::default()
    };
    let text = |i: usize| format!("// file {i}\n{}", typed_text(2000));
    let uri = |i: usize| format!("file:///ghostline-load/many/{i}.rs");
    let started = Instant::now();
    for i in 0..n {
        session.open(&uri(i), &text(i))?;
    }
    let stats = session.call("ghostline/stats", Value::Null)?.message["result"].clone();
    report.open_s = started.elapsed().as_secs_f64();
    report.server_open_documents = stats["openDocuments"].as_u64().unwrap_or(0) as usize;
    report.rss_open_mib = session.rss_mib();
    let middle = n / 2;
    let (line, column) = end_position(&text(middle));
    let started = Instant::now();
    session.call(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri(middle)}, "position": {"line": line, "character": column}, "context": {"triggerKind": 1}}),
    )?;
    report.completion_ms = started.elapsed().as_secs_f64() * 1000.0;
    report.documents_match = true;
    for i in [0, middle, n - 1] {
        report.documents_match &= session.document(&uri(i))?.as_deref() == Some(text(i).as_str());
    }
    for i in 0..n {
        session.client.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri(i)}}),
        )?;
    }
    session.call("ghostline/stats", Value::Null)?;
    report.rss_closed_mib = session.rss_mib();
    Ok(report)
}

fn big_file(session: &mut Session, megabytes: f64) -> anyhow::Result<BigFileReport> {
    let target = (megabytes * 1024.0 * 1024.0) as usize;
    let mut text = typed_text(target);
    text.truncate(target);
    let uri = "file:///ghostline-load/big.rs";
    let mut report = BigFileReport {
        bytes: text.len(),
        ..Default::default()
    };
    let started = Instant::now();
    session.open(uri, &text)?;
    session.call("ghostline/stats", Value::Null)?;
    report.open_s = started.elapsed().as_secs_f64();
    let lines = text.matches('\n').count();
    for (version, (line, insert)) in [
        (0usize, "// top\n"),
        (lines / 2, "// middle\n"),
        (lines, "\n// end"),
    ]
    .into_iter()
    .enumerate()
    {
        let started = Instant::now();
        session.client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version + 2}, "contentChanges": [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": insert}]}),
        )?;
        session.call("ghostline/stats", Value::Null)?;
        report
            .edit_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
        // The same edit on the client's copy (line starts are at '\n' + 1; the last line is empty).
        let at = if line == 0 {
            0
        } else {
            text.match_indices('\n')
                .nth(line - 1)
                .map_or(text.len(), |(i, _)| i + 1)
        };
        text.insert_str(at, insert);
    }
    // A burst of typing at the end: every keystroke is a didChange of its own.
    let typed = "\nlet total = values.iter().sum::<u64>();";
    let mut line = text.matches('\n').count();
    let mut character = text.rsplit('\n').next().map_or(0, str::len);
    let started = Instant::now();
    for (index, c) in typed.chars().enumerate() {
        let edit = c.to_string();
        session.client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 10 + index}, "contentChanges": [{"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}, "text": edit}]}),
        )?;
        text.push(c);
        if c == '\n' {
            (line, character) = (line + 1, 0);
        } else {
            character += 1;
        }
    }
    session.call("ghostline/stats", Value::Null)?;
    report.burst_keystrokes = typed.chars().count();
    report.burst_ms = started.elapsed().as_secs_f64() * 1000.0;
    let complete = |session: &mut Session,
                    line: usize,
                    character: usize|
     -> anyhow::Result<(f64, bool)> {
        let started = Instant::now();
        let answer = session.call(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, "context": {"triggerKind": 1}}),
        )?;
        Ok((
            started.elapsed().as_secs_f64() * 1000.0,
            super::latency::has_suggestion(&answer.message["result"]),
        ))
    };
    let last_line = text.matches('\n').count();
    let last_len = text.rsplit('\n').next().map_or(0, str::len);
    (report.completion_end_ms, report.completion_end_suggested) =
        complete(session, last_line, last_len)?;
    (
        report.completion_middle_ms,
        report.completion_middle_suggested,
    ) = complete(session, last_line / 2, 4)?;
    report.document_matches = session.document(uri)?.as_deref() == Some(text.as_str());
    report.peak_rss_mib = report::peak_rss_kib(session.client.pid()).unwrap_or(0) as f64 / 1024.0;
    session.client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    )?;

    // Opened again and typed into at once, then a pause before asking: a big document's first
    // parse runs in the background and is overtaken by the typing; the pause lets it land.
    session.open(uri, &text)?;
    let line = text.matches('\n').count();
    let character = text.rsplit('\n').next().map_or(0, str::len);
    let typed = "\nfn again() -> u64 { ";
    session.client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}, "text": typed}]}),
    )?;
    session.call("ghostline/stats", Value::Null)?;
    std::thread::sleep(std::time::Duration::from_secs(3));
    (
        report.completion_after_pause_ms,
        report.completion_after_pause_suggested,
    ) = complete(session, line + 1, typed.len() - 1)?;
    session.client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    )?;
    Ok(report)
}

fn to_markdown(report: &LoadReport) -> String {
    let t = &report.typist;
    let mut out = format!(
        "## ghostline bench load — {} ({})\n\n\
         ### Fast typist: {:.0} s at {:.0} keystrokes/s\n\n\
         | keystrokes | achieved/s | answered | unanswered | with suggestion | superseded | superseded but suggested | server cancelled | model calls | cache hits | max queued | final queued |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n\
         | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n\n\
         | latency (ms) | n | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|\n\
         | completed with a suggestion | {} | {} | {} | {} | {} |\n\
         | all answers | {} | {} | {} | {} | {} |\n\n\
         RSS (MiB, every second): first {:.1}, last {:.1}, max {:.1}; growth after the first quarter {:+.1} MiB. Documents match: {}.\n",
        report.date_utc,
        report.machine,
        report.seconds,
        report.cps,
        t.keystrokes,
        t.keystrokes_per_s,
        t.answered,
        t.unanswered,
        t.with_suggestion,
        t.superseded,
        t.superseded_with_suggestion,
        t.server_cancelled,
        t.server_model_calls,
        t.server_cache_hits,
        t.max_model_jobs_queued,
        t.final_model_jobs_queued,
        t.completed_ms.n,
        cell_ms(t.completed_ms.p50),
        cell_ms(t.completed_ms.p95),
        cell_ms(t.completed_ms.p99),
        cell_ms(t.completed_ms.max),
        t.all_ms.n,
        cell_ms(t.all_ms.p50),
        cell_ms(t.all_ms.p95),
        cell_ms(t.all_ms.p99),
        cell_ms(t.all_ms.max),
        t.rss_mib.first().copied().unwrap_or(0.0),
        t.rss_mib.last().copied().unwrap_or(0.0),
        t.rss_mib.iter().copied().fold(0.0, f64::max),
        t.rss_growth_mib,
        t.documents_match,
    );
    if let Some(m) = &report.many_docs {
        out += &format!(
            "\n### {} documents open\n\nopened in {:.2} s; server counts {}; RSS {:.1} → {:.1} MiB open → {:.1} MiB after closing; a completion among them {:.0} ms; documents match: {}.\n",
            m.documents,
            m.open_s,
            m.server_open_documents,
            m.rss_before_mib,
            m.rss_open_mib,
            m.rss_closed_mib,
            m.completion_ms,
            m.documents_match
        );
    }
    if let Some(b) = &report.big_file {
        out += &format!(
            "\n### A {:.1} MB file\n\nopen {:.2} s; edits (start, middle, end) {:?} ms; {} keystrokes at once applied in {:.0} ms; completion at the end {:.0} ms (suggested: {}), in the middle {:.0} ms (suggested: {}); reopened, typed into and asked after a 3 s pause {:.0} ms (suggested: {}); peak RSS {:.1} MiB; document matches: {}.\n",
            b.bytes as f64 / 1048576.0,
            b.open_s,
            b.edit_ms
                .iter()
                .map(|ms| format!("{ms:.0}"))
                .collect::<Vec<_>>(),
            b.burst_keystrokes,
            b.burst_ms,
            b.completion_end_ms,
            b.completion_end_suggested,
            b.completion_middle_ms,
            b.completion_middle_suggested,
            b.completion_after_pause_ms,
            b.completion_after_pause_suggested,
            b.peak_rss_mib,
            b.document_matches
        );
    }
    out
}
