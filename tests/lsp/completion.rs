//! End-to-end inline completion through the real binary and the real engine: with the embedded
//! model (structure and consistency of the answers, never specific text) and, where a test needs
//! some suggestion whatever the embedded model's training state, with a seeded random model
//! directory loaded through `modelPath` (deterministic, non-empty output).

mod support;

use serde_json::{Value, json};
use support::{LspClient, TempDir, range, utf16_len};

const SAMPLE: &str = include_str!("fixtures/sample.rs");
const URI: &str = "file:///tmp/ghostline-e2e/sample.rs";

/// Positions (0-based line, UTF-32 column) worth asking at in the sample: blank lines in bodies
/// and ends of statements.
fn sample_positions() -> Vec<(u32, u32)> {
    let mut positions = Vec::new();
    for (index, line) in SAMPLE.lines().enumerate() {
        if line.trim().is_empty() && line.len() >= 4 {
            positions.push((index as u32, line.chars().count() as u32));
        }
    }
    positions.push((29, "    let total = ".chars().count() as u32));
    positions
}

fn start_ready(options: Value, extra_args: &[&str]) -> LspClient {
    let mut client = LspClient::spawn(extra_args, &[]);
    client.initialize(None, options);
    client.wait_ready();
    client
}

/// A server running a seeded random model from a directory (the directory lives as long as the
/// returned guard).
fn start_seeded(
    mut options: Value,
    encodings: Option<&[&str]>,
    extra_args: &[&str],
) -> (LspClient, TempDir) {
    let dir = TempDir::new("seeded-model");
    let model_dir = dir.0.join("model");
    support::seeded_model::write_seeded_model(&model_dir, 7);
    options["modelPath"] = json!(model_dir.to_str().unwrap());
    let mut client = LspClient::spawn(extra_args, &[]);
    client.initialize(encodings, options);
    client.wait_ready();
    (client, dir)
}

/// Checks the structure of an `InlineCompletionList` answered at (line, character).
fn check_items(answer: &Value, line: u32, character: u32) -> Vec<Value> {
    let items = answer["items"]
        .as_array()
        .expect("an InlineCompletionList with items")
        .clone();
    let mut seen_ids = Vec::new();
    let mut seen_texts = Vec::new();
    for item in &items {
        let text = item["insertText"].as_str().expect("insertText is a string");
        assert!(!text.trim().is_empty(), "never an empty item: {item}");
        assert!(
            !seen_texts.contains(&text.to_string()),
            "alternatives are deduplicated: {answer}"
        );
        seen_texts.push(text.to_string());
        let range = &item["range"];
        assert_eq!(
            range["start"],
            json!({"line": line, "character": character}),
            "{item}"
        );
        assert_eq!(
            range["end"]["line"], line,
            "the range stays on the cursor's line: {item}"
        );
        assert!(range["end"]["character"].as_u64() >= Some(character as u64));
        assert_eq!(item["command"]["command"], "ghostline.accept");
        let id = item["command"]["arguments"][0]
            .as_str()
            .expect("suggestion id")
            .to_string();
        assert!(!seen_ids.contains(&id), "ids are unique");
        seen_ids.push(id);
    }
    items
}

/// Asks at every sample position until one gives items; returns (line, character, items).
fn first_suggestion(client: &mut LspClient, uri: &str, invoked: bool) -> (u32, u32, Vec<Value>) {
    for (line, character) in sample_positions() {
        let answer = client
            .inline_completion(uri, line, character, invoked)
            .expect("the request succeeds");
        let items = check_items(&answer, line, character);
        if !items.is_empty() {
            return (line, character, items);
        }
    }
    panic!(
        "the real model suggested nothing at any sample position; stats: {}",
        client.stats()
    );
}

#[test]
fn the_embedded_model_answers_on_a_real_file() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({}));
    let status = client.notification("ghostline/status", |p| {
        p["state"] == "ready" || p["state"] == "error"
    });
    assert_eq!(status["state"], "ready", "{status}");
    assert_eq!(status["model"], "embedded-default", "{status}");
    // The load was reported as work-done progress (the test client advertises support).
    let begin = client.notification("$/progress", |p| p["value"]["kind"] == "begin");
    assert_eq!(begin["value"]["title"], "ghostline", "{begin}");
    client.notification("$/progress", |p| p["value"]["kind"] == "end");
    client.open(URI, "rust", SAMPLE);
    for (line, character) in sample_positions() {
        let answer = client
            .inline_completion(URI, line, character, true)
            .expect("the request succeeds");
        assert!(
            check_items(&answer, line, character).len() <= 3,
            "at most n_invoked alternatives"
        );
        let last = &client.stats()["last"];
        assert!(
            last["outcome"] == "completed" || last["outcome"] == "empty",
            "{last}"
        );
    }
    assert!(client.stats()["modelCalls"].as_u64().unwrap() >= 1);
    client.shutdown();
}

#[test]
fn inline_completion_ranges_use_each_negotiated_encoding() {
    for encoding in ["utf-16", "utf-8", "utf-32"] {
        let (mut client, _model) = start_seeded(json!({}), Some(&[encoding]), &[]);
        client.open(URI, "rust", SAMPLE);
        let (_, _, items) = first_suggestion(&mut client, URI, true);
        assert!(items.len() <= 3, "at most n_invoked alternatives");

        // A cursor after non-ASCII text: the range must come back in the negotiated unit.
        let line_text = "    let greeting = \"héllo 😀\"; let n = ";
        let line = 15u32;
        client.change(URI, 2, range(line, 0, line, 99), line_text);
        let character = match encoding {
            "utf-8" => line_text.len() as u32,
            "utf-16" => utf16_len(line_text),
            _ => line_text.chars().count() as u32,
        };
        let answer = client
            .inline_completion(URI, line, character, true)
            .expect("request succeeds");
        assert!(
            !check_items(&answer, line, character).is_empty(),
            "{answer}"
        );
        client.shutdown();
    }
}

#[test]
fn automatic_requests_get_at_most_one_item_and_timings() {
    let mut client = start_ready(json!({"debounceMs": 0}), &[]);
    client.open(URI, "rust", SAMPLE);
    for (line, character) in sample_positions() {
        let answer = client
            .inline_completion(URI, line, character, false)
            .unwrap();
        assert!(check_items(&answer, line, character).len() <= 1);
        let last = &client.stats()["last"];
        let timings = &last["timingsMs"];
        for stage in [
            "context_ms",
            "tokenize_ms",
            "prefill_ms",
            "decode_ms",
            "postprocess_ms",
            "total_ms",
        ] {
            assert!(timings[stage].as_f64().is_some(), "{stage} in {last}");
        }
        if last["modelCalled"] == true {
            let model_ms =
                timings["prefill_ms"].as_f64().unwrap() + timings["decode_ms"].as_f64().unwrap();
            assert!(
                model_ms > 0.0,
                "the model's own timings are reported: {last}"
            );
        }
    }
    client.shutdown();
}

#[test]
fn a_superseded_request_answers_empty_and_the_newer_one_answers() {
    // A long debounce makes the race deterministic: the first request is still waiting when
    // the second arrives.
    let mut client = start_ready(json!({"debounceMs": 400}), &[]);
    client.open(URI, "rust", SAMPLE);
    let first = client.send_inline_completion(URI, 15, 4, true);
    let second = client.send_inline_completion(URI, 22, 8, true);
    let first_answer = client
        .response(first)
        .expect("superseded requests answer, not error");
    assert_eq!(
        first_answer["items"],
        json!([]),
        "the superseded request answers an empty list"
    );
    let second_answer = client.response(second).expect("the newer request answers");
    check_items(&second_answer, 22, 8);
    assert_eq!(
        client.stats()["last"]["outcome"],
        json!(if second_answer["items"] == json!([]) {
            "empty"
        } else {
            "completed"
        })
    );

    // An edit to the document cancels the request in flight too.
    let third = client.send_inline_completion(URI, 15, 4, true);
    client.change(URI, 2, range(0, 0, 0, 0), "// edited\n");
    assert_eq!(client.response(third).unwrap()["items"], json!([]));
    let stats = client.stats();
    assert_eq!(stats["cancelled"], 2, "{stats}");
    client.shutdown();
}

#[test]
fn typing_as_suggested_is_served_from_the_cache() {
    let (mut client, _model) = start_seeded(json!({}), None, &[]);
    client.open(URI, "rust", SAMPLE);
    let mut version = 1;
    for (line, character) in sample_positions() {
        let answer = client
            .inline_completion(URI, line, character, true)
            .unwrap();
        let items = check_items(&answer, line, character);
        let Some(first) = items.first() else { continue };
        let text = first["insertText"].as_str().unwrap().to_string();
        // Type the suggestion's first char (skipping suggestions that start with a newline,
        // whose typing an editor would auto-indent).
        let typed: String = text.chars().take(1).collect();
        let rest: String = text.chars().skip(1).collect();
        if typed == "\n" || rest.trim().is_empty() {
            continue;
        }
        let model_calls_before = client.stats()["modelCalls"].as_u64().unwrap();
        version += 1;
        client.change(
            URI,
            version,
            range(line, character, line, character),
            &typed,
        );
        let character_after = character + utf16_len(&typed);
        let answer = client
            .inline_completion(URI, line, character_after, true)
            .unwrap();
        let items_after = check_items(&answer, line, character_after);
        assert_eq!(
            items_after[0]["insertText"], rest,
            "the rest of the suggestion: {answer}"
        );
        let stats = client.stats();
        assert_eq!(stats["last"]["fromCache"], true, "{stats}");
        assert_eq!(stats["last"]["modelCalled"], false, "{stats}");
        assert_eq!(
            stats["modelCalls"].as_u64().unwrap(),
            model_calls_before,
            "no model call: {stats}"
        );
        client.shutdown();
        return;
    }
    panic!(
        "no suggestion to type along with; stats: {}",
        client.stats()
    );
}

#[test]
fn show_partial_accept_reject_are_accepted_and_accept_speculates() {
    let logs = TempDir::new("feedback");
    let log_file = logs.0.join("server.log");
    let (mut client, _model) =
        start_seeded(json!({}), None, &["--log-file", log_file.to_str().unwrap()]);
    client.open(URI, "rust", SAMPLE);
    let (line, character, items) = first_suggestion(&mut client, URI, true);
    let item = items[0].clone();
    let id = item["command"]["arguments"][0]
        .as_str()
        .unwrap()
        .to_string();

    client.notify("textDocument/didShowCompletion", json!({"item": item}));
    client.notify(
        "textDocument/didPartiallyAcceptCompletion",
        json!({"item": item, "acceptedLength": 1}),
    );
    // The editor inserts the suggestion, then runs the item's command.
    let end = item["range"]["end"]["character"].as_u64().unwrap() as u32;
    let text = item["insertText"].as_str().unwrap();
    client.change(URI, 2, range(line, character, line, end), text);
    let accepted = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.accept", "arguments": [id]}),
    );
    assert_eq!(accepted, Ok(Value::Null));
    // Unknown ids are not errors.
    client.notify("ghostline/reject", json!({"id": "gl-unknown"}));
    let rejected = client.request(
        "workspace/executeCommand",
        json!({"command": "ghostline.reject", "arguments": [id]}),
    );
    assert_eq!(rejected, Ok(Value::Null));

    let stats = client.stats();
    assert_eq!(stats["shown"], 1, "{stats}");
    assert_eq!(stats["partiallyAccepted"], 1, "{stats}");
    assert_eq!(stats["accepted"], 1, "{stats}");
    assert_eq!(stats["rejected"], 2, "{stats}");
    assert_eq!(stats["unknownSuggestionIds"], 1, "{stats}");

    // Ask where the editor's cursor now is: the speculative suggestion answers without a new
    // model call (or the position declines automatic suggestions altogether).
    let model_calls = stats["modelCalls"].as_u64().unwrap();
    let (end_line, end_character) = {
        let newlines = text.matches('\n').count() as u32;
        let last = text.rsplit('\n').next().unwrap();
        if newlines == 0 {
            (line, character + utf16_len(text))
        } else {
            (line + newlines, utf16_len(last))
        }
    };
    let answer = client
        .inline_completion(URI, end_line, end_character, false)
        .unwrap();
    check_items(&answer, end_line, end_character);
    let stats = client.stats();
    if stats["last"]["outcome"] != "skipped" {
        assert_eq!(stats["speculativeStarted"], 1, "{stats}");
        assert_eq!(
            stats["modelCalls"].as_u64().unwrap(),
            model_calls,
            "served by the speculation: {stats}"
        );
        assert_eq!(stats["last"]["fromCache"], true, "{stats}");
    }
    client.shutdown();

    let log = std::fs::read_to_string(&log_file).unwrap();
    for needle in [
        format!("feedback event=show id={id}"),
        format!("feedback event=partial_accept id={id} accepted_length=1"),
        format!("feedback event=accept id={id}"),
        format!("feedback event=reject id={id}"),
        "feedback event=reject id=gl-unknown".to_string(),
    ] {
        assert!(
            log.contains(&needle),
            "missing {needle:?} in the log:\n{log}"
        );
    }
}

/// A document over 1 MiB is not parsed in the read loop: opening parses it in the background,
/// and after a keystroke the completion that needs its tree rebuilds it off the read loop; the
/// server keeps both. A small document is reparsed at each change.
#[test]
fn a_big_documents_tree_is_rebuilt_by_the_completion_that_needs_it() {
    const BIG: &str = "file:///tmp/ghostline-e2e/big.rs";
    let mut client = start_ready(json!({"debounceMs": 0}), &[]);
    let lines = 60_000;
    let text: String = (0..lines)
        .map(|n| format!("fn f{n}() -> u64 {{ {n} }}\n"))
        .collect();
    assert!(text.len() > 1 << 20);
    client.open(BIG, "rust", &text);
    let has_tree = |client: &mut LspClient, uri: &str| {
        client.request("ghostline/document", json!({"uri": uri})).unwrap()["syntaxTree"].clone()
    };
    // Opening parses in the background.
    let waited = std::time::Instant::now();
    while has_tree(&mut client, BIG) != true {
        assert!(waited.elapsed().as_secs() < 60, "the background parse never landed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let typed = "fn g() -> u64 { f1() + ";
    client.change(BIG, 2, range(lines, 0, lines, 0), typed);
    assert_eq!(has_tree(&mut client, BIG), false, "the reparse waits");
    let answer = client.inline_completion(BIG, lines, utf16_len(typed), true);
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(has_tree(&mut client, BIG), true, "the completion's parse is kept");
    let document = client.document_text(BIG).unwrap();
    assert!(document.ends_with(&format!("fn f{}() -> u64 {{ {} }}\n{typed}", lines - 1, lines - 1)));

    client.open(URI, "rust", SAMPLE);
    client.change(URI, 2, range(0, 0, 0, 0), "// x\n");
    assert_eq!(has_tree(&mut client, URI), true, "a small document is reparsed at once");
    client.shutdown();
}
