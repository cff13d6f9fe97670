//! `ghostline tune` end to end with the real binary and a seeded model directory: the command
//! writes the workspace's overlay next to the feedback database; the server puts it onto the
//! model at load (log line) while `tunedWeights` is on; a corrupt overlay, or one tuned from
//! another base model, is refused with a clear log line and the server runs on the base weights;
//! `ghostline.resetAdaptation` and `ghostline feedback forget --adaptation` delete it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use support::{BINARY, LspClient, TempDir};

/// Runs `ghostline tune` (a few steps) on `workspace` with the model in `model`.
fn tune(workspace: &Path, db: &Path, model: &Path) -> String {
    let output = Command::new(BINARY)
        .args(["tune", "--workspace"])
        .arg(workspace)
        .arg("--db")
        .arg(db)
        .arg("--model")
        .arg(model)
        .args([
            "--seconds",
            "30",
            "--tune-max-steps",
            "3",
            "--tune-epochs",
            "10",
        ])
        .args(["--device", "cpu"])
        .output()
        .expect("running ghostline tune");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "ghostline tune failed: {stdout}\n{stderr}"
    );
    format!("{stdout}{stderr}")
}

fn overlays(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().to_string();
                    name.starts_with("tuned-") && name.ends_with(".safetensors")
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Starts the server on `workspace` and waits until the model is ready.
fn start(workspace: &Path, db: &Path, model: &Path, tuned_weights: bool) -> LspClient {
    let mut client = LspClient::spawn(&[], &[]);
    let root = format!("file://{}", workspace.canonicalize().unwrap().display());
    client
        .request(
            "initialize",
            json!({"processId": null, "rootUri": root, "capabilities": {},
                "initializationOptions": {"modelPath": model.to_str().unwrap(),
                    "feedbackPath": db.to_str().unwrap(), "logLevel": "info",
                    "tunedWeights": tuned_weights}}),
        )
        .expect("initialize succeeds");
    client.notify("initialized", json!({}));
    client.wait_ready();
    client
}

/// Waits (bounded) until the server's log contains `needle`; returns the log.
fn log_contains(client: &LspClient, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = client.stderr();
        if log.contains(needle) || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn tune_writes_an_overlay_the_server_loads_checks_and_resets() {
    let dir = TempDir::new("tune-e2e");
    let workspace = dir.0.join("workspace");
    std::fs::create_dir_all(workspace.join("src")).unwrap();
    let code = "def spin(widget, turns):\n    return widget.rotate(turns * 360)\n\n".repeat(30);
    std::fs::write(workspace.join("src/spin.py"), &code).unwrap();
    std::fs::write(workspace.join("src/ignored.py"), &code).unwrap();
    std::fs::write(workspace.join(".gitignore"), "ignored.py\n").unwrap();
    let model = dir.0.join("model");
    support::seeded_model::write_seeded_model(&model, 7);
    let other_model = dir.0.join("other-model");
    support::seeded_model::write_seeded_model(&other_model, 8);
    let store = dir.0.join("data");
    let db = store.join("feedback.sqlite3");

    // The command writes one overlay, next to the database.
    let stdout = tune(&workspace, &db, &model);
    let files = overlays(&store);
    assert_eq!(files.len(), 1, "{stdout}");
    assert!(stdout.contains("3 steps"), "{stdout}");
    // The index's walk: ignored.py (.gitignore) is not tuned on.
    assert!(stdout.contains("tuning on 1 files"), "{stdout}");
    let overlay = files[0].clone();
    let good = std::fs::read(&overlay).unwrap();

    // The server puts it on; with the setting off it does not.
    let mut client = start(&workspace, &db, &model, true);
    let log = log_contains(&client, "tuned weights loaded");
    assert!(log.contains("tuned weights loaded"), "{log}");
    client.kill();
    let mut client = start(&workspace, &db, &model, false);
    assert!(
        !client.stderr().contains("tuned weights"),
        "{}",
        client.stderr()
    );
    client.kill();

    // Bad overlays: a clear log line, the base weights, suggestions still answered.
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "truncated",
            good[..good.len() / 3].to_vec(),
            "not a safetensors file",
        ),
        (
            "another base model",
            Vec::new(),
            "tuned from another base model",
        ),
    ];
    for (case, bytes, expected) in cases {
        if bytes.is_empty() {
            tune(&workspace, &db, &other_model); // overwrites the overlay: tuned from seed 8
        } else {
            std::fs::write(&overlay, &bytes).unwrap();
        }
        let mut client = start(&workspace, &db, &model, true);
        let log = log_contains(&client, expected);
        assert!(
            log.contains("tuned weights not used") && log.contains(expected),
            "{case}: {log}"
        );
        let uri = format!("file://{}", workspace.join("src/new.py").display());
        client.open(&uri, "python", "def spin(widget, turns):\n    return ");
        let answer = client.inline_completion(&uri, 1, 11, true);
        assert!(answer.is_ok(), "{case}: {answer:?}");
        client.kill();
    }

    // Reset from the editor deletes it.
    std::fs::write(&overlay, &good).unwrap();
    let mut client = start(&workspace, &db, &model, true);
    let reset = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.resetAdaptation", "arguments": []}),
    );
    assert!(reset.is_ok(), "{reset:?}");
    assert!(
        overlays(&store).is_empty(),
        "reset left {:?}",
        overlays(&store)
    );
    client.kill();

    // And from the command line.
    tune(&workspace, &db, &model);
    assert_eq!(overlays(&store).len(), 1);
    let output = Command::new(BINARY)
        .args(["feedback", "forget", "--adaptation", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        overlays(&store).is_empty(),
        "forget left {:?}",
        overlays(&store)
    );
}
