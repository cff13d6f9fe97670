//! Quality metrics (exact match, edit similarity, pass@1) and their aggregation into a summary.

use std::collections::BTreeMap;

use serde::Serialize;

use super::task::TaskResult;

/// Whole-completion exact match; trailing whitespace (including newlines) is ignored on both sides.
pub fn exact_match(completion: &str, reference: &str) -> bool {
    completion.trim_end() == reference.trim_end()
}

/// Exact match of the first line only (what a single-line ghost text shows), trailing blanks ignored.
pub fn first_line_exact_match(completion: &str, reference: &str) -> bool {
    first_line(completion).trim_end() == first_line(reference).trim_end()
}

fn first_line(text: &str) -> &str {
    text.split('\n').next().unwrap_or("")
}

/// `1 - levenshtein(a, b) / max(len a, len b)` over characters, after trimming trailing whitespace;
/// 1.0 when both are empty.
pub fn edit_similarity(completion: &str, reference: &str) -> f64 {
    let a: Vec<char> = completion.trim_end().chars().collect();
    let b: Vec<char> = reference.trim_end().chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longest as f64
}

/// Levenshtein distance (insert, delete, substitute each cost 1), two-row dynamic programme.
pub fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, item_a) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, item_b) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(item_a != item_b);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Aggregate figures for a group of results (all tasks, one language or one kind).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct GroupSummary {
    /// Number of tasks.
    pub tasks: usize,
    /// Tasks that had a reference (`middle`).
    pub with_reference: usize,
    /// Fraction of referenced tasks with a whole exact match.
    pub exact_match: Option<f64>,
    /// Fraction of referenced tasks whose first line matches.
    pub first_line_exact_match: Option<f64>,
    /// Mean edit similarity over referenced tasks.
    pub edit_similarity: Option<f64>,
    /// Tasks whose test ran.
    pub tested: usize,
    /// Tasks whose test passed.
    pub passed: usize,
    /// `passed / tested` (pass@1 with one greedy sample per task).
    pub pass_at_1: Option<f64>,
    /// Tests killed at the timeout.
    pub timed_out: usize,
    /// Tasks where the pipeline or runner reported an error.
    pub errors: usize,
    /// Median pipeline latency.
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile pipeline latency.
    pub latency_p95_ms: Option<f64>,
}

impl GroupSummary {
    /// Summarises `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TaskResult>) -> Self {
        let results: Vec<&TaskResult> = results.into_iter().collect();
        let referenced: Vec<&&TaskResult> = results.iter().filter(|r| r.exact_match.is_some()).collect();
        let fraction = |count: usize, total: usize| (total > 0).then(|| count as f64 / total as f64);
        let tested: Vec<&&TaskResult> = results.iter().filter(|r| r.passed.is_some()).collect();
        let passed = tested.iter().filter(|r| r.passed == Some(true)).count();
        let mut latencies: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        GroupSummary {
            tasks: results.len(),
            with_reference: referenced.len(),
            exact_match: fraction(
                referenced.iter().filter(|r| r.exact_match == Some(true)).count(),
                referenced.len(),
            ),
            first_line_exact_match: fraction(
                referenced.iter().filter(|r| r.first_line_exact_match == Some(true)).count(),
                referenced.len(),
            ),
            edit_similarity: (!referenced.is_empty()).then(|| {
                referenced.iter().filter_map(|r| r.edit_similarity).sum::<f64>() / referenced.len() as f64
            }),
            tested: tested.len(),
            passed,
            pass_at_1: fraction(passed, tested.len()),
            timed_out: results.iter().filter(|r| r.timed_out).count(),
            errors: results.iter().filter(|r| r.error.is_some()).count(),
            latency_p50_ms: percentile(&latencies, 50.0),
            latency_p95_ms: percentile(&latencies, 95.0),
        }
    }
}

/// Nearest-rank percentile of already sorted values; `None` when empty.
pub fn percentile(sorted: &[f64], pct: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The whole run: overall figures plus breakdowns by language and by kind.
#[derive(Clone, Debug, Serialize)]
pub struct EvalSummary {
    /// Where completions came from: `pipeline` or `oracle`.
    pub completions_from: String,
    /// Model name (`oracle` when the reference was used).
    pub model: String,
    /// Task files read.
    pub task_files: Vec<String>,
    /// All tasks together.
    pub overall: GroupSummary,
    /// Per language.
    pub by_language: BTreeMap<String, GroupSummary>,
    /// Per task kind (tasks without a kind are under `-`).
    pub by_kind: BTreeMap<String, GroupSummary>,
    /// Wall time of the whole run.
    pub wall_s: f64,
}

impl EvalSummary {
    /// Builds the summary of `results`.
    pub fn new(results: &[TaskResult], completions_from: &str, model: &str, task_files: Vec<String>, wall_s: f64) -> Self {
        let mut by_language: BTreeMap<String, Vec<&TaskResult>> = BTreeMap::new();
        let mut by_kind: BTreeMap<String, Vec<&TaskResult>> = BTreeMap::new();
        for result in results {
            by_language.entry(result.language.clone()).or_default().push(result);
            by_kind.entry(result.kind.clone().unwrap_or_else(|| "-".into())).or_default().push(result);
        }
        let summarise = |groups: BTreeMap<String, Vec<&TaskResult>>| -> BTreeMap<String, GroupSummary> {
            groups.into_iter().map(|(key, group)| (key, GroupSummary::of(group))).collect()
        };
        EvalSummary {
            completions_from: completions_from.to_string(),
            model: model.to_string(),
            task_files,
            overall: GroupSummary::of(results),
            by_language: summarise(by_language),
            by_kind: summarise(by_kind),
            wall_s,
        }
    }

    /// Markdown tables: one row per language and per kind, then the total.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "Model: {} (completions from the {}), {} tasks in {:.1} s\n\n",
            self.model, self.completions_from, self.overall.tasks, self.wall_s
        );
        for (title, groups) in [("language", &self.by_language), ("kind", &self.by_kind)] {
            out.push_str(&format!(
                "| {title} | tasks | exact match | first-line EM | edit sim. | pass@1 | p50 ms | p95 ms |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|\n"
            ));
            for (name, group) in groups.iter().chain(std::iter::once((&"**all**".to_string(), &self.overall))) {
                out.push_str(&markdown_row(name, group));
            }
            out.push('\n');
        }
        out
    }
}

fn markdown_row(name: &str, group: &GroupSummary) -> String {
    let pct = |value: Option<f64>| value.map_or("–".to_string(), |v| format!("{:.1} %", v * 100.0));
    let ms = |value: Option<f64>| value.map_or("–".to_string(), |v| format!("{v:.0}"));
    let pass = match group.pass_at_1 {
        Some(rate) => format!("{:.1} % ({}/{})", rate * 100.0, group.passed, group.tested),
        None => "–".to_string(),
    };
    format!(
        "| {name} | {} | {} | {} | {} | {pass} | {} | {} |\n",
        group.tasks,
        pct(group.exact_match),
        pct(group.first_line_exact_match),
        group.edit_similarity.map_or("–".to_string(), |v| format!("{v:.3}")),
        ms(group.latency_p50_ms),
        ms(group.latency_p95_ms),
    )
}
