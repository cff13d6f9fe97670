//! End-to-end robustness: bad inputs get clear errors or clamped positions, a failed model load
//! keeps the server alive, bad settings warn and keep defaults — and the server always answers
//! afterwards.

mod support;

use serde_json::json;
use support::{LspClient, range};

const URI: &str = "file:///tmp/ghostline-robust/a.py";

fn message(error: &serde_json::Value) -> String {
    error["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn bad_requests_get_clear_errors_and_the_server_keeps_answering() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"enable": false}));
    client.open(URI, "python", "def f(x):\n    return x 😀\n");

    // Malformed params.
    let error = client
        .request("textDocument/inlineCompletion", json!({"position": 3}))
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
    let error = client
        .request("textDocument/inlineCompletion", json!("not an object"))
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");

    // Unknown document.
    let error = client
        .inline_completion("file:///nowhere.py", 0, 0, true)
        .unwrap_err();
    assert_eq!(error["code"], -32602);
    assert!(
        message(&error).contains("unknown document file:///nowhere.py"),
        "{error}"
    );

    // A line past the end is an error; a column past the end or inside a surrogate pair is clamped.
    let error = client.inline_completion(URI, 7, 0, true).unwrap_err();
    assert!(
        message(&error).contains("line 7 is past the end of the document (3 lines)"),
        "{error}"
    );
    let error = client
        .inline_completion(URI, u32::MAX, u32::MAX, true)
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
    assert_eq!(
        client.inline_completion(URI, 0, 500, true).unwrap()["items"],
        json!([])
    );
    assert_eq!(
        client.inline_completion(URI, 1, 14, true).unwrap()["items"],
        json!([])
    );
    assert_eq!(
        client.inline_completion(URI, 1, u32::MAX, true).unwrap()["items"],
        json!([])
    );

    // Notifications about unknown documents or with bad ranges are logged and ignored.
    client.change("file:///nowhere.py", 2, range(0, 0, 0, 0), "x");
    client.change(URI, 2, range(9, 0, 9, 1), "x");
    client.change(URI, 3, range(1, 4, 0, 0), "x");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI}}),
    );
    client.notify("textDocument/didOpen", json!({"bogus": true}));
    assert_eq!(
        client.document_text(URI).unwrap(),
        "def f(x):\n    return x 😀\n"
    );

    // Commands: unknown, or without the suggestion id.
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "ghostline.explode", "arguments": ["x"]}),
        )
        .unwrap_err();
    assert!(message(&error).contains("unknown command"), "{error}");
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "ghostline.accept", "arguments": []}),
        )
        .unwrap_err();
    assert!(message(&error).contains("suggestion id"), "{error}");

    // Unknown methods, feedback without ids, a body that is not JSON.
    let error = client
        .request("ghostline/doesNotExist", json!({}))
        .unwrap_err();
    assert_eq!(error["code"], -32601);
    client.notify("textDocument/didShowCompletion", json!({"item": {}}));
    client.notify(
        "textDocument/didPartiallyAcceptCompletion",
        json!({"item": {"command": {"arguments": ["x"]}}}),
    );
    client.send_raw("{this is not json");

    // Still alive and correct.
    let stats = client.stats();
    assert_eq!(stats["openDocuments"], 1, "{stats}");
    assert_eq!(
        client.document_text(URI).unwrap(),
        "def f(x):\n    return x 😀\n"
    );
    client.shutdown();
}

#[test]
fn a_failed_model_load_keeps_the_server_alive_and_says_why() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"modelPath": "/nonexistent/ghostline-model"}));
    let status = client.notification("ghostline/status", |p| p["state"] == "error");
    let status_message = status["message"].as_str().unwrap();
    assert!(
        status_message.contains("/nonexistent/ghostline-model"),
        "the message names the path: {status}"
    );
    client.open(URI, "python", "def f(x):\n    \n");
    let answer = client.inline_completion(URI, 1, 4, true).unwrap();
    assert_eq!(answer["items"], json!([]));
    let stats = client.stats();
    assert_eq!(stats["modelState"], "error");
    assert!(
        stats["last"]["reason"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/ghostline-model"),
        "{stats}"
    );
    client.shutdown();
}

#[test]
fn bad_settings_warn_and_keep_the_defaults() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(
        None,
        json!({"enable": false, "debounceMs": "fast", "maxLines": -3, "colour": "red"}),
    );
    let warning = client.notification("window/showMessage", |p| {
        p["message"].as_str().unwrap_or("").contains("debounce_ms")
    });
    assert_eq!(warning["type"], 2, "a warning: {warning}");
    client.notification("window/showMessage", |p| {
        p["message"].as_str().unwrap_or("").contains("\"colour\"")
    });

    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"ghostline": {"device": "tpu"}}}),
    );
    let warning = client.notification("window/showMessage", |p| {
        p["message"].as_str().unwrap_or("").contains("device")
    });
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("\"auto\", \"cpu\" or \"gpu\""),
        "{warning}"
    );
    client.notify("workspace/didChangeConfiguration", json!({"settings": 42}));
    client.notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .unwrap_or("")
            .contains("expected an object")
    });
    assert_eq!(client.stats()["modelState"], "disabled");
    client.shutdown();
}
