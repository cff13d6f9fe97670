//! End-to-end tests of `ghostline eval`: the real binary on a tiny task file, with Python and Rust
//! tests that pass, fail and time out (`--oracle`, so the outcome does not depend on a model), and
//! one run through the real completion pipeline with the embedded model.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ghostline-eval-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_tasks(dir: &Path, tasks: &[Value]) -> PathBuf {
    let path = dir.join("tasks.jsonl");
    let lines: Vec<String> = tasks.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn ghostline(args: &[&str]) -> (Value, f64) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_ghostline")).args(args).output().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "ghostline {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let summary = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", String::from_utf8_lossy(&output.stdout)));
    (summary, elapsed)
}

fn read_results(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn oracle_run_scores_passing_failing_and_hanging_tests() {
    let dir = scratch_dir("oracle");
    let add_py = "def add(a, b):\n    return ";
    let add_rs = "fn add(a: i32, b: i32) -> i32 {\n    ";
    let rust_test = "#[test]\nfn adds() { assert_eq!(add(2, 3), 5); }\n";
    let tasks = write_tasks(&dir, &[
        json!({"task_id": "py-pass", "language": "python", "prefix": add_py, "suffix": "\n", "middle": "a + b",
               "test": "assert add(2, 3) == 5"}),
        json!({"task_id": "py-fail", "language": "python", "prefix": add_py, "suffix": "\n", "middle": "a - b",
               "test": "assert add(2, 3) == 5"}),
        // The test starts a grandchild and hangs: the whole process group must be killed at the timeout.
        json!({"task_id": "py-hang", "language": "python", "prefix": add_py, "suffix": "\n", "middle": "a + b",
               "test": "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)"}),
        json!({"task_id": "rs-pass", "language": "rust", "prefix": add_rs, "suffix": "\n}\n", "middle": "a + b",
               "test": rust_test}),
        json!({"task_id": "rs-compile-error", "language": "rust", "prefix": add_rs, "suffix": "\n}\n", "middle": "a +",
               "test": rust_test}),
        json!({"task_id": "go-no-test", "language": "go", "prefix": "func add(a, b int) int {\n\treturn ", "suffix": "\n}\n",
               "middle": "a + b", "kind": "single-line"}),
    ]);
    let out = dir.join("results.jsonl");
    let (summary, elapsed) = ghostline(&["eval", tasks.to_str().unwrap(), "--oracle", "--json", "--test-timeout-s", "2",
                                         "--out", out.to_str().unwrap()]);
    assert!(elapsed < 60.0, "the hanging test was not killed in time ({elapsed:.1} s)");
    let results = read_results(&out);
    let by_id = |id: &str| results.iter().find(|r| r["task_id"] == id).unwrap_or_else(|| panic!("no result for {id}"));
    assert_eq!(results.len(), 6);
    assert_eq!(by_id("py-pass")["passed"], true);
    assert_eq!(by_id("py-pass")["completion"], "a + b");
    assert_eq!(by_id("py-pass")["exact_match"], true);
    assert_eq!(by_id("py-fail")["passed"], false);
    assert!(by_id("py-fail")["test_log"].as_str().unwrap().contains("AssertionError"));
    assert_eq!(by_id("py-hang")["passed"], false);
    assert_eq!(by_id("py-hang")["timed_out"], true);
    assert_eq!(by_id("rs-pass")["passed"], true);
    assert_eq!(by_id("rs-compile-error")["passed"], false);
    assert!(by_id("rs-compile-error")["test_log"].as_str().unwrap().contains("compilation failed"));
    assert!(by_id("go-no-test").get("passed").is_none());
    assert_eq!(by_id("go-no-test")["edit_similarity"], 1.0);

    assert_eq!(summary["completions_from"], "oracle");
    assert_eq!(summary["overall"]["tasks"], 6);
    assert_eq!(summary["overall"]["tested"], 5);
    assert_eq!(summary["overall"]["passed"], 2);
    assert_eq!(summary["overall"]["timed_out"], 1);
    assert_eq!(summary["by_language"]["python"]["passed"], 1);
    assert_eq!(summary["by_language"]["rust"]["pass_at_1"], 0.5);
    assert_eq!(summary["by_language"]["go"]["exact_match"], 1.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn python_tests_have_no_network() {
    let dir = scratch_dir("network");
    // Listen on loopback here; the test passes only if it cannot connect (its own network
    // namespace has no usable interface), or, without unshare, at least no proxy variables are set.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let unshare = Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    let test = if unshare {
        format!("import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    raise SystemExit(1)\nexcept OSError:\n    pass\n")
    } else {
        "import os\nassert not any(k.lower().endswith('_proxy') for k in os.environ)\n".to_string()
    };
    let tasks = write_tasks(&dir, &[json!({"task_id": "net", "language": "python", "prefix": "x = ", "suffix": "\n",
                                          "middle": "1", "test": test})]);
    let out = dir.join("results.jsonl");
    let (summary, _) = ghostline(&["eval", tasks.to_str().unwrap(), "--oracle", "--json", "--out", out.to_str().unwrap()]);
    assert_eq!(summary["overall"]["passed"], 1, "{:?}", read_results(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shipped_dev_set_passes_its_own_tests_with_the_reference_completions() {
    // A sample of each HumanEval file: the reference solutions must pass, or the task file is broken.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = scratch_dir("devset");
    let out = dir.join("results.jsonl");
    let files = [root.join("data/devset/humaneval_python.jsonl"), root.join("data/devset/humaneval_rust.jsonl")];
    let (summary, _) = ghostline(&["eval", files[0].to_str().unwrap(), files[1].to_str().unwrap(), "--oracle", "--json",
                                   "--limit", "4", "--test-jobs", "2", "--out", out.to_str().unwrap()]);
    assert_eq!(summary["overall"]["tasks"], 8);
    assert_eq!(summary["overall"]["tested"], 8);
    assert_eq!(summary["overall"]["passed"], 8, "{:#?}", read_results(&out));
    assert_eq!(summary["overall"]["exact_match"], 1.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pipeline_run_with_the_embedded_model_completes_every_task() {
    let dir = scratch_dir("pipeline");
    let tasks = write_tasks(&dir, &[
        json!({"task_id": "rs", "language": "rust", "path": "src/lib.rs", "prefix": "fn add(a: i32, b: i32) -> i32 {\n    ",
               "suffix": "\n}\n", "middle": "a + b", "test": "#[test]\nfn adds() { assert_eq!(add(2, 3), 5); }\n"}),
        json!({"task_id": "py", "language": "python", "prefix": "def add(a, b):\n    return ", "suffix": "\n",
               "middle": "a + b", "test": "assert add(2, 3) == 5"}),
    ]);
    let out = dir.join("results.jsonl");
    let (summary, _) = ghostline(&["eval", tasks.to_str().unwrap(), "--json", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert_eq!(summary["completions_from"], "pipeline");
    assert_eq!(summary["overall"]["tasks"], 2);
    assert_eq!(summary["overall"]["errors"], 0, "{:#?}", read_results(&out));
    assert_eq!(summary["overall"]["tested"], 2);
    for result in read_results(&out) {
        assert!(result["completion"].is_string());
        assert!(result["latency_ms"].as_f64().unwrap() > 0.0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
