//! End-to-end tests of the command line (`--version`, `help`, `complete`, `model generate`, bad
//! arguments), running the real binary with the real embedded model.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{BINARY, TempDir};

const SAMPLE: &str = include_str!("fixtures/sample.rs");

fn ghostline(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("running ghostline")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn version_and_help() {
    let output = ghostline(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output).trim(),
        format!("ghostline {}", env!("CARGO_PKG_VERSION"))
    );
    let output = ghostline(&["help"]);
    assert!(output.status.success());
    for subcommand in ["lsp", "complete", "model", "eval", "bench"] {
        assert!(
            stdout(&output).contains(subcommand),
            "{subcommand} in help:\n{}",
            stdout(&output)
        );
    }
}

#[test]
fn bad_arguments_get_clear_messages() {
    let dir = TempDir::new("cli-bad-args");
    let file = dir.0.join("sample.rs");
    std::fs::write(&file, SAMPLE).unwrap();
    let file = file.to_str().unwrap();

    let output = ghostline(&["complete", file, "--line", "0", "--column", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--line"), "{}", stderr(&output));

    let output = ghostline(&["complete", file, "--line", "999", "--column", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("line 999 is past the end of the file, which has 33 lines"),
        "{}",
        stderr(&output)
    );

    let output = ghostline(&["complete", file, "--line", "1", "--column", "500"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("column 500 is past the end of line 1"),
        "{}",
        stderr(&output)
    );

    let output = ghostline(&[
        "complete",
        "/nonexistent/file.rs",
        "--line",
        "1",
        "--column",
        "1",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read /nonexistent/file.rs"),
        "{}",
        stderr(&output)
    );

    let output = ghostline(&[
        "complete", file, "--line", "1", "--column", "1", "--device", "tpu",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("expected auto, cpu or gpu"),
        "{}",
        stderr(&output)
    );

    let output = ghostline(&[
        "complete",
        file,
        "--line",
        "1",
        "--column",
        "1",
        "--model",
        "/nonexistent/model",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("/nonexistent/model"),
        "{}",
        stderr(&output)
    );

    let output = ghostline(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("frobnicate"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn complete_json_prints_the_list_and_stage_timings() {
    let dir = TempDir::new("cli-complete");
    let file = dir.0.join("sample.rs");
    std::fs::write(&file, SAMPLE).unwrap();
    // Line 16 is the blank body of `add`, column 5 is after its indentation.
    let output = ghostline(&[
        "complete",
        file.to_str().unwrap(),
        "--line",
        "16",
        "--column",
        "5",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let items = json["items"].as_array().expect("items");
    assert!(items.len() <= 3);
    for item in items {
        assert!(!item["insertText"].as_str().unwrap().trim().is_empty());
        assert_eq!(
            item["range"]["start"],
            serde_json::json!({"line": 15, "character": 4})
        );
        assert_eq!(item["command"]["command"], "ghostline.accept");
    }
    for stage in [
        "context_ms",
        "tokenize_ms",
        "prefill_ms",
        "decode_ms",
        "postprocess_ms",
        "total_ms",
    ] {
        assert!(
            json["timings_ms"][stage].as_f64().is_some(),
            "{stage}: {json}"
        );
    }

    // Without --json: the first suggestion's text, exactly.
    let plain = ghostline(&[
        "complete",
        file.to_str().unwrap(),
        "--line",
        "16",
        "--column",
        "5",
    ]);
    assert!(plain.status.success());
    match items.first() {
        Some(first) => assert_eq!(
            stdout(&plain),
            format!("{}\n", first["insertText"].as_str().unwrap())
        ),
        None => assert!(stderr(&plain).contains("no suggestion")),
    }
}

#[test]
fn model_generate_json_reports_tokens_and_speeds() {
    let output = ghostline(&[
        "model",
        "generate",
        "embedded",
        "--prompt",
        "fn main() {\n    let x = ",
        "--max-tokens",
        "8",
        "--greedy",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let tokens = json["tokens"].as_array().expect("tokens");
    // Token healing takes the prompt's trailing space back; spelling it out again comes on top
    // of `--max-tokens` (at most a token per healed byte).
    assert!(tokens.len() <= 8 + 1, "{json}");
    assert!(!json["text"].as_str().unwrap().starts_with(' '), "healed text is not returned: {json}");
    assert!(json["text"].is_string());
    assert!(
        json["prefill_tokens_per_s"].as_f64().unwrap() > 0.0,
        "{json}"
    );
    assert!(json["device"].as_str().is_some_and(|d| !d.is_empty()));

    // Greedy is deterministic.
    let again = ghostline(&[
        "model",
        "generate",
        "embedded",
        "--prompt",
        "fn main() {\n    let x = ",
        "--max-tokens",
        "8",
        "--json",
    ]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["tokens"], json["tokens"]);
}

#[test]
fn model_info_describes_directories_and_gguf_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../model/weights/default");
    let output = ghostline(&["model", "info", dir, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(json["architecture"], "llama");
    assert_eq!(json["prompt_mode"], "fim", "{json}");
    assert!(json["parameters"].as_u64().unwrap() > 1_000_000, "{json}");
    // The shipped weights are stored as f16 (MODEL_CARD.md).
    assert!(json["dtypes"]["F16"]["tensors"].as_u64().unwrap() > 0, "{json}");
    let text = ghostline(&["model", "info", dir]);
    assert!(stdout(&text).contains("fill-in-the-middle"), "{}", stdout(&text));

    // A truncated GGUF is a one-line error naming the file.
    let temp = TempDir::new("model-info");
    let broken = temp.0.join("broken.gguf");
    std::fs::write(&broken, b"GGUF\x03\x00\x00\x00\x05").unwrap();
    let output = ghostline(&["model", "info", broken.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("broken.gguf: truncated file"), "{}", stderr(&output));

    // The real SmolLM2 GGUF, when installed (scripts/test.sh installs it): prefix-only.
    if let Some(gguf) = std::env::var_os("GHOSTLINE_SMOLLM2_GGUF").filter(|p| !p.is_empty()) {
        let output = ghostline(&["model", "info", gguf.to_str().unwrap(), "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["prompt_mode"], "prefix-only", "{json}");
        assert_eq!(json["vocab_size"], 49152);
        assert_eq!(json["dtypes"]["Q4_1"]["tensors"], 210);
    }
}
