//! The evaluation's completion source that runs the server's own pipeline
//! ([`crate::completion::complete_text`]: trigger → context → generate → post-process) on a task's
//! document, with the product's model loader.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;

use super::source::{CompletionSource, SourceOutput, language_id};
use super::task::Task;
use crate::completion::{CompletionConfig, Trigger, complete_text};
use crate::model::{CancelFlag, CompletionModel, DevicePreference, ModelSpec};

/// Settings a user can also change in the server's configuration (`maxLines`, `maxTokens`) plus the
/// time budget; `None` keeps the server's default.
#[derive(Clone, Debug, Default)]
pub struct PipelineSettings {
    /// No wall-clock cap per generation (reproducible scores on a busy machine).
    pub no_time_budget: bool,
    /// Most lines in a suggestion.
    pub max_lines: Option<usize>,
    /// Most new tokens per generation.
    pub max_tokens: Option<usize>,
}

/// Runs tasks through the server's completion pipeline with a real model.
pub struct PipelineSource {
    model: Box<dyn CompletionModel>,
    config: CompletionConfig,
}

impl PipelineSource {
    /// Loads the model the way the server does (embedded default unless `model_dir` is given).
    /// The pipeline runs with the server's default settings, except one greedy alternative per
    /// task and the overrides in `settings`.
    pub fn load(model_dir: Option<PathBuf>, device: &str, settings: &PipelineSettings) -> anyhow::Result<PipelineSource> {
        let device: DevicePreference = device.parse().map_err(|err| anyhow::anyhow!("--device: {err}"))?;
        let spec = ModelSpec {
            path: model_dir,
            device,
            ..ModelSpec::default()
        };
        let model = crate::model::engine::load(&spec).with_context(|| format!("loading {}", spec.describe()))?;
        let mut config = CompletionConfig { n_invoked: 1, ..CompletionConfig::default() };
        if settings.no_time_budget {
            config.time_budget_ms = None;
        }
        if let Some(max_lines) = settings.max_lines {
            config.max_lines = max_lines;
        }
        if let Some(max_tokens) = settings.max_tokens {
            config.max_tokens = max_tokens;
        }
        Ok(PipelineSource { model, config })
    }
}

impl CompletionSource for PipelineSource {
    fn model_name(&self) -> String {
        self.model.info().name
    }

    fn kind(&self) -> &'static str {
        "pipeline"
    }

    fn complete(&mut self, task: &Task) -> anyhow::Result<SourceOutput> {
        let document = format!("{}{}", task.prefix, task.suffix);
        let cursor = task.prefix.chars().count();
        let outcome = complete_text(
            self.model.as_mut(),
            &document,
            cursor,
            &language_id(task),
            Trigger::Invoked,
            &self.config,
            &CancelFlag::new(),
        )
        .with_context(|| format!("completing {}", task.task_id))?;
        let completion = match outcome.items.first() {
            Some(item) => inserted_between(&task.prefix, &task.suffix, &item.insert_text, item.replace.len()),
            None => String::new(),
        };
        let stages_ms = match serde_json::to_value(&outcome.timings)? {
            serde_json::Value::Object(map) => map.into_iter().filter_map(|(k, v)| Some((k, v.as_f64()?))).collect(),
            _ => BTreeMap::new(),
        };
        Ok(SourceOutput { completion, stages_ms })
    }
}

/// The text between `prefix` and `suffix` after inserting `insert_text` over the first
/// `replaced_chars` chars of the suffix (an item may swallow auto-closed brackets). When the result
/// no longer ends with the suffix, the inserted text itself is returned.
pub fn inserted_between(prefix: &str, suffix: &str, insert_text: &str, replaced_chars: usize) -> String {
    if replaced_chars == 0 {
        return insert_text.to_string();
    }
    let kept_suffix: String = suffix.chars().skip(replaced_chars).collect();
    let document = format!("{prefix}{insert_text}{kept_suffix}");
    match document.strip_suffix(suffix) {
        Some(rest) if rest.len() >= prefix.len() => rest[prefix.len()..].to_string(),
        _ => insert_text.to_string(),
    }
}
