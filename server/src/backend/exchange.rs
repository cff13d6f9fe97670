//! One HTTP exchange with an inference server: send (with bounded retries), read the streamed
//! or whole answer, classify failures. Runs on a helper thread per request (see `remote.rs`), so
//! everything here is owned and `Send`.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use super::BackendSpec;
use super::fim::{FimError, FimTemplate};
use super::http::{ApiKey, Endpoint, EndpointError, Failure, agent};
use super::stream::EventDecoder;
use super::wire::{self, WireError, WireRequest, excerpt};
use crate::model::{Completion, FinishReason, GenerateRequest, GenerateTimings};

/// Retries of a request that failed before any answer byte.
pub const MAX_RETRIES: usize = 2;
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
pub struct Answer {
    /// The completion.
    pub completion: Completion,
    /// The server answered (false when stopped before sending).
    pub reached_server: bool,
    /// Time to the first text (prefill) and the rest (decode).
    pub timings: GenerateTimings,
    /// Prompt tokens, when the server said.
    pub prompt_tokens: Option<usize>,
}

/// What an exchange needs: checked settings, the client, the key, the template.
pub struct Client {
    /// The settings.
    pub spec: BackendSpec,
    /// The checked endpoint.
    pub endpoint: Endpoint,
    agent: ureq::Agent,
    key: Option<ApiKey>,
    /// The FIM template.
    pub template: FimTemplate,
    /// Held for the duration of an exchange.
    in_flight: std::sync::Mutex<()>,
}

impl Client {
    /// Checks the settings and reads the key (no request yet).
    pub fn new(spec: &BackendSpec) -> Result<Client, RemoteError> {
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
        Ok(Client {
            spec: spec.clone(),
            endpoint,
            agent: agent(spec),
            key,
            template,
            in_flight: std::sync::Mutex::new(()),
        })
    }

    /// Asks the server something cheap: any HTTP answer but 401/403 means it is there.
    pub fn probe(&self) -> Result<(), RemoteError> {
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

    pub fn network(&self, failure: Failure) -> RemoteError {
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
            _ => {
                "the server wants an API key: name the environment variable holding it in apiKeyEnv"
                    .to_string()
            }
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
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<ureq::http::Response<ureq::Body>>, RemoteError> {
        let body = serde_json::to_vec(&request.body).expect("a JSON value serializes");
        let url = self.endpoint.url(request.path);
        let mut attempt = 0;
        loop {
            if stop() {
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
                    if failure.is_retryable() && attempt < MAX_RETRIES && !stop() {
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

    /// One completion: one HTTP exchange, streamed or not. `stop` (cancelled, or abandoned by
    /// the model thread) is checked before sending and between chunks.
    pub fn exchange(
        &self,
        req: &GenerateRequest,
        index: usize,
        stop: &dyn Fn() -> bool,
        deadline: Option<Instant>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer, RemoteError> {
        let started = Instant::now();
        // One exchange at a time per backend: a superseded exchange still holds the slot until
        // its stream yields its first chunk (servers rarely abort a prompt mid-prefill), and the
        // requests cancelled while they wait here are never sent, so typing does not pile
        // prompts up on the server.
        let _slot = loop {
            if stop() {
                return Ok(cancelled_answer(started));
            }
            match self.in_flight.try_lock() {
                Ok(slot) => break slot,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    std::thread::sleep(Duration::from_millis(2))
                }
            }
        };
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
        let Some(response) = self.send(&request, stop)? else {
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
                if stop() {
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
            if stop() {
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
}

pub fn cancelled_answer(started: Instant) -> Answer {
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
}
