//! Unit tests of the evaluation metrics, task loading, summaries and the benchmark helpers.

use ghostline::bench::latency::{has_suggestion, position};
use ghostline::bench::lsp_client::{read_message, write_message};
use ghostline::bench::report::Distribution;
use ghostline::eval::metrics::{
    EvalSummary, GroupSummary, edit_similarity, exact_match, first_line_exact_match, levenshtein, percentile,
};
use ghostline::eval::task::{TaskFilter, TaskResult, load_tasks};
use serde_json::json;

#[test]
fn levenshtein_counts_insertions_deletions_and_substitutions() {
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
    assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
    assert_eq!(levenshtein(&chars("abc"), &chars("")), 3);
    assert_eq!(levenshtein(&chars("flaw"), &chars("lawn")), 2);
    assert_eq!(levenshtein(&chars("same"), &chars("same")), 0);
    // Characters, not bytes: one substitution of a multi-byte character.
    assert_eq!(levenshtein(&chars("naïve"), &chars("naive")), 1);
}

#[test]
fn edit_similarity_is_one_minus_normalised_distance() {
    assert_eq!(edit_similarity("abc", "abc"), 1.0);
    assert_eq!(edit_similarity("", ""), 1.0);
    assert_eq!(edit_similarity("abc", "xyz"), 0.0);
    assert!((edit_similarity("kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
    // Trailing whitespace does not count.
    assert_eq!(edit_similarity("x = 1\n\n", "x = 1"), 1.0);
    assert_eq!(edit_similarity("", "abcd"), 0.0);
}

#[test]
fn exact_match_ignores_only_trailing_whitespace() {
    assert!(exact_match("return a + b\n", "return a + b"));
    assert!(!exact_match(" return a + b", "return a + b"));
    assert!(!exact_match("return a + b", "return a - b"));
    assert!(first_line_exact_match("let x = 1;\nlet y = 2;", "let x = 1;  \nlet z = 3;"));
    assert!(!first_line_exact_match("let x = 2;\nlet y = 2;", "let x = 1;\nlet y = 2;"));
    assert!(first_line_exact_match("", ""));
}

#[test]
fn percentile_uses_nearest_rank() {
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&values, 50.0), Some(50.0));
    assert_eq!(percentile(&values, 95.0), Some(95.0));
    assert_eq!(percentile(&values, 99.0), Some(99.0));
    assert_eq!(percentile(&values, 100.0), Some(100.0));
    assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
    assert_eq!(percentile(&[], 50.0), None);
    let d = Distribution::of(&[3.0, 1.0, 2.0]);
    assert_eq!((d.n, d.p50, d.max, d.mean), (3, Some(2.0), Some(3.0), Some(2.0)));
}

fn result(id: &str, language: &str, em: Option<bool>, es: Option<f64>, passed: Option<bool>, latency_ms: f64) -> TaskResult {
    TaskResult {
        task_id: id.into(),
        language: language.into(),
        kind: Some("single-line".into()),
        completion: String::new(),
        exact_match: em,
        first_line_exact_match: em,
        edit_similarity: es,
        passed,
        timed_out: false,
        test_log: None,
        latency_ms,
        error: None,
    }
}

#[test]
fn group_summary_aggregates_only_tasks_that_have_the_data() {
    let results = vec![
        result("a", "python", Some(true), Some(1.0), Some(true), 10.0),
        result("b", "python", Some(false), Some(0.5), Some(false), 20.0),
        result("c", "python", Some(false), Some(0.0), None, 30.0),
        result("d", "go", None, None, None, 40.0),
    ];
    let summary = GroupSummary::of(&results);
    assert_eq!(summary.tasks, 4);
    assert_eq!(summary.with_reference, 3);
    assert_eq!(summary.exact_match, Some(1.0 / 3.0));
    assert_eq!(summary.edit_similarity, Some(0.5));
    assert_eq!((summary.tested, summary.passed), (2, 1));
    assert_eq!(summary.pass_at_1, Some(0.5));
    assert_eq!(summary.latency_p50_ms, Some(20.0));
    let eval = EvalSummary::new(&results, "oracle", "oracle", vec!["t.jsonl".into()], 1.0);
    assert_eq!(eval.by_language["python"].tasks, 3);
    assert_eq!(eval.by_language["go"].exact_match, None);
    let markdown = eval.to_markdown();
    assert!(markdown.contains("| python | 3 | 33.3 % |"), "{markdown}");
    assert!(markdown.contains("50.0 % (1/2)"), "{markdown}");
}

#[test]
fn task_files_are_filtered_and_bad_lines_name_the_line() {
    let dir = std::env::temp_dir().join(format!("ghostline-eval-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.jsonl");
    let task = |id: &str, language: &str| json!({"task_id": id, "language": language, "prefix": "p", "suffix": "s", "middle": "m"}).to_string();
    std::fs::write(&path, [task("1", "rust"), String::new(), task("2", "python"), task("3", "Rust"), task("4", "rust")].join("\n")).unwrap();
    let all = load_tasks(&path, &TaskFilter::default()).unwrap();
    assert_eq!(all.iter().map(|t| t.task_id.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4"]);
    let rust = TaskFilter { language: Some("rust".into()), limit: Some(2), ..TaskFilter::default() };
    assert_eq!(load_tasks(&path, &rust).unwrap().iter().map(|t| t.task_id.as_str()).collect::<Vec<_>>(), ["1", "3"]);
    std::fs::write(&path, format!("{}\n{{\"task_id\": 5}}\n", task("1", "rust"))).unwrap();
    let err = format!("{:#}", load_tasks(&path, &TaskFilter::default()).unwrap_err());
    assert!(err.contains("tasks.jsonl:2"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lsp_positions_count_utf16_code_units() {
    let text = "fn main() {\n    let s = \"😀é\";\n}";
    assert_eq!(position(text, 0), (0, 0));
    assert_eq!(position(text, text.find("let").unwrap()), (1, 4));
    // 😀 is 4 bytes and 2 UTF-16 units; é is 2 bytes and 1 unit.
    let after = text.find("\";").unwrap();
    assert_eq!(position(text, after), (1, 4 + "let s = \"".len() as u32 + 3));
    assert_eq!(position(text, text.len()), (2, 1));
}

#[test]
fn suggestions_are_recognised_in_both_result_shapes() {
    assert!(has_suggestion(&json!([{"insertText": "x + 1"}])));
    assert!(has_suggestion(&json!({"items": [{"insertText": {"kind": "snippet", "value": "y"}}]})));
    assert!(!has_suggestion(&json!({"items": []})));
    assert!(!has_suggestion(&json!([{"insertText": "  "}])));
    assert!(!has_suggestion(&json!(null)));
}

#[test]
fn lsp_framing_round_trips() {
    let mut buffer = Vec::new();
    let message = json!({"jsonrpc": "2.0", "id": 1, "result": {"text": "é\r\n"}});
    write_message(&mut buffer, &message).unwrap();
    write_message(&mut buffer, &json!({"jsonrpc": "2.0", "method": "exit"})).unwrap();
    let mut reader = std::io::BufReader::new(&buffer[..]);
    assert_eq!(read_message(&mut reader).unwrap(), Some(message));
    assert_eq!(read_message(&mut reader).unwrap().unwrap()["method"], "exit");
    assert_eq!(read_message(&mut reader).unwrap(), None);
}

#[test]
fn swallowed_suffix_characters_are_not_counted_as_inserted() {
    use ghostline::eval::pipeline::inserted_between;
    // Plain insertion.
    assert_eq!(inserted_between("f(", ")\n", "x", 0), "x");
    // The item swallows the auto-closed `)`: the document becomes `f(x, y)\n`.
    assert_eq!(inserted_between("f(", ")\n", "x, y)", 1), "x, y");
    // It replaces suffix text with something else: fall back to the inserted text.
    assert_eq!(inserted_between("f(", "]\n", "x)", 1), "x)");
}
