//! Evaluation tasks and per-task results: the JSONL formats of `ghostline eval`.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One infilling task: the model sees `prefix` and `suffix` and should write `middle`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Task {
    /// Unique id, e.g. `rust/single-line/001`.
    pub task_id: String,
    /// Language name: `rust`, `python`, `javascript`, `typescript`, `go`, `c`, ...
    pub language: String,
    /// Text before the cursor.
    pub prefix: String,
    /// Text after the cursor.
    pub suffix: String,
    /// The reference completion, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    /// Code appended after `prefix + completion + suffix + "\n"` to check it (Python and Rust).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Task family (`single-line`, `multi-line`, `random-span`, `body`), if the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Path of the document inside its project, used to pick the language and for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What `ghostline eval` writes for one task (one JSONL line of `--out`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct TaskResult {
    /// The task's id.
    pub task_id: String,
    /// The task's language.
    pub language: String,
    /// The task's kind, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The text inserted between prefix and suffix.
    pub completion: String,
    /// Whole completion equals the reference (trailing whitespace ignored); `None` without a reference.
    pub exact_match: Option<bool>,
    /// First line equals the reference's first line (trailing whitespace ignored).
    pub first_line_exact_match: Option<bool>,
    /// 1 - Levenshtein distance / longer length, in characters.
    pub edit_similarity: Option<f64>,
    /// Whether the test passed, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// The test was killed at the timeout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Last lines of the test's output when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_log: Option<String>,
    /// Wall time of the completion pipeline for this task.
    pub latency_ms: f64,
    /// An error from the pipeline or the test runner, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which tasks of a file to run.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    /// Only tasks of this language (case-insensitive).
    pub language: Option<String>,
    /// Only tasks of this kind.
    pub kind: Option<String>,
    /// At most this many tasks per file (after the other filters), in file order.
    pub limit: Option<usize>,
}

impl TaskFilter {
    fn accepts(&self, task: &Task) -> bool {
        let language_ok = self
            .language
            .as_deref()
            .is_none_or(|language| task.language.eq_ignore_ascii_case(language));
        let kind_ok = self
            .kind
            .as_deref()
            .is_none_or(|kind| task.kind.as_deref() == Some(kind));
        language_ok && kind_ok
    }
}

/// Reads a JSONL task file, skipping blank lines; errors name the file and line.
pub fn load_tasks(path: &Path, filter: &TaskFilter) -> anyhow::Result<Vec<Task>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open task file {}", path.display()))?;
    let mut tasks = Vec::new();
    for (line_idx, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let task: Task = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a task object", path.display(), line_idx + 1))?;
        if filter.accepts(&task) {
            tasks.push(task);
            if filter.limit.is_some_and(|limit| tasks.len() >= limit) {
                break;
            }
        }
    }
    Ok(tasks)
}
