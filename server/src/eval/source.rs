//! Where the evaluated completions come from: the server's own completion pipeline (the product
//! path: context → generate → post-process), or the task's reference (`--oracle`, which checks the
//! task file and the test runners rather than a model).

use std::collections::BTreeMap;

use super::task::Task;

/// One completion produced for a task, with the pipeline's stage timings when it reports them.
#[derive(Clone, Debug, Default)]
pub struct SourceOutput {
    /// The text inserted at the cursor (between prefix and suffix).
    pub completion: String,
    /// Stage name → milliseconds (e.g. `context_ms`, `prefill_ms`).
    pub stages_ms: BTreeMap<String, f64>,
}

/// Something that completes evaluation tasks, one at a time, on the calling thread.
pub trait CompletionSource {
    /// Name for the report: the model's name or `oracle`.
    fn model_name(&self) -> String;
    /// `pipeline` or `oracle`.
    fn kind(&self) -> &'static str;
    /// Completes one task.
    fn complete(&mut self, task: &Task) -> anyhow::Result<SourceOutput>;
}

/// Answers every task with its reference `middle` (empty when the task has none).
pub struct OracleSource;

impl CompletionSource for OracleSource {
    fn model_name(&self) -> String {
        "oracle".to_string()
    }

    fn kind(&self) -> &'static str {
        "oracle"
    }

    fn complete(&mut self, task: &Task) -> anyhow::Result<SourceOutput> {
        Ok(SourceOutput { completion: task.middle.clone().unwrap_or_default(), stages_ms: BTreeMap::new() })
    }
}

/// Language id (LSP `languageId`) for a task language name or file extension.
pub fn language_id(task: &Task) -> String {
    let from_path = task
        .path
        .as_deref()
        .and_then(|path| path.rsplit_once('.'))
        .and_then(|(_, extension)| match extension {
            "rs" => Some("rust"),
            "py" => Some("python"),
            "js" | "mjs" | "cjs" => Some("javascript"),
            "ts" => Some("typescript"),
            "tsx" => Some("typescriptreact"),
            "go" => Some("go"),
            "c" | "h" => Some("c"),
            "cc" | "cpp" | "hpp" => Some("cpp"),
            _ => None,
        });
    from_path.map_or_else(|| task.language.to_ascii_lowercase(), str::to_string)
}
