//! The backend's settings keys (read by `config.rs` after its snake_case normalisation).
//!
//! `backend`, `endpoint`, `remoteModel`, `apiKeyEnv`, `fimTemplate`, `connectTimeoutMs`,
//! `totalTimeoutMs`, `fallbackToLocal`, `allowInsecureHttp`, `remoteStream`. A bad value is a
//! warning naming the key, and the previous value stays (like every other setting).

use std::time::Duration;

use serde_json::{Map, Value};

use super::fim::FimTemplate;
use super::{BackendKind, BackendSpec};

/// The keys this module reads (snake_case).
pub const KEYS: &[&str] = &[
    "backend",
    "endpoint",
    "remote_model",
    "api_key_env",
    "fim_template",
    "connect_timeout_ms",
    "total_timeout_ms",
    "fallback_to_local",
    "allow_insecure_http",
    "remote_stream",
];

/// Applies the backend keys of `object` (snake_case keys) to `spec`, returning warnings.
pub fn apply(spec: &mut BackendSpec, object: &Map<String, Value>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut warn = |key: &str, expected: &str, got: &Value| {
        warnings.push(format!(
            "ghostline settings: {key:?} must be {expected}, got {got}; keeping the current value"
        ));
    };
    if let Some(value) = object.get("backend") {
        match value.as_str().map(str::parse::<BackendKind>) {
            Some(Ok(kind)) => spec.kind = kind,
            Some(Err(error)) => warnings.push(format!(
                "ghostline settings: \"backend\": {error}; keeping {}",
                spec.kind
            )),
            None if value.is_null() => spec.kind = BackendKind::Local,
            None => warn("backend", "a string", value),
        }
    }
    for (key, slot) in [
        ("endpoint", &mut spec.endpoint),
        ("remote_model", &mut spec.remote_model),
        ("api_key_env", &mut spec.api_key_env),
        ("fim_template", &mut spec.fim_template),
    ] {
        match object.get(key) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(Value::String(text)) if text.trim().is_empty() => *slot = None,
            Some(Value::String(text)) => *slot = Some(text.trim().to_string()),
            Some(other) => warnings.push(format!(
                "ghostline settings: {key:?} must be a string or null, got {other}; keeping the current value"
            )),
        }
    }
    if let Some(name) = spec.api_key_env.clone()
        && !is_env_var_name(&name)
    {
        // Someone pasted the key itself: never keep it, never echo it.
        spec.api_key_env = None;
        warnings.push(
            "ghostline settings: \"apiKeyEnv\" must be the NAME of an environment variable (letters, digits, _), not the key itself; it was ignored".to_string(),
        );
    }
    if let Some(template) = spec.fim_template.clone()
        && let Err(error) = FimTemplate::resolve(Some(&template), None)
    {
        spec.fim_template = None;
        warnings.push(format!("ghostline settings: {error}; using the default"));
    }
    for (key, slot, min, max) in [
        ("connect_timeout_ms", &mut spec.connect_timeout, 50, 60_000),
        ("total_timeout_ms", &mut spec.total_timeout, 100, 600_000),
    ] {
        if let Some(value) = object.get(key) {
            match value.as_u64() {
                Some(ms) if (min..=max).contains(&ms) => *slot = Duration::from_millis(ms),
                _ => warnings.push(format!(
                    "ghostline settings: {key:?} must be an integer from {min} to {max}, got {value}; keeping the current value"
                )),
            }
        }
    }
    for (key, slot) in [
        ("fallback_to_local", &mut spec.fallback_to_local),
        ("allow_insecure_http", &mut spec.allow_insecure_http),
        ("remote_stream", &mut spec.stream),
    ] {
        match object.get(key) {
            None => {}
            Some(Value::Bool(value)) => *slot = *value,
            Some(other) => warnings.push(format!(
                "ghostline settings: {key:?} must be true or false, got {other}; keeping the current value"
            )),
        }
    }
    warnings
}

/// `GHOSTLINE_KEY`-like: what a shell accepts as a variable name.
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn settings_apply_and_bad_values_warn() {
        let mut spec = BackendSpec::default();
        let warnings = apply(
            &mut spec,
            &object(json!({
                "backend": "openai", "endpoint": " http://127.0.0.1:8080 ", "remote_model": "m",
                "api_key_env": "TEAM_LLM_KEY", "fim_template": "starcoder2",
                "connect_timeout_ms": 500, "total_timeout_ms": 5000, "fallback_to_local": true,
                "remote_stream": false
            })),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(spec.kind, BackendKind::OpenAi);
        assert_eq!(spec.endpoint.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(spec.api_key_env.as_deref(), Some("TEAM_LLM_KEY"));
        assert_eq!(spec.connect_timeout, Duration::from_millis(500));
        assert!(spec.fallback_to_local && !spec.stream);

        let warnings = apply(
            &mut spec,
            &object(json!({
                "backend": "gpt", "api_key_env": "sk-live-1234567890", "fim_template": "nope",
                "connect_timeout_ms": 0, "fallback_to_local": "yes", "endpoint": 3
            })),
        );
        assert_eq!(warnings.len(), 6, "{warnings:#?}");
        assert!(
            warnings.iter().all(|w| !w.contains("sk-live")),
            "{warnings:#?}"
        );
        assert_eq!(spec.kind, BackendKind::OpenAi);
        assert_eq!(spec.api_key_env, None);
        assert_eq!(spec.fim_template, None);
        assert_eq!(spec.endpoint.as_deref(), Some("http://127.0.0.1:8080"));

        apply(&mut spec, &object(json!({"backend": null, "endpoint": ""})));
        assert_eq!(spec.kind, BackendKind::Local);
        assert_eq!(spec.endpoint, None);
    }
}
