//! ghostline's own protocol extensions (notifications and requests beyond LSP 3.18).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types::notification::Notification;

use crate::completion::StageTimings;
use crate::feedback::FeedbackStatus;
use crate::feedback::report::StatsReport;

/// `ghostline/status` (server → client): what the model is doing, for the editor's status bar.
pub enum StatusNotification {}

impl Notification for StatusNotification {
    type Params = StatusParams;
    const METHOD: &'static str = "ghostline/status";
}

/// The state names sent in [`StatusParams::state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// The model is loading.
    Loading,
    /// Suggestions are available.
    Ready,
    /// The model failed to load (the message says why); answers are empty.
    Error,
    /// Turned off in the settings.
    Disabled,
}

/// Parameters of `ghostline/status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusParams {
    /// The state.
    pub state: StatusState,
    /// A sentence for the user.
    pub message: String,
    /// Model name, when one is loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Device the model runs on, when one is loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Whether feedback is being recorded (`state` `on` / `starting` / `off`, and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackStatus>,
}

/// `ghostline/timings` (server → client, only when the `timings` setting is on): per-stage
/// timings of each answered inline completion request (used by `ghostline bench latency`).
pub enum TimingsNotification {}

impl Notification for TimingsNotification {
    type Params = TimingsParams;
    const METHOD: &'static str = "ghostline/timings";
}

/// Parameters of `ghostline/timings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingsParams {
    /// The document.
    pub uri: String,
    /// 0-based line of the request.
    pub line: u32,
    /// Column of the request, in the negotiated encoding.
    pub character: u32,
    /// Served from the cache.
    pub cache_hit: bool,
    /// `completed`, `cancelled` or `empty`.
    pub outcome: String,
    /// End-to-end milliseconds.
    pub total_ms: f64,
    /// Per-stage milliseconds.
    pub stages: Value,
}

/// The last answered completion request, in `ghostline/stats`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastCompletion {
    /// Served from the cache (typing-as-suggested or a speculative result).
    pub from_cache: bool,
    /// The model thread ran a generation for it.
    pub model_called: bool,
    /// `completed`, `cancelled`, `empty` or `skipped`.
    pub outcome: String,
    /// Why it was empty or skipped, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Number of items answered.
    pub items: usize,
    /// Per-stage milliseconds.
    pub timings_ms: StageTimings,
    /// The extra snippets that went into the prompt (other files, recent edits, definitions),
    /// best first; empty for cached answers.
    pub prompt_snippets: Vec<crate::related::Snippet>,
}

/// Counters answered by the `ghostline/stats` request.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Inline completion requests received.
    pub requests: u64,
    /// Requests answered from the cache.
    pub cache_hits: u64,
    /// Generations run for requests (speculation not included).
    pub model_calls: u64,
    /// Requests superseded by a newer request or an edit.
    pub cancelled: u64,
    /// Speculative generations started after an accept.
    pub speculative_started: u64,
    /// Requests answered by waiting for a speculative generation.
    pub speculative_served: u64,
    /// `didShowCompletion` events.
    pub shown: u64,
    /// Accepts (`ghostline.accept`).
    pub accepted: u64,
    /// `didPartiallyAcceptCompletion` events.
    pub partially_accepted: u64,
    /// Rejects (command or notification).
    pub rejected: u64,
    /// Feedback events naming an id the server does not (or no longer) know.
    pub unknown_suggestion_ids: u64,
    /// Milliseconds of the last answered request.
    pub last_latency_ms: Option<f64>,
    /// The last answered request.
    pub last: Option<LastCompletion>,
    /// Documents open now.
    pub open_documents: usize,
    /// Jobs waiting for or running on the model thread now (bounded under load: superseded
    /// requests are cancelled before they queue, or skip their generation when they reach it).
    pub model_jobs_queued: usize,
    /// Model state: `loading`, `ready`, `error` or `disabled`.
    pub model_state: Option<StatusState>,
    /// Why the model is not ready, when it is not.
    pub model_message: Option<String>,
    /// The feedback store: its status and the numbers `ghostline stats --json` prints.
    pub feedback: Option<FeedbackStats>,
}

/// The feedback part of `ghostline/stats`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackStats {
    /// Recording on or off, and why.
    pub status: FeedbackStatus,
    /// The stored numbers (all time), exactly as `ghostline stats --json` prints them;
    /// `null` when there is no readable database.
    pub report: Option<StatsReport>,
    /// Why `report` is null, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
}

/// Parameters of the `ghostline/document` debugging request.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRequestParams {
    /// The document URI.
    pub uri: String,
}

/// Answer of `ghostline/document`: the server's copy of a document.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentState {
    /// Version of the last change applied.
    pub version: i32,
    /// Language id from didOpen.
    pub language_id: String,
    /// The full text.
    pub text: String,
    /// Whether the server holds a syntax tree of this text (false for plain text, a parse that
    /// failed, or a big document whose reparse waits for the next completion).
    pub syntax_tree: bool,
}
