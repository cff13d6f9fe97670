//! In-process LSP tests with the scripted test double: behaviour that needs a model that is slow,
//! panics or answers known text (the product and the end-to-end tests use the real model).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

use super::{LspOptions, serve};
use crate::feedback::{FeedbackEvent, FeedbackKind, FeedbackSink, Receipt};
use crate::model::{CompletionModel, ModelLoader, ModelSpec};
use crate::test_model::ScriptedModel;

struct Client {
    writer: DuplexStream,
    reader: BufReader<DuplexStream>,
    next_id: i64,
    backlog: Vec<Value>,
}

impl Client {
    async fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{}", body.len(), body);
        self.writer.write_all(frame.as_bytes()).await.unwrap();
    }

    async fn read(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    async fn request_id(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    async fn response(&mut self, id: i64) -> Value {
        let deadline = Duration::from_secs(20);
        tokio::time::timeout(deadline, async {
            loop {
                let message = self.read().await;
                if message.get("method").is_none() && message["id"] == json!(id) {
                    return message;
                }
                self.backlog.push(message);
            }
        })
        .await
        .expect("a response in time")
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.request_id(method, params).await;
        self.response(id).await
    }

    async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    async fn wait_status(&mut self, state: &str) {
        if self
            .backlog
            .iter()
            .any(|m| m["method"] == "ghostline/status" && m["params"]["state"] == state)
        {
            return;
        }
        loop {
            let message = self.read().await;
            if message["method"] == "ghostline/status" && message["params"]["state"] == state {
                return;
            }
            self.backlog.push(message);
        }
    }
}

#[derive(Default)]
struct RecordingSink(Arc<Mutex<Vec<FeedbackEvent>>>);

impl FeedbackSink for RecordingSink {
    fn record(&self, event: FeedbackEvent) -> Receipt {
        self.0.lock().unwrap().push(event);
        Receipt::none()
    }
}

fn scripted_loader(make: impl Fn() -> ScriptedModel + Send + 'static) -> ModelLoader {
    Box::new(move |_: &ModelSpec| Ok(Box::new(make()) as Box<dyn CompletionModel>))
}

async fn start(loader: ModelLoader, options: Value) -> (Client, Arc<Mutex<Vec<FeedbackEvent>>>) {
    let (client_writer, server_reader) = tokio::io::duplex(1 << 20);
    let (server_writer, client_reader) = tokio::io::duplex(1 << 20);
    let events = Arc::new(Mutex::new(Vec::new()));
    let feedback = Box::new(RecordingSink(events.clone()));
    tokio::spawn(async move {
        serve(
            server_reader,
            server_writer,
            LspOptions { loader, feedback },
        )
        .await
    });
    let mut client = Client {
        writer: client_writer,
        reader: BufReader::new(client_reader),
        next_id: 1,
        backlog: Vec::new(),
    };
    let initialized = client
        .request(
            "initialize",
            json!({"capabilities": {}, "initializationOptions": options}),
        )
        .await;
    assert!(initialized.get("result").is_some(), "{initialized}");
    client.notify("initialized", json!({})).await;
    client.wait_status("ready").await;
    (client, events)
}

const URI: &str = "file:///t/a.rs";

async fn open(client: &mut Client, text: &str) {
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
}

fn completion_params(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character},
           "context": {"triggerKind": 1}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_model_answers_that_request_with_an_error_and_the_server_lives() {
    let loader = scripted_loader(|| {
        let mut model = ScriptedModel::new(&["value"]);
        model.panic_on = Some("PANIC".to_string());
        model
    });
    let (mut client, _) = start(loader, json!({"debounceMs": 0})).await;
    open(&mut client, "let PANIC = \nlet y = \n").await;
    let answer = client
        .request("textDocument/inlineCompletion", completion_params(0, 12))
        .await;
    let message = answer["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("panicked"), "{answer}");
    // The same model thread keeps serving.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "let x = \n"}]}),
        )
        .await;
    let answer = client
        .request("textDocument/inlineCompletion", completion_params(0, 8))
        .await;
    assert_eq!(
        answer["result"]["items"][0]["insertText"], "value",
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_stops_a_running_generation_between_tokens() {
    let loader = scripted_loader(|| {
        let mut model =
            ScriptedModel::new(&["a_very_long_suggestion_that_takes_a_while_to_generate"]);
        model.delay_per_char = Duration::from_millis(50);
        model
    });
    let (mut client, _) = start(loader, json!({"debounceMs": 0})).await;
    open(&mut client, "let x = \n").await;
    let started = std::time::Instant::now();
    let id = client
        .request_id("textDocument/inlineCompletion", completion_params(0, 8))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 8}, "end": {"line": 0, "character": 8}}, "text": "1"}]}),
        )
        .await;
    let answer = client.response(id).await;
    assert_eq!(answer["result"]["items"], json!([]), "{answer}");
    // 53 chars at 50 ms would take 2.6 s; the flag is checked between tokens.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let stats = client.request("ghostline/stats", Value::Null).await;
    assert_eq!(stats["result"]["cancelled"], 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_along_and_accepting_use_no_extra_model_calls_and_feedback_reaches_the_sink() {
    let loader = scripted_loader(|| ScriptedModel::new(&["compute(1, 2);", "total + 1;"]));
    let (mut client, events) = start(loader, json!({"debounceMs": 0, "nAutomatic": 1})).await;
    open(&mut client, "fn f() {\n    let x = \n}\n").await;
    let answer = client
        .request("textDocument/inlineCompletion", completion_params(1, 12))
        .await;
    let items = answer["result"]["items"].as_array().unwrap().clone();
    let texts: Vec<&str> = items
        .iter()
        .map(|item| item["insertText"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["compute(1, 2);", "total + 1;"]);

    // Type "comp": the rest comes from the cache.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 1, "character": 12}, "end": {"line": 1, "character": 12}}, "text": "comp"}]}),
        )
        .await;
    let answer = client
        .request("textDocument/inlineCompletion", completion_params(1, 16))
        .await;
    assert_eq!(
        answer["result"]["items"][0]["insertText"], "ute(1, 2);",
        "{answer}"
    );
    let stats = client.request("ghostline/stats", Value::Null).await["result"].clone();
    assert_eq!(stats["modelCalls"], 1, "{stats}");
    assert_eq!(stats["cacheHits"], 1, "{stats}");

    // Accept it (the editor applies the text first): the next suggestion is speculated.
    let item = answer["result"]["items"][0].clone();
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 3},
                   "contentChanges": [{"range": {"start": {"line": 1, "character": 16}, "end": {"line": 1, "character": 16}}, "text": "ute(1, 2);"}]}),
        )
        .await;
    let id = item["command"]["arguments"][0].clone();
    let accepted = client
        .request(
            "workspace/executeCommand",
            json!({"command": "ghostline.accept", "arguments": [id]}),
        )
        .await;
    assert_eq!(accepted["result"], Value::Null, "{accepted}");
    let params = json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 26}, "context": {"triggerKind": 2}});
    let answer = client
        .request("textDocument/inlineCompletion", params)
        .await;
    assert!(answer["result"]["items"].is_array(), "{answer}");
    let stats = client.request("ghostline/stats", Value::Null).await["result"].clone();
    assert_eq!(stats["speculativeStarted"], 1, "{stats}");
    assert_eq!(stats["modelCalls"], 1, "the speculation answered: {stats}");
    assert_eq!(stats["last"]["fromCache"], true, "{stats}");

    client.notify("ghostline/reject", json!({"id": id})).await;
    client.request("ghostline/stats", Value::Null).await;
    let events = events.lock().unwrap().clone();
    let kinds: Vec<FeedbackKind> = events.iter().map(|event| event.kind).collect();
    assert_eq!(kinds, vec![FeedbackKind::Accepted, FeedbackKind::Rejected]);
    assert_eq!(events[0].suggestion_id, id.as_str().unwrap());
    assert!(events[0].suggestion.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selected_completion_menu_item_is_extended_and_keeps_its_range() {
    let model = ScriptedModel::new(&["(1, 2);"]);
    let requests = model.requests.clone();
    let model = Mutex::new(Some(model));
    let loader: ModelLoader = Box::new(move |_: &ModelSpec| {
        Ok(Box::new(model.lock().unwrap().take().expect("loaded once"))
            as Box<dyn CompletionModel>)
    });
    let (mut client, _) = start(loader, json!({"debounceMs": 0, "nInvoked": 1})).await;
    open(&mut client, "let x = com\n").await;
    let params = json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 11},
        "context": {"triggerKind": 1, "selectedCompletionInfo": {
            "range": {"start": {"line": 0, "character": 8}, "end": {"line": 0, "character": 11}}, "text": "compute"}}});
    let answer = client
        .request("textDocument/inlineCompletion", params)
        .await;
    let item = &answer["result"]["items"][0];
    assert_eq!(item["insertText"], "compute(1, 2);", "{answer}");
    assert_eq!(
        item["range"],
        json!({"start": {"line": 0, "character": 8}, "end": {"line": 0, "character": 11}})
    );
    assert!(
        requests.lock().unwrap()[0]
            .prefix
            .ends_with("let x = compute")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_the_generation_and_frees_the_model_thread() {
    let loader = scripted_loader(|| {
        let mut model =
            ScriptedModel::new(&["a_very_long_suggestion_that_takes_a_while_to_generate"]);
        model.delay_per_char = Duration::from_millis(50);
        model
    });
    let (mut client, _) = start(loader, json!({"debounceMs": 0, "nInvoked": 1})).await;
    open(&mut client, "let x = \nlet y = \n").await;
    let id = client
        .request_id("textDocument/inlineCompletion", completion_params(0, 8))
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.notify("$/cancelRequest", json!({"id": id})).await;
    let answer = client.response(id).await;
    assert_eq!(answer["error"]["code"], -32800, "{answer}");
    // The abandoned generation stopped: a new one (2.65 s of scripted tokens) does not queue
    // behind the remaining ~2.5 s of the old one.
    let started = std::time::Instant::now();
    // Another document, so that supersession (same document) cannot be what stopped it.
    let other_uri = "file:///t/b.rs";
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": other_uri, "languageId": "rust", "version": 1, "text": "let z = \n"}}),
        )
        .await;
    let other = json!({"textDocument": {"uri": other_uri}, "position": {"line": 0, "character": 8},
                       "context": {"triggerKind": 1}});
    let answer = client.request("textDocument/inlineCompletion", other).await;
    assert!(
        answer["result"]["items"][0]["insertText"].is_string(),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(4000),
        "{:?}",
        started.elapsed()
    );
}

/// Issue 6: edits arrive through didChange (UTF-16 ranges, non-ASCII), the document's tree is
/// updated incrementally, and the prompt keeps the imports and the enclosing function's header
/// when they lie above the prefix window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_keeps_imports_and_the_enclosing_header_after_incremental_edits() {
    let requests: Arc<Mutex<Vec<crate::model::GenerateRequest>>> = Arc::default();
    let seen = requests.clone();
    let loader = scripted_loader(move || {
        let mut model = ScriptedModel::new(&["let w = 2;"]);
        model.requests = seen.clone();
        model
    });
    let (mut client, _) = start(loader, json!({"debounceMs": 0})).await;
    let body = "    let v = 1;\n".repeat(300);
    open(
        &mut client,
        &format!("use std::fmt;\nfn big() {{\n{body}    \n}}\n"),
    )
    .await;
    // Two edits in one didChange: a comment with an emoji above the function (UTF-16 columns),
    // then text inside the body.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 2},
                   "contentChanges": [
                       {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "text": "// 😀 big\n"},
                       {"range": {"start": {"line": 2, "character": 10}, "end": {"line": 2, "character": 10}}, "text": " // é"}]}),
        )
        .await;
    let answer = client
        .request("textDocument/inlineCompletion", completion_params(303, 4))
        .await;
    assert_eq!(
        answer["result"]["items"][0]["insertText"], "let w = 2;",
        "{answer}"
    );
    let requests = requests.lock().unwrap();
    let prefix = &requests[0].prefix;
    assert!(
        prefix.starts_with("use std::fmt;\nfn big() { // é\n    let v = 1;\n"),
        "{prefix:?}"
    );
    assert!(prefix.ends_with("    let v = 1;\n    "), "{prefix:?}");
    assert!(
        !prefix.contains("😀"),
        "the comment line is neither import nor header: {prefix:?}"
    );
}
