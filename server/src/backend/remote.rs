//! `RemoteModel`: a [`CompletionModel`] whose generations run on an inference server.
//!
//! It lives on the model thread like the local engine. Each HTTP exchange runs on a short-lived
//! helper thread (`exchange.rs`) that streams pieces back over a channel, while the model thread
//! waits, polling the [`CancelFlag`] every few milliseconds: a cancelled request frees the model
//! thread at once, even while the server is still reading the prompt and has sent nothing, and
//! the helper stops at its next chunk (or before sending), dropping the stream, which closes the
//! connection, so the server stops generating an answer nobody reads. Only failures before any
//! answer byte are retried (refused, reset: the request cannot have started work), at most
//! [`MAX_RETRIES`] times, and never once the request is cancelled. When `fallbackToLocal` is set,
//! a failed endpoint is answered by the local engine and skipped for a growing back-off, and
//! [`CompletionModel::health`] tells the status line what is happening.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::BackendSpec;
use super::exchange::{Answer, Client, cancelled_answer};
pub use super::exchange::{MAX_RETRIES, RemoteError};
use super::fim::FimTemplate;
use super::http::Failure;
use crate::model::{
    CancelFlag, Completion, CompletionModel, Degradation, FinishReason, GenerateOutput,
    GenerateRequest, GenerateTimings, ModelCallError, ModelInfo,
};

/// Context length assumed for a remote model (prompt + completion, in estimated tokens).
pub const REMOTE_CONTEXT_TOKENS: usize = 4096;
/// Characters per token assumed when estimating prompt sizes for a remote model.
const CHARS_PER_TOKEN: usize = 3;
/// First back-off after a failure while the local fallback answers.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// Longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the waiting model thread looks at the cancel flag and the time budget.
const POLL: Duration = Duration::from_millis(5);

/// What the helper thread sends the model thread.
enum Message {
    /// A new piece of the first completion's text.
    Text(String),
    /// The exchange is over.
    Done(Result<Answer, RemoteError>),
}

/// The remote backend.
pub struct RemoteModel {
    client: Arc<Client>,
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
        let client = Client::new(spec)?;
        let mut model = RemoteModel {
            client: Arc::new(client),
            local,
            health: None,
            skip_until: None,
            backoff: FIRST_BACKOFF,
        };
        if let Err(error) = model.client.probe() {
            tracing::warn!(%error, "remote endpoint probe failed");
            model.mark_failure(&error);
        }
        tracing::info!(
            backend = %model.client.spec.describe(),
            template = %model.client.template.name,
            fallback = model.local.is_some(),
            "remote backend ready"
        );
        Ok(model)
    }

    /// The template in use.
    pub fn template(&self) -> &FimTemplate {
        &self.client.template
    }

    /// Runs one exchange on a helper thread; returns as soon as it is done, cancelled, or out of
    /// time budget (then with the text received so far).
    fn exchange(
        &self,
        req: &GenerateRequest,
        index: usize,
        cancel: &CancelFlag,
        deadline: Option<Instant>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Answer, RemoteError> {
        let started = Instant::now();
        let (sender, messages) = mpsc::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        {
            let client = self.client.clone();
            let req = req.clone();
            let cancel = cancel.clone();
            let abandoned = abandoned.clone();
            let spawned = std::thread::Builder::new()
                .name("ghostline-remote".to_string())
                .spawn(move || {
                    let stop = || cancel.is_cancelled() || abandoned.load(Ordering::SeqCst);
                    let pieces = sender.clone();
                    let result = client.exchange(&req, index, &stop, deadline, &mut |piece| {
                        let _ = pieces.send(Message::Text(piece.to_string()));
                    });
                    let _ = sender.send(Message::Done(result));
                });
            if let Err(error) = spawned {
                return Err(self.client.network(Failure::Other {
                    detail: format!("could not start a request thread: {error}"),
                }));
            }
        }
        let mut text = String::new();
        let abandon = |finish: FinishReason, text: String| {
            // The helper sees this before its next chunk and drops the connection.
            abandoned.store(true, Ordering::SeqCst);
            let mut answer = cancelled_answer(started);
            answer.completion.finish = finish;
            answer.completion.text = text;
            answer.reached_server = finish != FinishReason::Cancelled;
            answer
        };
        loop {
            if cancel.is_cancelled() {
                return Ok(abandon(FinishReason::Cancelled, String::new()));
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                if text.is_empty() {
                    // Nothing at all within the budget: the endpoint is not usable right now
                    // (hung, or far too slow), which the status should say.
                    abandoned.store(true, Ordering::SeqCst);
                    return Err(self.client.network(Failure::Timeout { phase: "budget" }));
                }
                return Ok(abandon(FinishReason::TimeBudget, text));
            }
            match messages.recv_timeout(POLL) {
                Ok(Message::Text(piece)) => {
                    if cancel.is_cancelled() {
                        continue; // no piece is delivered after the cancel
                    }
                    text.push_str(&piece);
                    on_token(&piece);
                }
                Ok(Message::Done(result)) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.client.network(Failure::Other {
                        detail: "the request thread ended without an answer".to_string(),
                    }));
                }
            }
        }
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
            tracing::info!(endpoint = %self.client.endpoint, "remote endpoint answers again");
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
                .client
                .spec
                .remote_model
                .clone()
                .unwrap_or_else(|| "remote model".to_string()),
            n_params: 0,
            device: format!(
                "{} endpoint {}",
                self.client.spec.kind, self.client.endpoint
            ),
            context_length: REMOTE_CONTEXT_TOKENS,
            fim: self.client.template.uses_suffix()
                || self.client.spec.kind == super::BackendKind::LlamaCpp,
        }
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.chars().count().div_ceil(CHARS_PER_TOKEN)
    }

    fn health(&self) -> Option<Degradation> {
        self.health.clone()
    }
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
            let keep = (0..=keep)
                .rev()
                .find(|&i| suffix.is_char_boundary(i))
                .unwrap_or(0);
            let cut = suffix[..keep]
                .rfind('\n')
                .map_or(keep, |newline| newline + 1);
            suffix.truncate(cut);
        } else {
            let drop = prefix.len() / 4 + 1;
            let drop = (drop..=prefix.len())
                .find(|&i| prefix.is_char_boundary(i))
                .unwrap_or(prefix.len());
            let cut = prefix[drop..]
                .find('\n')
                .map_or(drop, |newline| drop + newline + 1);
            let cut = if cut >= prefix.len() { drop } else { cut };
            prefix.replace_range(..cut, "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_the_lines_next_to_the_cursor() {
        let mut prefix = (0..40).map(|i| format!("line {i}\n")).collect::<String>() + "x = ";
        let mut suffix = (0..10).map(|i| format!("after {i}\n")).collect::<String>();
        let count = |text: &str| text.len() / 4;
        trim_to_budget(&mut prefix, &mut suffix, 40, &count);
        assert!(
            count(&prefix) + count(&suffix) <= 40,
            "{prefix:?} {suffix:?}"
        );
        assert!(
            prefix.ends_with("line 39\nx = ") && prefix.starts_with("line "),
            "{prefix:?}"
        );
        assert!(
            suffix.is_empty() || suffix.starts_with("after 0\n"),
            "{suffix:?}"
        );
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
        assert!(
            health.message.contains("connection refused"),
            "{}",
            health.message
        );
        let req = GenerateRequest {
            prefix: "a".into(),
            suffix: None,
            max_tokens: 4,
            sampling: crate::model::Sampling::Greedy,
            n: 1,
            stop: Vec::new(),
            max_lines: None,
            time_budget: None,
        };
        let error = model
            .generate(&req, &CancelFlag::new(), &mut |_| {})
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("127.0.0.1:{port} is unreachable")),
            "{error}"
        );
        // Cancelled before it starts: no request, no error, no retry.
        let cancel = CancelFlag::new();
        cancel.cancel();
        let output = model.generate(&req, &cancel, &mut |_| {}).unwrap();
        assert_eq!(output.completions[0].finish, FinishReason::Cancelled);
    }
}
