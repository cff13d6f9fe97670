//! Broken files: corrupt, truncated and mismatched model files (safetensors, config.json,
//! tokenizer.json), an unwritable or full log destination, unreadable settings. Each must give a
//! clear message — in the log and in the editor's status (`ghostline/status`, `ghostline/stats`,
//! `window/showMessage`) — and the server must keep serving what it can: documents stay in sync,
//! completion requests are answered (empty, with the reason), and a good model path recovers.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::seeded_model::write_seeded_model;
use support::{LspClient, TempDir};

const URI: &str = "file:///tmp/ghostline-files/a.rs";

/// Starts a server on `dir`, waits for the model to fail, and checks the failure is explained
/// (naming `file` and saying `what`) and that everything else still works.
fn expect_clear_failure(dir: &Path, file: &str, what: &str) -> LspClient {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"modelPath": dir}));
    let status = client.notification("ghostline/status", |p| {
        p["state"] == "error" || p["state"] == "ready"
    });
    let message = status["message"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        status["state"], "error",
        "the broken model loaded: {status}"
    );
    assert!(message.contains(file), "the status names {file}: {message}");
    assert!(
        message.contains(what),
        "the status says {what:?}: {message}"
    );
    // The log line and the status notification are written by different threads.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !client.stderr().contains(what) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        client.stderr().contains(what),
        "the log says {what:?}: {}",
        client.stderr()
    );

    // Still serving: documents, edits, completion requests (answered, empty, with the reason).
    client.open(URI, "rust", "fn main() {\n    \n}\n");
    client.change(URI, 2, support::range(1, 4, 1, 4), "let x = 1;");
    assert_eq!(
        client.document_text(URI).unwrap(),
        "fn main() {\n    let x = 1;\n}\n"
    );
    let answer = client.inline_completion(URI, 1, 14, true).unwrap();
    assert_eq!(answer["items"], json!([]), "{answer}");
    let stats = client.stats();
    assert_eq!(stats["modelState"], "error", "{stats}");
    assert!(
        stats["last"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains(file),
        "the empty answer says why: {stats}"
    );
    client
}

fn seeded(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    write_seeded_model(&dir.0, 3);
    dir
}

#[test]
fn corrupt_safetensors_is_explained_and_a_good_model_path_recovers() {
    let dir = seeded("corrupt-weights");
    std::fs::write(
        dir.0.join("model.safetensors"),
        b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage",
    )
    .unwrap();
    let mut client = expect_clear_failure(
        &dir.0,
        "model.safetensors",
        "corrupt or unreadable safetensors",
    );
    // Fixing the setting recovers without a restart.
    let good = seeded("good");
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"ghostline": {"modelPath": good.0}}}),
    );
    client.notification("ghostline/status", |p| p["state"] == "ready");
    let answer = client.inline_completion(URI, 1, 14, true).unwrap();
    assert!(answer["items"].is_array(), "{answer}");
    assert_eq!(client.stats()["modelState"], "ready");
    client.shutdown();
}

#[test]
fn truncated_safetensors_is_explained() {
    let dir = seeded("truncated-weights");
    let path = dir.0.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    expect_clear_failure(
        &dir.0,
        "model.safetensors",
        "corrupt or unreadable safetensors",
    )
    .shutdown();
}

#[test]
fn weights_that_do_not_match_the_config_are_explained() {
    let dir = seeded("mismatched");
    let path = dir.0.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["intermediate_size"] = json!(96);
    std::fs::write(&path, config.to_string()).unwrap();
    expect_clear_failure(
        &dir.0,
        "model.safetensors",
        "expected [96, 64] from config.json",
    )
    .shutdown();
}

#[test]
fn config_json_that_is_not_json_or_missing_is_explained() {
    let dir = seeded("bad-config");
    std::fs::write(dir.0.join("config.json"), "{\"vocab_size\": 4096,").unwrap();
    expect_clear_failure(&dir.0, "config.json", "invalid model config").shutdown();
    std::fs::remove_file(dir.0.join("config.json")).unwrap();
    expect_clear_failure(&dir.0, "config.json", "No such file").shutdown();
}

#[test]
fn a_config_with_absurd_sizes_is_refused_not_a_crash() {
    let dir = seeded("absurd-config");
    let path = dir.0.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["hidden_size"] = json!(1u64 << 62);
    config["head_dim"] = json!(1u64 << 40);
    std::fs::write(&path, config.to_string()).unwrap();
    expect_clear_failure(&dir.0, "config.json", "invalid model config").shutdown();
}

#[test]
fn corrupt_tokenizer_json_is_explained() {
    let dir = seeded("bad-tokenizer");
    let path = dir.0.join("tokenizer.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 3]).unwrap();
    expect_clear_failure(&dir.0, "tokenizer.json", "tokenizer error").shutdown();
}

#[test]
fn a_config_whose_vocabulary_does_not_match_the_weights_is_explained() {
    let dir = seeded("small-vocab");
    let path = dir.0.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["vocab_size"] = json!(1000);
    std::fs::write(&path, config.to_string()).unwrap();
    expect_clear_failure(&dir.0, "model.safetensors", "expected [1000, 64]").shutdown();
}

#[test]
fn a_tokenizer_with_more_tokens_than_the_model_is_explained() {
    // Weights and config agree on 1,000 tokens; the tokenizer (the embedded model's) has 4,096,
    // so it would produce ids the embedding does not have.
    let dir = TempDir::new("tokenizer-mismatch");
    let tokenizer =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/weights/default/tokenizer.json");
    std::fs::copy(&tokenizer, dir.0.join("tokenizer.json")).unwrap();
    let mut config = ghostline_model::LlamaConfig::new(1000, 64, 128, 1, 4, 2);
    config.eos_token_id = Some(ghostline_model::TokenIds::One(0));
    let model = config.init_seeded(&burn::tensor::Device::flex(), 5);
    config.save(&dir.0.join("config.json")).unwrap();
    model
        .save_safetensors(&config, &dir.0.join("model.safetensors"))
        .unwrap();
    expect_clear_failure(&dir.0, "tokenizer.json", "tokens but the model").shutdown();
}

#[test]
fn an_unwritable_or_full_log_destination_does_not_stop_the_server() {
    for log_file in ["/dev/full", "/proc/ghostline-cannot-create-this/log.txt"] {
        let mut client = LspClient::spawn(&["--log-file", log_file], &[]);
        client.initialize(None, json!({"enable": false}));
        let status = client.notification("ghostline/status", |_| true);
        assert_eq!(status["state"], "disabled", "{status}");
        client.open(URI, "rust", "fn main() {}\n");
        assert_eq!(client.document_text(URI).unwrap(), "fn main() {}\n");
        if log_file.starts_with("/proc") {
            assert!(
                client.stderr().contains("cannot open log file"),
                "the problem is logged to stderr instead: {}",
                client.stderr()
            );
            let warning = client.notification("window/showMessage", |p| {
                p["message"].as_str().unwrap_or("").contains("log file")
            });
            assert_eq!(warning["type"], 2, "{warning}");
        }
        client.shutdown();
    }
}

#[test]
fn unreadable_settings_warn_and_the_server_keeps_its_previous_values() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(
        None,
        json!({"enable": false, "maxLines": "many", "modelPath": 42}),
    );
    for key in ["max_lines", "model_path"] {
        let warning = client.notification("window/showMessage", |p| {
            p["message"].as_str().unwrap_or("").contains(key)
        });
        assert_eq!(warning["type"], 2, "{warning}");
    }
    for settings in [
        json!("not an object"),
        json!([1, 2]),
        json!({"ghostline": {"debounceMs": -1}}),
    ] {
        client.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": settings}),
        );
        client.notification("window/showMessage", |_| true);
    }
    let stats = client.stats();
    assert_eq!(stats["modelState"], "disabled", "{stats}");
    client.open(URI, "rust", "x");
    assert_eq!(client.document_text(URI).unwrap(), "x");
    client.shutdown();
}
