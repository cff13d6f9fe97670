//! Server settings from `initializationOptions` and `workspace/didChangeConfiguration`.
//!
//! A bad value never stops the server: it is reported as a warning naming the key, and the
//! previous value (the default at start) is kept.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::completion::CompletionConfig;
use crate::feedback::FeedbackSettings;
use crate::model::{DevicePreference, ModelSpec};

/// Every setting the server reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Whether suggestions are produced at all.
    pub enable: bool,
    /// Server-side debounce before a model call.
    pub debounce_ms: u64,
    /// A warning is logged when a request takes longer than this (after debounce).
    pub latency_budget_ms: u64,
    /// The pipeline's settings.
    pub completion: CompletionConfig,
    /// Which model to run, and where.
    pub model: ModelSpec,
    /// Send a `ghostline/timings` notification after each inline completion request.
    pub timings_notifications: bool,
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace` or a full filter).
    pub log_level: Option<String>,
    /// The feedback store (`feedback`, `feedbackPath`, `feedbackRawPaths`, `feedbackMaxMb`).
    pub feedback: FeedbackSettings,
    /// Adapt to the workspace and to accept/reject feedback (`adapt`; see `crate::adapt`).
    pub adapt: bool,
    /// Put the workspace's tuned weights (`ghostline tune`) onto the model when the file exists
    /// (`tunedWeights`; see `crate::adapt::tuned`).
    pub tuned_weights: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enable: true,
            debounce_ms: 75,
            latency_budget_ms: 1500,
            completion: CompletionConfig::default(),
            model: ModelSpec::default(),
            timings_notifications: false,
            log_level: None,
            feedback: FeedbackSettings::default(),
            adapt: true,
            tuned_weights: true,
        }
    }
}

/// The keys [`ServerConfig::apply_json`] understands, for the "unknown key" warning.
const KNOWN_KEYS: &[&str] = &[
    "enable",
    "debounce_ms",
    "latency_budget_ms",
    "max_lines",
    "max_tokens",
    "n_invoked",
    "n_automatic",
    "prefix_chars",
    "suffix_chars",
    "prefix_percent",
    "suffix_percent",
    "device",
    "model_path",
    "decode_weights",
    "timings",
    "log_level",
    "languages",
    "feedback",
    "feedback_path",
    "feedback_raw_paths",
    "feedback_max_mb",
    "adapt",
    "tuned_weights",
];

impl ServerConfig {
    /// Applies the settings in `value` (an object, optionally nested under `"ghostline"`) and
    /// returns one warning per rejected key. Keys that are absent keep their current value.
    ///
    /// Keys may be snake_case (`debounce_ms`) or camelCase (`debounceMs`).
    pub fn apply_json(&mut self, value: &Value) -> Vec<String> {
        let mut warnings = Vec::new();
        let object = match value {
            Value::Null => return warnings,
            Value::Object(object) => match object.get("ghostline") {
                Some(Value::Object(nested)) => nested,
                Some(Value::Null) => return warnings,
                Some(other) => {
                    warnings.push(format!(
                        "ghostline settings: expected an object under \"ghostline\", got {other}; keeping the current settings"
                    ));
                    return warnings;
                }
                None => object,
            },
            other => {
                warnings.push(format!(
                    "ghostline settings: expected an object, got {other}; keeping the current settings"
                ));
                return warnings;
            }
        };
        let normalized = object
            .iter()
            .map(|(key, value)| (snake_case(key), value.clone()))
            .collect::<Map<String, Value>>();
        let object = &normalized;
        let mut reader = Reader {
            object,
            warnings: &mut warnings,
        };
        if let Some(enable) = reader.bool("enable") {
            self.enable = enable;
        }
        if let Some(adapt) = reader.bool("adapt") {
            self.adapt = adapt;
        }
        if let Some(tuned) = reader.bool("tuned_weights") {
            self.tuned_weights = tuned;
        }
        if let Some(ms) = reader.integer("debounce_ms", 0, 10_000) {
            self.debounce_ms = ms;
        }
        if let Some(ms) = reader.integer("latency_budget_ms", 1, 600_000) {
            self.latency_budget_ms = ms;
        }
        let completion = &mut self.completion;
        if let Some(lines) = reader.integer("max_lines", 1, 200) {
            completion.max_lines = lines as usize;
        }
        if let Some(tokens) = reader.integer("max_tokens", 1, 2048) {
            completion.max_tokens = tokens as usize;
        }
        if let Some(n) = reader.integer("n_invoked", 1, 10) {
            completion.n_invoked = n as usize;
        }
        if let Some(n) = reader.integer("n_automatic", 1, 10) {
            completion.n_automatic = n as usize;
        }
        if let Some(chars) = reader.integer("prefix_chars", 16, 1_000_000) {
            completion.prefix_chars = chars as usize;
        }
        if let Some(chars) = reader.integer("suffix_chars", 0, 1_000_000) {
            completion.suffix_chars = chars as usize;
        }
        // The prompt's token split (issue 6): prefix and suffix percent, the rest extra context.
        if let Some(percent) = reader.integer("prefix_percent", 1, 100) {
            completion.prefix_percent = percent as usize;
        }
        if let Some(percent) = reader.integer("suffix_percent", 0, 99) {
            completion.suffix_percent = percent as usize;
        }
        if let Some(device) = reader.string("device") {
            match device.parse::<DevicePreference>() {
                Ok(device) => self.model.device = device,
                Err(_) => reader.warn(format!(
                    "ghostline settings: \"device\" must be \"auto\", \"cpu\" or \"gpu\", got {device:?}; keeping {:?}",
                    self.model.device
                )),
            }
        }
        if let Some(weights) = reader.string("decode_weights") {
            match weights.parse() {
                Ok(weights) => self.model.decode_weights = weights,
                Err(err) => reader.warn(format!(
                    "ghostline settings: \"decode_weights\": {err}; keeping {:?}",
                    self.model.decode_weights
                )),
            }
        }
        if let Some(timings) = reader.bool("timings") {
            self.timings_notifications = timings;
        }
        if let Some(level) = reader.string("log_level") {
            self.log_level = Some(level);
        }
        match object.get("model_path") {
            None => {}
            Some(Value::Null) => self.model.path = None,
            Some(Value::String(path)) if path.is_empty() => self.model.path = None,
            Some(Value::String(path)) => self.model.path = Some(PathBuf::from(path)),
            Some(other) => reader.warn(format!(
                "ghostline settings: \"model_path\" must be a string (a model directory or .gguf file) or null, got {other}; keeping the current model"
            )),
        }
        if let Some(feedback) = reader.bool("feedback") {
            self.feedback.enabled = feedback;
        }
        if let Some(raw_paths) = reader.bool("feedback_raw_paths") {
            self.feedback.raw_paths = raw_paths;
        }
        if let Some(max_mb) = reader.integer("feedback_max_mb", 1, 1_000_000) {
            self.feedback.max_mb = max_mb;
        }
        match object.get("feedback_path") {
            None => {}
            Some(Value::Null) => self.feedback.path = None,
            Some(Value::String(path)) if path.is_empty() => self.feedback.path = None,
            Some(Value::String(path)) if PathBuf::from(path).is_absolute() => {
                self.feedback.path = Some(PathBuf::from(path))
            }
            Some(other) => reader.warn(format!(
                "ghostline settings: \"feedbackPath\" must be an absolute path to the feedback database or null (the default in the data directory), got {other}; keeping the current one"
            )),
        }
        // The remote-backend keys (`backend`, `endpoint`, `apiKeyEnv`, ...) live with the backend.
        warnings.extend(crate::backend::settings::apply(
            &mut self.model.backend,
            object,
        ));
        let backend_keys = crate::backend::settings::KEYS;
        for key in object.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) && !backend_keys.contains(&key.as_str()) {
                warnings.push(format!(
                    "ghostline settings: unknown key {key:?} ignored (known keys: {})",
                    [KNOWN_KEYS, backend_keys].concat().join(", ")
                ));
            }
        }
        warnings
    }
}

/// `debounceMs` → `debounce_ms`; snake_case keys pass through.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for ch in key.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

struct Reader<'a> {
    object: &'a Map<String, Value>,
    warnings: &'a mut Vec<String>,
}

impl Reader<'_> {
    fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        match self.object.get(key)? {
            Value::Bool(value) => Some(*value),
            other => {
                self.warn(format!(
                    "ghostline settings: {key:?} must be true or false, got {other}; keeping the current value"
                ));
                None
            }
        }
    }

    fn integer(&mut self, key: &str, min: u64, max: u64) -> Option<u64> {
        let value = self.object.get(key)?;
        match value.as_u64() {
            Some(number) if (min..=max).contains(&number) => Some(number),
            _ => {
                self.warn(format!(
                    "ghostline settings: {key:?} must be an integer from {min} to {max}, got {value}; keeping the current value"
                ));
                None
            }
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.object.get(key)? {
            Value::String(value) => Some(value.clone()),
            other => {
                self.warn(format!(
                    "ghostline settings: {key:?} must be a string, got {other}; keeping the current value"
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DecodeWeights;
    use serde_json::json;

    #[test]
    fn good_settings_apply_and_bad_ones_warn_and_keep_defaults() {
        let mut config = ServerConfig::default();
        let warnings = config.apply_json(&json!({
            "debounce_ms": 10, "max_lines": 3, "device": "cpu", "model_path": "/m",
            "n_invoked": "three", "max_tokens": -4, "enable": "yes", "colour": 1
        }));
        assert_eq!(config.debounce_ms, 10);
        assert_eq!(config.completion.max_lines, 3);
        assert_eq!(config.model.device, DevicePreference::Cpu);
        assert_eq!(config.model.path, Some(PathBuf::from("/m")));
        let defaults = ServerConfig::default();
        assert_eq!(config.completion.n_invoked, defaults.completion.n_invoked);
        assert_eq!(config.completion.max_tokens, defaults.completion.max_tokens);
        assert!(config.enable);
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("\"n_invoked\"")));
        assert!(warnings.iter().any(|w| w.contains("\"colour\"")));
    }

    #[test]
    fn decode_weights_are_q8_by_default_and_f32_on_request() {
        let mut config = ServerConfig::default();
        assert_eq!(config.model.decode_weights, DecodeWeights::Q8);
        assert!(config.apply_json(&json!({"decodeWeights": "f32"})).is_empty());
        assert_eq!(config.model.decode_weights, DecodeWeights::F32);
        let warnings = config.apply_json(&json!({"decodeWeights": "q4"}));
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(warnings[0].contains("decode_weights"), "{warnings:#?}");
        assert_eq!(config.model.decode_weights, DecodeWeights::F32);
    }

    #[test]
    fn nested_under_ghostline_and_non_objects() {
        let mut config = ServerConfig::default();
        assert!(
            config
                .apply_json(&json!({"ghostline": {"enable": false, "debounceMs": 5}}))
                .is_empty()
        );
        assert!(!config.enable);
        assert_eq!(config.debounce_ms, 5);
        assert!(
            config
                .apply_json(&json!({"feedback": false, "feedbackPath": "/x/f.sqlite3", "feedbackRawPaths": true, "feedbackMaxMb": 5}))
                .is_empty()
        );
        assert_eq!(
            config.feedback,
            FeedbackSettings {
                enabled: false,
                path: Some(PathBuf::from("/x/f.sqlite3")),
                raw_paths: true,
                max_mb: 5
            }
        );
        let warnings = config.apply_json(&json!({"feedbackPath": "relative.sqlite3"}));
        assert!(warnings[0].contains("absolute path"), "{warnings:?}");
        let warnings = config.apply_json(&json!([1, 2]));
        assert_eq!(warnings.len(), 1);
        assert!(config.apply_json(&Value::Null).is_empty());
    }

    #[test]
    fn backend_settings_in_camel_case_change_the_model_spec() {
        let mut config = ServerConfig::default();
        let warnings = config.apply_json(&json!({"ghostline": {
            "backend": "ollama", "endpoint": "http://localhost:11434",
            "remoteModel": "codellama:7b-code", "apiKeyEnv": "TEAM_KEY", "fallbackToLocal": true
        }}));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_ne!(config.model, ServerConfig::default().model);
        assert_eq!(
            config.model.backend.api_key_env.as_deref(),
            Some("TEAM_KEY")
        );
        assert!(config.model.backend.fallback_to_local);
        assert_eq!(
            config.model.backend.kind,
            crate::backend::BackendKind::Ollama
        );
    }
}
