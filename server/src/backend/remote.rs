//! `RemoteModel`: a [`CompletionModel`] whose generations run on an inference server.
//!
//! It lives on the model thread like the local engine, so cancellation works the same way: the
//! [`CancelFlag`] is checked between streamed chunks, and a cancelled, budget-exhausted or
//! stop-string-ended stream is dropped, which closes the connection (the server stops generating
//! instead of finishing an answer nobody reads). Only failures before any answer byte (refused,
//! reset: the request cannot have started work) are retried, at most [`MAX_RETRIES`] times, and
//! never once the request is cancelled. When `fallbackToLocal` is set, a failed endpoint is
//! answered by the local engine and skipped for a growing back-off, and [`CompletionModel::health`]
//! tells the status line what is happening.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use super::BackendSpec;
use super::fim::{FimError, FimTemplate};
use super::http::{ApiKey, Endpoint, EndpointError, Failure, agent};
use super::stream::EventDecoder;
use super::wire::{self, WireError, WireRequest, excerpt};
use crate::model::{
    CancelFlag, Completion, CompletionModel, Degradation, FinishReason, GenerateOutput,
    GenerateRequest, GenerateTimings, ModelCallError, ModelInfo,
};

/// Retries of a request that failed before any answer byte.
pub const MAX_RETRIES: usize = 2;
/// Context length assumed for a remote model (prompt + completion, in estimated tokens).
pub const REMOTE_CONTEXT_TOKENS: usize = 4096;
/// Characters per token assumed when estimating prompt sizes for a remote model.
const CHARS_PER_TOKEN: usize = 3;
/// First back-off after a failure while the local fallback answers.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// Longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Largest non-streamed answer read.
const MAX_BODY_BYTES: u64 = 16 << 20;

/// Errors of the remote backend. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The endpoint or key settings are unusable.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The FIM template setting is unusable.
    #[error(transparent)]
    Template(#[from] FimError),
    /// The exchange failed on the network (refused, timeout, broken off).
    #[error("remote endpoint {endpoint} {what}")]
    Network {
        /// The endpoint.
        endpoint: String,
        /// The failure in words.
        what: String,
        /// The classified failure.
        failure: Failure,
    },
    /// HTTP 401/403.
    #[error("remote endpoint {endpoint} rejected the request (HTTP {status}): {hint}")]
    Unauthorized {
        /// The endpoint.
        endpoint: String,
        /// The status code.
        status: u16,
        /// Which key was sent.
        hint: String,
    },
    /// Another non-2xx status.
    #[error("remote endpoint {endpoint} answered HTTP {status}: {body}")]
    Status {
        /// The endpoint.
        endpoint: String,
        /// The status code.
        status: u16,
        /// The start of the body (key redacted).
        body: String,
    },
    /// The answer's shape was wrong, or the server reported an error in it.
    #[error("remote endpoint {endpoint}: {source}")]
    Wire {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        source: WireError,
    },
}

/// One finished exchange.
struct Answer {
    completion: Completion,
    /// The server answered (false when cancelled before sending).
    reached_server: bool,
    timings: GenerateTimings,
    prompt_tokens: Option<usize>,
}

/// The remote backend.
pub struct RemoteModel {
    spec: BackendSpec,
    endpoint: Endpoint,
    agent: ureq::Agent,
    key: Option<ApiKey>,
    template: FimTemplate,
    local: Option<Box<dyn CompletionModel>>,
    health: Option<Degradation>,
    /// While the fallback answers, the endpoint is skipped until then.
    skip_until: Option<Instant>,
    backoff: Duration,
}

impl RemoteModel {
    /// Checks the settings, reads the key and probes the endpoint once (a down endpoint is not
    /// an error here: it is reported through [`CompletionModel::health`] and tried again on each
    /// request).
    pub fn connect(
        spec: &BackendSpec,
        local: Option<Box<dyn CompletionModel>>,
    ) -> Result<RemoteModel, RemoteError> {
        let given = spec
            .endpoint
            .as_deref()
            .filter(|endpoint| !endpoint.trim().is_empty())
            .ok_or_else(|| EndpointError::Missing {
                kind: spec.kind.to_string(),
            })?;
        let endpoint = Endpoint::parse(given, spec.allow_insecure_http)?;
        let key = match spec.api_key_env.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => Some(ApiKey::from_env(name)?),
            None => None,
        };
        let template =
            FimTemplate::resolve(spec.fim_template.as_deref(), spec.remote_model.as_deref())?;
        let mut model = RemoteModel {
            spec: spec.clone(),
            endpoint,
            agent: agent(spec),
            key,
            template,
            local,
            health: None,
            skip_until: None,
            backoff: FIRST_BACKOFF,
        };
        if let Err(error) = model.probe() {
            tracing::warn!(%error, "remote endpoint probe failed");
            model.mark_failure(&error);
        }
        tracing::info!(
            backend = %model.spec.describe(),
            template = %model.template.name,
            fallback = model.local.is_some(),
            "remote backend ready"
        );
        Ok(model)
    }

    /// The template in use.
    pub fn template(&self) -> &FimTemplate {
        &self.template
    }

    /// Asks the server something cheap: any HTTP answer but 401/403 means it is there.
    fn probe(&self) -> Result<(), RemoteError> {
        let url = self.endpoint.url(wire::probe_path(self.spec.kind));
        let mut request = self
            .agent
            .get(&url)
            .config()
            .timeout_global(Some(self.spec.connect_timeout * 2))
            .build();
        if let Some(key) = &self.key {
            request = request.header("Authorization", key.bearer());
        }
        match request.call() {
            Ok(response) => {
                let status = response.status().as_u16();
                if status == 401 || status == 403 {
                    Err(self.unauthorized(status))
                } else {
                    Ok(())
                }
            }
            Err(error) => Err(self.network(Failure::from_ureq(error, false))),
        }
    }

    fn network(&self, failure: Failure) -> RemoteError {
        RemoteError::Network {
            endpoint: self.endpoint.to_string(),
            what: failure.describe(&self.spec),
            failure,
        }
    }

    fn unauthorized(&self, status: u16) -> RemoteError {
        let hint = match &self.spec.api_key_env {
            Some(name) if self.key.is_some() => {
                format!("check the API key in the environment variable {name} (apiKeyEnv)")
            }
            _ => "the server wants an API key: name the environment variable holding it in apiKeyEnv".to_string(),
        };
        RemoteError::Unauthorized {
            endpoint: self.endpoint.to_string(),
            status,
            hint,
        }
    }

    fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        }
    }

    /// Sends `request`, retrying only failures before any answer byte. `None` when cancelled.
    fn send(
        &self,
        request: &WireRequest,
        cancel: &CancelFlag,
    ) -> Result<Option<ureq::http::Response<ureq::Body>>, RemoteError> {
        let body = serde_json::to_vec(&request.body).expect("a JSON value serializes");
        let url = self.endpoint.url(request.path);
        let mut attempt = 0;
        loop {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            let mut builder = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json");
            if let Some(key) = &self.key {
                builder = builder.header("Authorization", key.bearer());
            }
            match builder.send(&body[..]) {
                Ok(response) => return Ok(Some(response)),
                Err(error) => {
                    let failure = Failure::from_ureq(error, false);
                    if failure.is_retryable() && attempt < MAX_RETRIES && !cancel.is_cancelled() {
                        attempt += 1;
                        tracing::debug!(?failure, attempt, "retrying a request that got no answer");
                        std::thread::sleep(Duration::from_millis(50 * attempt as u64));
                        continue;
                    }
                    return Err(self.network(failure));
                }
            }
        }
    }

    /// One completion: one HTTP exchange, streamed or not.
    fn exchange(
        &self,
        req: &GenerateRequest,
        index: usize,
        cancel: &CancelFlag,
        deadline: Option<Instant>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer, RemoteError> {
        let started = Instant::now();
        let request = wire::request(
            self.spec.kind,
            self.spec.remote_model.as_deref(),
            &self.template,
            self.spec.fim_template.is_some(),
            req,
            index,
            self.spec.stream,
        );
        let mut text = String::new();
        let mut finish = None;
        let mut prompt_tokens = None;
        let mut first_text_ms = None;
        let Some(response) = self.send(&request, cancel)? else {
            return Ok(cancelled_answer(started));
        };
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(self.unauthorized(status));
        }
        if !(200..300).contains(&status) {
            let body = response
                .into_body()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            return Err(RemoteError::Status {
                endpoint: self.endpoint.to_string(),
                status,
                body: self.redact(&excerpt(&body)),
            });
        }
        let wire_error = |source: WireError| RemoteError::Wire {
            endpoint: self.endpoint.to_string(),
            source: redact_wire(source, |text| self.redact(text)),
        };
        let stops: Vec<&str> = req
            .stop
            .iter()
            .map(String::as_str)
            .chain(self.template.stops.iter().map(String::as_str))
            .collect();
        if self.spec.stream {
            let mut reader = BufReader::new(response.into_body().into_reader());
            let mut decoder = EventDecoder::new(wire::framing(self.spec.kind));
            let mut line = Vec::new();
            loop {
                if cancel.is_cancelled() {
                    finish = Some(FinishReason::Cancelled);
                    break;
                }
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    finish = Some(FinishReason::TimeBudget);
                    break;
                }
                line.clear();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|error| self.network(Failure::from_body_read(error)))?;
                let payload = if read == 0 {
                    decoder.finish()
                } else {
                    decoder.push_line(&String::from_utf8_lossy(&line))
                };
                if let Some(payload) = payload {
                    let piece = wire::parse(self.spec.kind, &payload).map_err(wire_error)?;
                    prompt_tokens = piece.prompt_tokens.or(prompt_tokens);
                    if !piece.text.is_empty() {
                        first_text_ms.get_or_insert_with(|| ms_since(started));
                        let before = text.len();
                        text.push_str(&piece.text);
                        if let Some(cut) = first_stop(&text, &stops, before) {
                            text.truncate(cut);
                            if text.len() > before {
                                on_token(&text[before..]);
                            }
                            // Dropping the stream below closes the connection early.
                            finish = Some(FinishReason::Stop);
                            break;
                        }
                        on_token(&text[before..]);
                    }
                    if piece.finish.is_some() {
                        finish = piece.finish;
                    }
                    if piece.done {
                        finish.get_or_insert(FinishReason::EndOfText);
                        break;
                    }
                }
                if read == 0 {
                    break;
                }
            }
            // `reader` is dropped here: when the body was not read to its end (cancelled, stop
            // string, budget) the connection is closed instead of going back to the pool.
        } else {
            let body = response
                .into_body()
                .with_config()
                .limit(MAX_BODY_BYTES)
                .read_to_string()
                .map_err(|error| self.network(Failure::from_ureq(error, true)))?;
            let piece = wire::parse(self.spec.kind, &body).map_err(wire_error)?;
            first_text_ms = Some(ms_since(started));
            prompt_tokens = piece.prompt_tokens;
            text = piece.text;
            finish = Some(piece.finish.unwrap_or(FinishReason::EndOfText));
            if let Some(cut) = first_stop(&text, &stops, 0) {
                text.truncate(cut);
                finish = Some(FinishReason::Stop);
            }
            if cancel.is_cancelled() {
                finish = Some(FinishReason::Cancelled);
            }
        }
        let Some(finish) = finish else {
            return Err(self.network(Failure::Interrupted {
                detail: "the stream ended before its last event".to_string(),
            }));
        };
        let total = ms_since(started);
        let first = first_text_ms.unwrap_or(total);
        Ok(Answer {
            completion: Completion {
                text,
                tokens: Vec::new(),
                finish,
            },
            timings: GenerateTimings {
                tokenize_ms: 0.0,
                prefill_ms: first,
                decode_ms: total - first,
            },
            prompt_tokens,
            reached_server: true,
        })
    }

    fn mark_failure(&mut self, error: &RemoteError) {
        let fallback_active = self.local.is_some();
        let message = if fallback_active {
            format!("{error}; suggestions come from the local model until it answers again")
        } else {
            format!("no suggestions: {error} (tried again on the next request)")
        };
        self.health = Some(Degradation {
            message,
            fallback_active,
        });
        if fallback_active {
            self.skip_until = Some(Instant::now() + self.backoff);
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn mark_success(&mut self) {
        if self.health.take().is_some() {
            tracing::info!(endpoint = %self.endpoint, "remote endpoint answers again");
        }
        self.skip_until = None;
        self.backoff = FIRST_BACKOFF;
    }

    /// Runs `req` on the local fallback, with the prompt trimmed to its context.
    fn generate_locally(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Option<Result<GenerateOutput, ModelCallError>> {
        let local = self.local.as_mut()?;
        let budget = local
            .info()
            .context_length
            .saturating_sub(req.max_tokens + 8)
            .max(16);
        let mut req = req.clone();
        let mut suffix = req.suffix.take().unwrap_or_default();
        trim_to_budget(&mut req.prefix, &mut suffix, budget, &|text| {
            local.count_tokens(text)
        });
        req.suffix = Some(suffix);
        Some(local.generate(&req, cancel, on_token))
    }
}

impl CompletionModel for RemoteModel {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        if self.skip_until.is_some_and(|until| Instant::now() < until)
            && let Some(answer) = self.generate_locally(req, cancel, on_token)
        {
            return answer;
        }
        let deadline = req.time_budget.map(|budget| Instant::now() + budget);
        let mut output = GenerateOutput {
            completions: Vec::new(),
            timings: GenerateTimings::default(),
            prompt_tokens: self.count_tokens(&req.prefix)
                + self.count_tokens(req.suffix.as_deref().unwrap_or_default()),
            reused_prefix_tokens: 0,
            prefill_tokens: 0,
            decoded_tokens: 0,
        };
        let mut ignore = |_: &str| {};
        let mut reached_server = false;
        for index in 0..req.n.max(1) {
            let sink: &mut dyn FnMut(&str) = if index == 0 { on_token } else { &mut ignore };
            match self.exchange(req, index, cancel, deadline, sink) {
                Ok(answer) => {
                    reached_server |= answer.reached_server;
                    output.timings.prefill_ms += answer.timings.prefill_ms;
                    output.timings.decode_ms += answer.timings.decode_ms;
                    if let Some(tokens) = answer.prompt_tokens {
                        output.prompt_tokens = tokens;
                    }
                    let stop = matches!(
                        answer.completion.finish,
                        FinishReason::Cancelled | FinishReason::TimeBudget
                    );
                    output.completions.push(answer.completion);
                    if stop {
                        break;
                    }
                }
                Err(_) if cancel.is_cancelled() => {
                    // A stale request's failure is nobody's problem: no retry, no fallback.
                    output.completions.push(Completion {
                        text: String::new(),
                        tokens: Vec::new(),
                        finish: FinishReason::Cancelled,
                    });
                    return Ok(output);
                }
                Err(error) => {
                    tracing::warn!(%error, "remote generation failed");
                    self.mark_failure(&error);
                    if let Some(answer) = self.generate_locally(req, cancel, on_token) {
                        return answer;
                    }
                    if !output.completions.is_empty() {
                        return Ok(output); // the greedy answer came; an alternative failed
                    }
                    return Err(ModelCallError::Generation {
                        message: error.to_string(),
                    });
                }
            }
        }
        if reached_server {
            self.mark_success();
        }
        output.prefill_tokens = output.prompt_tokens;
        Ok(output)
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: self
                .spec
                .remote_model
                .clone()
                .unwrap_or_else(|| "remote model".to_string()),
            n_params: 0,
            device: format!("{} endpoint {}", self.spec.kind, self.endpoint),
            context_length: REMOTE_CONTEXT_TOKENS,
            fim: self.template.uses_suffix() || self.spec.kind == super::BackendKind::LlamaCpp,
        }
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.chars().count().div_ceil(CHARS_PER_TOKEN)
    }

    fn health(&self) -> Option<Degradation> {
        self.health.clone()
    }
}

fn cancelled_answer(started: Instant) -> Answer {
    Answer {
        completion: Completion {
            text: String::new(),
            tokens: Vec::new(),
            finish: FinishReason::Cancelled,
        },
        timings: GenerateTimings {
            prefill_ms: ms_since(started),
            ..GenerateTimings::default()
        },
        prompt_tokens: None,
        reached_server: false,
    }
}

fn redact_wire(error: WireError, redact: impl Fn(&str) -> String) -> WireError {
    match error {
        WireError::Malformed { detail, excerpt } => WireError::Malformed {
            detail,
            excerpt: redact(&excerpt),
        },
        WireError::Server { message } => WireError::Server {
            message: redact(&message),
        },
    }
}

/// Byte offset of the earliest stop string in `text` that ends after `from` (a stop string may
/// straddle two chunks).
fn first_stop(text: &str, stops: &[&str], from: usize) -> Option<usize> {
    stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| {
            let mut start = from.saturating_sub(stop.len() - 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            text[start..].find(stop).map(|at| start + at)
        })
        .min()
}

/// Drops whole lines from the far ends of prefix and suffix until both fit `budget` tokens.
fn trim_to_budget(
    prefix: &mut String,
    suffix: &mut String,
    budget: usize,
    count: &dyn Fn(&str) -> usize,
) {
    for _ in 0..64 {
        let (p, s) = (count(prefix), count(suffix));
        if p + s <= budget {
            return;
        }
        if s * 3 > p && !suffix.is_empty() {
            let keep = suffix.len() - suffix.len() / 4 - 1;
            let keep = (0..=keep).rev().find(|&i| suffix.is_char_boundary(i)).unwrap_or(0);
            let cut = suffix[..keep].rfind('\n').map_or(keep, |newline| newline + 1);
            suffix.truncate(cut);
        } else {
            let drop = prefix.len() / 4 + 1;
            let drop = (drop..=prefix.len()).find(|&i| prefix.is_char_boundary(i)).unwrap_or(prefix.len());
            let cut = prefix[drop..].find('\n').map_or(drop, |newline| drop + newline + 1);
            let cut = if cut >= prefix.len() { drop } else { cut };
            prefix.replace_range(..cut, "");
        }
    }
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_across_chunks() {
        assert_eq!(first_stop("abc\ndef", &["\n"], 2), Some(3));
        assert_eq!(first_stop("ab<file_sep>x", &["<file_sep>"], 5), Some(2));
        assert_eq!(first_stop("abc", &["\n"], 0), None);
        assert_eq!(first_stop("é<EOT>", &["<EOT>", "é"], 1), Some(0));
    }

    #[test]
    fn trimming_keeps_the_lines_next_to_the_cursor() {
        let mut prefix = (0..40).map(|i| format!("line {i}\n")).collect::<String>() + "x = ";
        let mut suffix = (0..10).map(|i| format!("after {i}\n")).collect::<String>();
        let count = |text: &str| text.len() / 4;
        trim_to_budget(&mut prefix, &mut suffix, 40, &count);
        assert!(count(&prefix) + count(&suffix) <= 40, "{prefix:?} {suffix:?}");
        assert!(prefix.ends_with("line 39\nx = ") && prefix.starts_with("line "), "{prefix:?}");
        assert!(suffix.is_empty() || suffix.starts_with("after 0\n"), "{suffix:?}");
    }

    #[test]
    fn a_bad_setting_fails_the_load_with_a_clear_message() {
        let spec = BackendSpec {
            kind: super::super::BackendKind::OpenAi,
            ..BackendSpec::default()
        };
        let error = RemoteModel::connect(&spec, None).err().unwrap().to_string();
        assert!(error.contains("needs an endpoint"), "{error}");
        let spec = BackendSpec {
            endpoint: Some("http://192.168.1.20:8000".to_string()),
            ..spec
        };
        let error = RemoteModel::connect(&spec, None).err().unwrap().to_string();
        assert!(error.contains("plain http"), "{error}");
        let spec = BackendSpec {
            endpoint: Some("http://127.0.0.1:9".to_string()),
            fim_template: Some("gpt".to_string()),
            ..spec
        };
        let error = RemoteModel::connect(&spec, None).err().unwrap().to_string();
        assert!(error.contains("fimTemplate"), "{error}");
    }

    #[test]
    fn a_down_endpoint_loads_degraded_and_fails_each_request_clearly() {
        // A port that was free a moment ago: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let spec = BackendSpec {
            kind: super::super::BackendKind::OpenAi,
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            ..BackendSpec::default()
        };
        let mut model = RemoteModel::connect(&spec, None).unwrap();
        let health = model.health().expect("a refused probe degrades the model");
        assert!(!health.fallback_active);
        assert!(health.message.contains("connection refused"), "{}", health.message);
        let req = GenerateRequest {
            prefix: "a".into(),
            suffix: None,
            max_tokens: 4,
            sampling: crate::model::Sampling::Greedy,
            n: 1,
            stop: Vec::new(),
            time_budget: None,
        };
        let error = model.generate(&req, &CancelFlag::new(), &mut |_| {}).unwrap_err();
        assert!(error.to_string().contains(&format!("127.0.0.1:{port} is unreachable")), "{error}");
        // Cancelled before it starts: no request, no error, no retry.
        let cancel = CancelFlag::new();
        cancel.cancel();
        let output = model.generate(&req, &cancel, &mut |_| {}).unwrap();
        assert_eq!(output.completions[0].finish, FinishReason::Cancelled);
    }
}
