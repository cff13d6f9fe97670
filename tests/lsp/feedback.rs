//! End-to-end feedback store: the real server (seeded model through `modelPath`) records shown,
//! partially accepted, accepted, rejected and ignored suggestions in SQLite; `ghostline/stats`
//! and `ghostline stats --json` give the same numbers; export and forget work on the same file.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{BINARY, LspClient, TempDir, range};

const SAMPLE: &str = include_str!("fixtures/sample.rs");
const URI: &str = "file:///tmp/ghostline-feedback-e2e/sample.rs";

fn cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .output()
        .expect("running ghostline");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn start(options: Value, dir: &Path) -> LspClient {
    let model_dir = dir.join("model");
    if !model_dir.exists() {
        support::seeded_model::write_seeded_model(&model_dir, 7);
    }
    let mut options = options;
    options["modelPath"] = json!(model_dir.to_str().unwrap());
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, options);
    client.wait_ready();
    client
}

/// Asks at blank lines of the sample until the model suggests something.
fn suggestions(client: &mut LspClient) -> (u32, u32, Vec<Value>) {
    for (index, line) in SAMPLE.lines().enumerate() {
        if line.trim().is_empty() && line.len() >= 4 {
            let character = line.chars().count() as u32;
            let answer = client
                .inline_completion(URI, index as u32, character, true)
                .unwrap();
            let items = answer["items"].as_array().unwrap().clone();
            if items.len() >= 2 {
                return (index as u32, character, items);
            }
        }
    }
    panic!("the seeded model suggested fewer than 2 items everywhere");
}

fn id(item: &Value) -> String {
    item["command"]["arguments"][0]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn outcomes_are_stored_and_lsp_and_cli_stats_agree() {
    let dir = TempDir::new("feedback-e2e");
    let db = dir.0.join("data/feedback.sqlite3");
    let db_arg = db.to_str().unwrap();
    let mut client = start(json!({"feedbackPath": db_arg}), &dir.0);
    let status = client.notification("ghostline/status", |p| p["feedback"]["state"] == "on");
    assert!(
        status["feedback"]["message"]
            .as_str()
            .unwrap()
            .contains(db_arg),
        "{status}"
    );
    client.open(URI, "rust", SAMPLE);
    let (line, character, items) = suggestions(&mut client);

    // First item: shown, partially accepted (1 char), then accepted through its command.
    client.notify("textDocument/didShowCompletion", json!({"item": items[0]}));
    client.notify(
        "textDocument/didPartiallyAcceptCompletion",
        json!({"item": items[0], "acceptedLength": 1}),
    );
    let accepted = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.accept", "arguments": [id(&items[0])]}),
    );
    assert_eq!(accepted, Ok(Value::Null));
    // Second item: shown (superseding nothing undecided), then rejected.
    client.notify("textDocument/didShowCompletion", json!({"item": items[1]}));
    let rejected = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.reject", "arguments": [id(&items[1])]}),
    );
    assert_eq!(rejected, Ok(Value::Null));
    // A third suggestion from another request: shown, then superseded by a fourth → ignored.
    client.change(URI, 2, range(line, character, line, character), " ");
    let (_, _, more) = suggestions(&mut client);
    client.notify("textDocument/didShowCompletion", json!({"item": more[0]}));
    client.notify("textDocument/didShowCompletion", json!({"item": more[1]}));

    let stats = client.stats();
    let feedback = &stats["feedback"];
    assert_eq!(feedback["status"]["state"], "on", "{stats}");
    let report = feedback["report"].clone();
    assert_eq!(report["shown"], 4, "{report}");
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(
        report["partially_accepted"], 0,
        "an accept wins over a partial accept: {report}"
    );
    assert_eq!(report["rejected"], 1, "{report}");
    assert_eq!(report["ignored"], 1, "{report}");
    assert_eq!(report["pending"], 1, "{report}");
    assert_eq!(report["acceptance_rate"], 0.25, "{report}");
    let first_text = items[0]["insertText"].as_str().unwrap();
    assert_eq!(
        report["chars_accepted"],
        first_text.chars().count(),
        "{report}"
    );
    assert_eq!(report["by_language"][0]["name"], "rust", "{report}");
    assert_eq!(report["by_model"][0]["name"], "model", "{report}");
    assert_eq!(report["latency_ms"]["samples"], 4, "{report}");
    assert!(
        report["latency_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{report}"
    );

    // The command line reads the same file (while the server runs) and prints the same numbers.
    let (ok, stdout, stderr) = cli(&["stats", "--json", "--db", db_arg]);
    assert!(ok, "{stderr}");
    let from_cli: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        from_cli, report,
        "ghostline stats --json and ghostline/stats differ"
    );
    let svg = dir.0.join("chart.svg");
    let (ok, stdout, stderr) = cli(&["stats", "--db", db_arg, "--svg", svg.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("acceptance 25.0 %"), "{stdout}");
    assert!(stdout.contains("acceptance  "), "a sparkline: {stdout}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<polyline"));
    let (ok, stdout, _) = cli(&["stats", "--json", "--since", "2999-01-01", "--db", db_arg]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["shown"], 0);
    let (ok, _, stderr) = cli(&["stats", "--since", "last tuesday", "--db", db_arg]);
    assert!(!ok && stderr.contains("expected YYYY-MM-DD"), "{stderr}");

    // Export: one line per suggestion, with the replay context and no raw path.
    let (ok, stdout, stderr) = cli(&["feedback", "export", "--jsonl", "--db", db_arg]);
    assert!(ok, "{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    let accepted_row = rows.iter().find(|r| r["id"] == id(&items[0])).unwrap();
    assert_eq!(accepted_row["outcome"], "accepted");
    assert_eq!(accepted_row["suggestion_text"], first_text);
    assert_eq!(accepted_row["language"], "rust");
    assert_eq!(accepted_row["trigger_kind"], "invoked");
    assert_eq!(
        accepted_row["path"],
        Value::Null,
        "raw paths only with the opt-in"
    );
    assert_eq!(accepted_row["path_hash"].as_str().unwrap().len(), 16);
    assert!(
        accepted_row["prompt_tokens"].as_u64().unwrap() > 0,
        "{accepted_row}"
    );
    assert!(
        accepted_row["time_to_show_ms"].as_f64().is_some(),
        "{accepted_row}"
    );
    assert!(
        accepted_row["stages_ms"]["total_ms"].as_f64().is_some(),
        "{accepted_row}"
    );
    let before_cursor: String = SAMPLE
        .lines()
        .take(line as usize)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + &SAMPLE.lines().nth(line as usize).unwrap()[..character as usize];
    let context = accepted_row["context_before"].as_str().unwrap();
    assert!(
        before_cursor.ends_with(context) && !context.is_empty(),
        "the replay context is the text just before the cursor: {context:?}"
    );
    client.shutdown();

    // Forget: everything before a future date, then nothing is left.
    let (ok, stdout, stderr) = cli(&[
        "feedback",
        "forget",
        "--before",
        "2999-01-01",
        "--db",
        db_arg,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("forgot 4 suggestions"), "{stdout}");
    let (_, stdout, _) = cli(&["stats", "--json", "--db", db_arg]);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["shown"], 0);
    let (ok, _, stderr) = cli(&["feedback", "forget", "--db", db_arg]);
    assert!(
        !ok && stderr.contains("--all"),
        "forget needs --all or --before: {stderr}"
    );
}

#[test]
fn turned_off_in_the_settings_nothing_is_written() {
    let dir = TempDir::new("feedback-off");
    let db = dir.0.join("feedback.sqlite3");
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(
        None,
        json!({"enable": false, "feedback": false, "feedbackPath": db.to_str().unwrap()}),
    );
    let status = client.notification("ghostline/status", |p| p["feedback"]["state"] == "off");
    assert!(
        status["feedback"]["message"]
            .as_str()
            .unwrap()
            .contains("turned off"),
        "{status}"
    );
    let accepted = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.accept", "arguments": ["gl-x-1"]}),
    );
    assert_eq!(accepted, Ok(Value::Null));
    assert_eq!(client.stats()["feedback"]["status"]["state"], "off");
    // Editors send `{}` as the params of ghostline/stats: accepted like null.
    let stats = client
        .request("ghostline/stats", json!({}))
        .expect("stats with {} params");
    assert_eq!(stats["feedback"]["status"]["state"], "off");
    // Turning it on later opens the store and records from then on.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"ghostline": {"feedback": true}}}),
    );
    client.notification("ghostline/status", |p| p["feedback"]["state"] == "on");
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "ghostline.reject", "arguments": ["gl-x-2"]}),
        )
        .unwrap();
    let report = client.stats()["feedback"]["report"].clone();
    assert_eq!(
        (report["shown"].clone(), report["rejected"].clone()),
        (json!(1), json!(1)),
        "{report}"
    );
    client.shutdown();
}
