//! End-to-end protocol tests: position encodings, document sync, lifecycle. The model is turned
//! off here (`enable: false`) because none of these need it.

mod support;

use serde_json::json;
use support::{LspClient, range};

const URI: &str = "file:///tmp/ghostline-protocol/sample.rs";

#[test]
fn initialize_negotiates_each_position_encoding_and_uses_it_for_edits() {
    // The line holds an emoji (2 UTF-16 units, 4 UTF-8 bytes) and CJK (1 unit, 3 bytes each).
    let text = "let s = \"😀中\"; // tail\r\nnext\n";
    // (offered encodings, negotiated, column of the `;` after the closing quote in that unit)
    let cases: &[(Option<&[&str]>, &str, u32)] = &[
        (None, "utf-16", 13),
        (Some(&["utf-16"]), "utf-16", 13),
        (Some(&["utf-8", "utf-16"]), "utf-8", 17),
        (Some(&["utf-32"]), "utf-32", 12),
        (Some(&["latin-1", "utf-32"]), "utf-32", 12),
        (Some(&["latin-1"]), "utf-16", 13),
    ];
    for &(offered, expected, semicolon) in cases {
        let mut client = LspClient::spawn(&[], &[]);
        let result = client.initialize(offered, json!({"enable": false}));
        let capabilities = &result["capabilities"];
        assert_eq!(
            capabilities["positionEncoding"], expected,
            "offered {offered:?}"
        );
        assert_eq!(capabilities["inlineCompletionProvider"], true);
        assert_eq!(
            capabilities["textDocumentSync"]["change"], 2,
            "incremental sync"
        );
        let commands = capabilities["executeCommandProvider"]["commands"]
            .as_array()
            .unwrap();
        assert!(
            commands.contains(&json!("ghostline.accept"))
                && commands.contains(&json!("ghostline.reject"))
        );
        assert_eq!(result["serverInfo"]["name"], "ghostline");

        client.open(URI, "rust", text);
        // Insert before the `;`, then replace the emoji+CJK string contents, all in the negotiated unit.
        client.change(URI, 2, range(0, semicolon, 0, semicolon), "!");
        assert_eq!(
            client.document_text(URI).unwrap(),
            "let s = \"😀中\"!; // tail\r\nnext\n",
            "{expected}"
        );
        // A column in the middle of the emoji (UTF-16/UTF-8) is clamped to the emoji's start.
        let inside_emoji = match expected {
            "utf-16" => 10,
            "utf-8" => 11,
            _ => 9,
        };
        client.change(URI, 3, range(0, inside_emoji, 0, inside_emoji), "^");
        assert_eq!(
            client.document_text(URI).unwrap(),
            "let s = \"^😀中\"!; // tail\r\nnext\n",
            "{expected}"
        );
        // A column past the end of a CRLF line is clamped before the line break.
        client.change(URI, 4, range(0, 999, 0, 999), "$");
        assert_eq!(
            client.document_text(URI).unwrap(),
            "let s = \"^😀中\"!; // tail$\r\nnext\n",
            "{expected}"
        );
        client.shutdown();
    }
}

#[test]
fn edits_are_applied_in_arrival_order_and_close_frees_the_document() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"enable": false}));
    client.open(URI, "rust", "");
    // 300 notifications without waiting: any reordering would scramble the text.
    let mut expected = String::new();
    for index in 0..300u32 {
        let ch = char::from(b'a' + (index % 26) as u8);
        client.change(
            URI,
            index as i32 + 2,
            range(0, index, 0, index),
            &ch.to_string(),
        );
        expected.push(ch);
    }
    assert_eq!(client.document_text(URI).unwrap(), expected);
    // A full-text change after incremental ones, then more incremental edits on top of it.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 400}, "contentChanges": [
            {"text": "fn main() {\n}\n"},
            {"range": range(0, 11, 0, 11), "text": "\n    println!(\"é\");"},
            {"range": range(1, 0, 1, 4), "text": "\t"}
        ]}),
    );
    let document = client
        .request("ghostline/document", json!({"uri": URI}))
        .unwrap();
    assert_eq!(document["text"], "fn main() {\n\tprintln!(\"é\");\n}\n");
    assert_eq!(document["version"], 400);

    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    let error = client.document_text(URI).unwrap_err();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown document"),
        "{error}"
    );
    assert_eq!(client.stats()["openDocuments"], 0);
    client.shutdown();
}

#[test]
fn many_incremental_edits_build_the_expected_text() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(Some(&["utf-16"]), json!({"enable": false}));
    client.open(URI, "plaintext", "");
    let mut expected = String::new();
    for index in 0..200u32 {
        let ch = ['a', '😀', '中', '\n'][(index % 4) as usize];
        // Always append at the end: compute the end position in UTF-16.
        let (line, character) = support::end_position_utf16(&expected);
        client.change(
            URI,
            index as i32 + 2,
            range(line, character, line, character),
            &ch.to_string(),
        );
        expected.push(ch);
    }
    assert_eq!(client.document_text(URI).unwrap(), expected);
    client.shutdown();
}

#[test]
fn disabled_server_reports_disabled_and_answers_empty_lists() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"ghostline": {"enable": false}}));
    let status = client.notification("ghostline/status", |_| true);
    assert_eq!(status["state"], "disabled", "{status}");
    client.open(URI, "rust", "fn main() {\n    \n}\n");
    let answer = client.inline_completion(URI, 1, 4, true).unwrap();
    assert_eq!(answer["items"], json!([]));
    assert_eq!(
        client.stats()["last"]["reason"],
        "ghostline is disabled in the settings"
    );
    client.shutdown();
}

#[test]
fn logs_go_to_the_file_named_by_the_environment_and_never_to_stdout() {
    let dir = support::TempDir::new("log-env");
    let log_file = dir.0.join("ghostline.log");
    let mut client = LspClient::spawn(
        &["--log-level", "debug"],
        &[("GHOSTLINE_LOG_FILE", log_file.to_str().unwrap())],
    );
    client.initialize(None, json!({"enable": false}));
    client.open(URI, "rust", "fn main() {}\n");
    client.shutdown();
    let log = std::fs::read_to_string(&log_file).expect("the log file exists");
    assert!(
        log.contains("initialize") && log.contains("didOpen"),
        "{log}"
    );
}
