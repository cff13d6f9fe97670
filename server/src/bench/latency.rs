//! `ghostline bench latency`: spawns the real `ghostline lsp` over stdio, opens real source files,
//! types a span of each back character by character at a human rate (with pauses), and measures
//! `textDocument/inlineCompletion` request → response latency, time to the first suggestion after
//! start, the server's per-stage timings and its peak RSS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use super::OutputArgs;
use super::lsp_client::{Incoming, LspClient};
use super::report::{self, Distribution, cell_ms};

/// Arguments of `ghostline bench latency`.
#[derive(clap::Args, Clone, Debug)]
pub struct LatencyArgs {
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Files to open and type into (default: a few of this repository's own sources).
    #[arg(long)]
    pub files: Vec<PathBuf>,
    /// Number of default files when --files is not given.
    #[arg(long, default_value_t = 4)]
    pub n_files: usize,
    /// Characters typed into each file.
    #[arg(long, default_value_t = 80)]
    pub chars_per_file: usize,
    /// Typing speed in characters per second (about 100 words per minute by default).
    #[arg(long, default_value_t = 8.0)]
    pub cps: f64,
    /// Probability of a thinking pause (0.6–2 s) after a space, newline or punctuation.
    #[arg(long, default_value_t = 0.15)]
    pub pause_probability: f64,
    /// Seed for the span choice and the typing rhythm.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Extra argument for `ghostline lsp` (repeatable), e.g. `--server-arg=--model=DIR`.
    #[arg(long, allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// JSON `initializationOptions` sent to the server (`timings` asks for `ghostline/timings`).
    #[arg(long, default_value = r#"{"timings": true}"#)]
    pub init_options: String,
    /// Seconds to wait for the server to answer a request before giving up.
    #[arg(long, default_value_t = 300)]
    pub request_timeout_s: u64,
    /// Write the server's stderr here (default: discarded).
    #[arg(long)]
    pub server_log: Option<PathBuf>,
}

/// What happened to one inline-completion request.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    /// Milliseconds from the request to its response (None: never answered).
    pub latency_ms: Option<f64>,
    /// `suggestion`, `empty`, `cancelled`, `error` or `unanswered`.
    pub outcome: String,
    /// The user paused (≥ 500 ms) after this keystroke: its answer is what they see.
    pub before_pause: bool,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyReport {
    /// Machine description.
    pub machine: String,
    /// When it ran.
    pub date: String,
    /// The server command line.
    pub server_command: Vec<String>,
    /// Files typed into.
    pub files: Vec<String>,
    /// Characters typed in all.
    pub chars_typed: usize,
    /// Spawn → initialize response.
    pub initialize_ms: f64,
    /// Spawn → first inline-completion response of any kind.
    pub first_response_ms: Option<f64>,
    /// Spawn → first response with a non-empty suggestion to the cold-start requests (None when
    /// the ready server answered them without one).
    pub first_suggestion_ms: Option<f64>,
    /// Requests it took to get that first suggestion (the server may answer empty while loading).
    pub cold_requests: usize,
    /// Requests by outcome, as the client saw them.
    pub outcomes: BTreeMap<String, usize>,
    /// The server's own account from its timing notifications (`completed`, `skipped`, ...,
    /// and `cache_hit`).
    pub server_outcomes: BTreeMap<String, usize>,
    /// Latency of every answered request.
    pub latency_all_ms: Distribution,
    /// Latency of requests answered with a suggestion.
    pub latency_suggestion_ms: Distribution,
    /// Latency of the answered requests sent right before a pause (what the user waits for; a
    /// request cancelled by the keystroke after a short pause is not counted here).
    pub latency_at_pause_ms: Distribution,
    /// The server's own per-stage timings (from its timing notifications), by field.
    pub stages_ms: BTreeMap<String, Distribution>,
    /// Peak resident set size of the server process.
    pub server_peak_rss_mib: Option<f64>,
    /// Every request in order.
    pub requests: Vec<RequestRecord>,
}

/// Entry point.
pub fn run(mut args: LatencyArgs) -> anyhow::Result<()> {
    if args.output.smoke {
        args.n_files = 1;
        args.chars_per_file = args.chars_per_file.min(12);
        args.cps = args.cps.max(20.0);
        args.request_timeout_s = args.request_timeout_s.min(60);
    }
    let files = if args.files.is_empty() { default_files(args.n_files)? } else { args.files.clone() };
    let report = replay(&args, &files)?;
    report::emit(&args.output, &report, &to_markdown(&report))
}

/// This repository's own sources (deterministic choice), looked up from the current directory.
fn default_files(n: usize) -> anyhow::Result<Vec<PathBuf>> {
    let candidates = [
        "server/src/eval/metrics.rs",
        "model/src/sampling.rs",
        "scripts/devset/build_code_tasks.py",
        "server/src/bench/lsp_client.rs",
        "server/src/config.rs",
        "model/src/config.rs",
    ];
    let files: Vec<PathBuf> = candidates.iter().map(PathBuf::from).filter(|p| p.is_file()).take(n).collect();
    anyhow::ensure!(!files.is_empty(), "no default files found: run from the repository root or pass --files");
    Ok(files)
}

struct Pending {
    index: usize,
    id: i64,
    sent: Instant,
}

struct Replay {
    client: LspClient,
    records: Vec<RequestRecord>,
    pending: Vec<Pending>,
    stage_samples: BTreeMap<String, Vec<f64>>,
    first_response: Option<Instant>,
    first_suggestion: Option<Instant>,
    incremental_sync: bool,
    cold_requests: usize,
    cold_done: bool,
    server_ready: bool,
    status_seen: bool,
    server_outcomes: BTreeMap<String, usize>,
}

fn replay(args: &LatencyArgs, files: &[PathBuf]) -> anyhow::Result<LatencyReport> {
    let exe = std::env::current_exe().context("cannot find the ghostline executable")?;
    let mut command = Command::new(&exe);
    command.arg("lsp").args(&args.server_arg);
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // The server's wgpu probe prints loader errors without it; the value does not matter.
        command.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let server_command: Vec<String> =
        std::iter::once(exe.display().to_string()).chain(std::iter::once("lsp".to_string())).chain(args.server_arg.clone()).collect();
    let client = LspClient::spawn(command, args.server_log.as_deref())?;
    let timeout = Duration::from_secs(args.request_timeout_s);
    let init_options: Value = serde_json::from_str(&args.init_options).context("--init-options is not JSON")?;
    let root = std::env::current_dir()?;
    let mut state = Replay {
        client,
        records: Vec::new(),
        pending: Vec::new(),
        stage_samples: BTreeMap::new(),
        first_response: None,
        first_suggestion: None,
        incremental_sync: false,
        cold_requests: 0,
        cold_done: false,
        server_ready: false,
        status_seen: false,
        server_outcomes: BTreeMap::new(),
    };
    let (id, _) = state.client.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": file_uri(&root),
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "textDocument": {"inlineCompletion": {"dynamicRegistration": false},
                                  "synchronization": {"dynamicRegistration": false}},
            },
            "initializationOptions": init_options,
        }),
    )?;
    let init = state.client.wait_response(id, timeout, &mut |_| {})?;
    let initialize_ms = ms(init.at - state.client.spawned_at);
    let sync = init.message.pointer("/result/capabilities/textDocumentSync");
    state.incremental_sync = sync.and_then(|s| s.as_u64().or_else(|| s.get("change").and_then(Value::as_u64))) == Some(2);
    state.client.notify("initialized", json!({}))?;

    let mut rng = SplitMix(args.seed);
    let mut chars_typed = 0;
    let progress = indicatif::ProgressBar::new((files.len() * args.chars_per_file) as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("bench latency {spinner} [{bar:30}] {pos}/~{len} chars {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    for (file_idx, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (start, span) = choose_span(&text, args.chars_per_file, &mut rng);
        let mut document = format!("{}{}", &text[..start], &text[start + span.len()..]);
        let mut cursor = start;
        let uri = file_uri(&std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()));
        let mut version = 1;
        state.client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language_id(path), "version": version, "text": document}}),
        )?;
        if file_idx == 0 {
            state.wait_first_suggestion(&uri, &document, cursor, timeout)?;
        }
        progress.set_message(path.display().to_string());
        let chars: Vec<char> = span.chars().collect();
        for (char_idx, ch) in chars.iter().enumerate() {
            let mut delay = 1000.0 / args.cps * (0.5 + rng.next_f64());
            if (ch.is_whitespace() || ch.is_ascii_punctuation()) && rng.next_f64() < args.pause_probability {
                delay = 600.0 + 1400.0 * rng.next_f64();
            }
            if char_idx + 1 == chars.len() {
                delay = 3000.0; // the final pause of each file
            }
            let (line, character) = position(&document, cursor);
            document.insert(cursor, *ch);
            cursor += ch.len_utf8();
            version += 1;
            let change = if state.incremental_sync {
                json!({"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}, "text": ch.to_string()})
            } else {
                json!({"text": document})
            };
            state.client.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}))?;
            state.cancel_pending()?;
            let index = state.send_request(&uri, &document, cursor, 2)?;
            state.records[index].before_pause = delay >= 500.0;
            chars_typed += 1;
            let until = Instant::now() + Duration::from_secs_f64(delay / 1000.0);
            let deadline = if char_idx + 1 == chars.len() { Instant::now() + timeout } else { until };
            state.pump_until(until, deadline)?;
            progress.inc(1);
        }
        state.client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}))?;
    }
    progress.finish_and_clear();
    // Whatever is still pending after the last pause is left unanswered.
    let server_peak_rss_mib = report::peak_rss_kib(state.client.pid()).map(|kib| kib as f64 / 1024.0);
    let spawned_at = state.client.spawned_at;
    let Replay { client, records, stage_samples, first_response, first_suggestion, cold_requests, server_outcomes, .. } = state;
    client.shutdown(Duration::from_secs(5))?;
    let answered: Vec<f64> = records.iter().filter(|r| matches!(r.outcome.as_str(), "suggestion" | "empty")).filter_map(|r| r.latency_ms).collect();
    let suggestions: Vec<f64> = records.iter().filter(|r| r.outcome == "suggestion").filter_map(|r| r.latency_ms).collect();
    let at_pause: Vec<f64> = records
        .iter()
        .filter(|r| r.before_pause && matches!(r.outcome.as_str(), "suggestion" | "empty"))
        .filter_map(|r| r.latency_ms)
        .collect();
    let mut outcomes = BTreeMap::new();
    for record in &records {
        *outcomes.entry(record.outcome.clone()).or_insert(0) += 1;
    }
    Ok(LatencyReport {
        machine: report::machine_description(),
        date: report::utc_now(),
        server_command,
        files: files.iter().map(|p| p.display().to_string()).collect(),
        chars_typed,
        initialize_ms,
        first_response_ms: first_response.map(|at| ms(at - spawned_at)),
        first_suggestion_ms: first_suggestion.map(|at| ms(at - spawned_at)),
        cold_requests,
        outcomes,
        server_outcomes,
        latency_all_ms: Distribution::of(&answered),
        latency_suggestion_ms: Distribution::of(&suggestions),
        latency_at_pause_ms: Distribution::of(&at_pause),
        stages_ms: stage_samples.into_iter().map(|(k, v)| (k, Distribution::of(&v))).collect(),
        server_peak_rss_mib,
        requests: records,
    })
}

impl Replay {
    fn send_request(&mut self, uri: &str, document: &str, cursor: usize, trigger_kind: u8) -> anyhow::Result<usize> {
        let (line, character) = position(document, cursor);
        let (id, sent) = self.client.request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                   "context": {"triggerKind": trigger_kind}}),
        )?;
        self.records.push(RequestRecord { latency_ms: None, outcome: "unanswered".into(), before_pause: false });
        let index = self.records.len() - 1;
        self.pending.push(Pending { index, id, sent });
        Ok(index)
    }

    /// Like VS Code: a new keystroke cancels the requests still in flight.
    fn cancel_pending(&mut self) -> anyhow::Result<()> {
        for pending in &self.pending {
            self.client.notify("$/cancelRequest", json!({"id": pending.id}))?;
        }
        Ok(())
    }

    /// Handles incoming messages until `until`; past it, keeps going while requests are pending,
    /// up to `deadline`.
    fn pump_until(&mut self, until: Instant, deadline: Instant) -> anyhow::Result<()> {
        loop {
            let now = Instant::now();
            let stop = if now < until {
                until
            } else if !self.pending.is_empty() && now < deadline {
                deadline
            } else {
                return Ok(());
            };
            if let Some(message) = self.client.recv_timeout(stop - now)? {
                self.handle(message);
            }
        }
    }

    /// Cold start: asks at the cursor (as when the user invokes completion) until a suggestion comes
    /// back, or the server has said it is ready (`ghostline/status`) and still answered without one
    /// (servers without that notification: three empty answers), or `timeout` passes. These requests are reported apart from
    /// the typing statistics, and only they can set the cold `first_suggestion`.
    fn wait_first_suggestion(&mut self, uri: &str, document: &str, cursor: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut answered_without = 0;
        while self.first_suggestion.is_none() && Instant::now() < deadline {
            let index = self.send_request(uri, document, cursor, 1)?;
            self.pump_until(Instant::now(), deadline)?;
            if self.first_suggestion.is_some() {
                break;
            }
            // Answers while the model is still loading do not count.
            if self.records[index].outcome != "unanswered" && (self.server_ready || !self.status_seen) {
                answered_without += 1;
            }
            if (self.server_ready && answered_without > 0) || answered_without >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.cold_requests = self.records.len();
        self.cold_done = true;
        self.records.clear();
        self.pending.clear();
        self.stage_samples.clear();
        self.server_outcomes.clear();
        Ok(())
    }

    fn handle(&mut self, message: Incoming) {
        if let Some(method) = message.notification_method() {
            if method == "ghostline/status" {
                let state = message.message.pointer("/params/state").and_then(Value::as_str);
                self.status_seen = true;
                self.server_ready |= matches!(state, Some("ready" | "error" | "disabled"));
            }
            if method.to_ascii_lowercase().contains("timing") {
                let mut fields = Vec::new();
                flatten_numbers("", message.message.get("params").unwrap_or(&Value::Null), &mut fields);
                for (key, value) in fields.into_iter().filter(|(key, _)| key.ends_with("_ms")) {
                    self.stage_samples.entry(key).or_default().push(value);
                }
                let params = message.message.get("params");
                if let Some(outcome) = params.and_then(|p| p.get("outcome")).and_then(Value::as_str) {
                    *self.server_outcomes.entry(outcome.to_string()).or_insert(0) += 1;
                }
                if params.and_then(|p| p.get("cache_hit")).and_then(Value::as_bool) == Some(true) {
                    *self.server_outcomes.entry("cache_hit".to_string()).or_insert(0) += 1;
                }
            }
            return;
        }
        let Some(id) = message.response_id() else { return };
        let Some(slot) = self.pending.iter().position(|p| p.id == id) else { return };
        let pending = self.pending.remove(slot);
        let record = &mut self.records[pending.index];
        record.latency_ms = Some(ms(message.at - pending.sent));
        record.outcome = if let Some(error) = message.message.get("error") {
            if error.get("code").and_then(Value::as_i64) == Some(-32800) { "cancelled" } else { "error" }.to_string()
        } else if has_suggestion(message.message.get("result").unwrap_or(&Value::Null)) {
            if !self.cold_done {
                self.first_suggestion.get_or_insert(message.at);
            }
            "suggestion".to_string()
        } else {
            "empty".to_string()
        };
        if record.outcome != "cancelled" {
            self.first_response.get_or_insert(message.at);
        }
    }
}

/// Whether an inline-completion result (`InlineCompletionItem[]` or `{items}`) has non-empty text.
pub fn has_suggestion(result: &Value) -> bool {
    let items = result.as_array().or_else(|| result.get("items").and_then(Value::as_array));
    items.is_some_and(|items| {
        items.iter().any(|item| {
            let text = item.get("insertText");
            let text = text.and_then(Value::as_str).or_else(|| text.and_then(|t| t.get("value")).and_then(Value::as_str));
            text.is_some_and(|t| !t.trim().is_empty())
        })
    })
}

fn flatten_numbers(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Number(number) => out.extend(number.as_f64().map(|n| (prefix.to_string(), n))),
        Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten_numbers(&key, value, out);
            }
        }
        _ => {}
    }
}

/// Picks about `n` characters to retype: from the first non-blank character of a code line in the
/// middle half of the file to the end of the line where `n` is reached, so that, as when writing
/// new code, nothing but the line break sits right of the cursor. Returns the byte offset and the span.
fn choose_span(text: &str, n: usize, rng: &mut SplitMix) -> (usize, String) {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.trim_end().len() >= 12 && !trimmed.starts_with("//") && !trimmed.starts_with('#') {
            starts.push(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    let middle = &starts[starts.len() / 4..(starts.len() * 3 / 4).max(starts.len() / 4 + 1).min(starts.len())];
    let start = if middle.is_empty() { 0 } else { middle[(rng.next_u64() % middle.len() as u64) as usize] };
    let mut end = start;
    for line in text[start..].split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        end += body.len();
        if text[start..end].chars().count() >= n || end == text.len() {
            break;
        }
        end += line.len() - body.len();
    }
    (start, text[start..end].to_string())
}

/// LSP position (line, UTF-16 column) of a byte offset.
pub fn position(text: &str, byte_offset: usize) -> (u32, u32) {
    let before = &text[..byte_offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].encode_utf16().count() as u32;
    (line, character)
}

fn language_id(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "rs" => "rust",
        "py" => "python",
        "js" => "javascript",
        "ts" => "typescript",
        "go" => "go",
        "c" | "h" => "c",
        "md" => "markdown",
        _ => "plaintext",
    }
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// SplitMix64: a tiny seeded generator for the typing rhythm.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn to_markdown(report: &LatencyReport) -> String {
    let mut out = format!(
        "Machine: {}; {}; {} characters typed into {} file(s)\n\n\
         | measure | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
        report.machine,
        report.date,
        report.chars_typed,
        report.files.len()
    );
    let mut row = |name: &str, d: &Distribution| {
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            d.n,
            cell_ms(d.p50),
            cell_ms(d.p95),
            cell_ms(d.p99),
            cell_ms(d.mean),
            cell_ms(d.max)
        ));
    };
    row("request → response (answered)", &report.latency_all_ms);
    row("request → suggestion", &report.latency_suggestion_ms);
    row("request before a pause", &report.latency_at_pause_ms);
    for (stage, distribution) in &report.stages_ms {
        row(&format!("stage `{stage}`"), distribution);
    }
    out.push_str(&format!(
        "\n| start-up | ms |\n|---|---:|\n| initialize | {} |\n| first response | {} |\n| first suggestion (cold) | {} |\n\n",
        cell_ms(Some(report.initialize_ms)),
        cell_ms(report.first_response_ms),
        cell_ms(report.first_suggestion_ms)
    ));
    let list = |map: &BTreeMap<String, usize>| map.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
    out.push_str(&format!(
        "Requests (client view): {}. Server view: {}. Server peak RSS: {} MiB.\n",
        list(&report.outcomes),
        list(&report.server_outcomes),
        report.server_peak_rss_mib.map_or("–".to_string(), |v| format!("{v:.0}"))
    ));
    out
}
