//! Protocol torture test: well over 100,000 random and malformed messages from a seeded generator
//! against the real binary over stdio — bad JSON, JSON that is not JSON-RPC, wrong types, huge
//! numbers, out-of-range and mid-surrogate positions, edits to unknown and closed documents,
//! unknown methods, bad Content-Length headers, requests before `initialize` and after
//! `shutdown`. The server must never crash or hang, must answer every request (with a result or
//! an error), and its documents (`ghostline/document`) must match a reference model of the valid
//! edits (`support/reference_doc.rs`) at every checkpoint.
//!
//! Completion runs with `enable: false`, so inline completion requests are answered at once
//! without a model: this test is about the protocol layer, not the model (the load test and
//! `lsp_completion` cover completions). `GHOSTLINE_TORTURE_MESSAGES` and
//! `GHOSTLINE_TORTURE_SEED` change the size and seed.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::reference_doc::{self, Unit};
use support::{LspClient, range};

/// A small, seeded generator (SplitMix64), so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const URIS: [&str; 6] = [
    "file:///torture/a.rs",
    "file:///torture/b.py",
    "file:///torture/%F0%9F%98%80.txt",
    "file:///torture/c%20d.js",
    "untitled:Untitled-1",
    "file:///torture/never-opened.rs",
];

/// Text fragments that stress position conversion: surrogate pairs, CJK, combining marks, every
/// line break LSP knows, U+2028 (not a line break in LSP), tabs, NUL.
const FRAGMENTS: [&str; 14] = [
    "a",
    "fn x() {",
    "}",
    "\n",
    "\r\n",
    "\r",
    "😀",
    "👍🏽",
    "中文",
    "e\u{301}",
    "\u{2028}",
    "\t",
    "\0",
    "    let y = 1;",
];

fn random_text(rng: &mut Rng, max_fragments: u64) -> String {
    (0..rng.below(max_fragments + 1))
        .map(|_| *rng.pick(&FRAGMENTS))
        .collect()
}

/// A coordinate that is usually near the text, sometimes far outside, sometimes at the limits.
fn coordinate(rng: &mut Rng, near: u32) -> Value {
    match rng.below(20) {
        0 => json!(u32::MAX),
        1 => json!(near + 1 + rng.below(3) as u32),
        _ => json!(rng.below(u64::from(near) + 2) as u32),
    }
}

/// Coordinates that are not valid `uinteger`s: the whole message is malformed.
fn bad_coordinate(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(-1),
        json!(4294967296u64),
        json!(1e300),
        json!(1.5),
        json!("3"),
        json!(null),
        json!([0]),
        json!(18446744073709551615u64),
    ])
    .clone()
}

/// What the server should hold, by URI.
struct Reference {
    open: HashMap<String, String>,
}

/// Requests sent and not yet answered, by id (as JSON text), with what the answer must be.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Any result or error.
    Answer,
    /// An error with this code.
    Error(i64),
    /// An error, whatever its code.
    AnyError,
    /// `ghostline/document`: this text, or an error when `None` (not open).
    Document(&'static str, Option<String>),
}

struct Torture {
    client: LspClient,
    rng: Rng,
    reference: Reference,
    pending: HashMap<String, Expect>,
    next_id: i64,
    messages: u64,
    answered: u64,
    null_id_errors: u64,
    document_checks: u64,
    /// Method and params of each request, for failure messages.
    methods: HashMap<String, String>,
    /// Ids named in a `$/cancelRequest` (their answer may be "cancelled").
    cancelled: HashSet<String>,
    /// The code an invalid message with an id is answered with in the current phase.
    invalid_code: i64,
}

impl Torture {
    fn body(&mut self, body: &[u8]) {
        self.client
            .send_bytes(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.client.send_bytes(body);
        self.messages += 1;
    }

    fn notify(&mut self, method: &str, params: Value) {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.body(body.as_bytes());
    }

    fn request(&mut self, method: &str, params: Value, expect: Expect) {
        self.next_id += 1;
        // Mostly numbers, sometimes strings (both are valid ids).
        let id = if self.next_id % 7 == 0 {
            json!(format!("s-{}", self.next_id))
        } else {
            json!(self.next_id)
        };
        self.pending.insert(id.to_string(), expect);
        self.methods
            .insert(id.to_string(), format!("{method} {params}"));
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.body(body.to_string().as_bytes());
    }

    /// Reads whatever has arrived, checking each answer against its expectation.
    fn drain(&mut self, wait: Duration) -> bool {
        let Some(message) = self.client.try_next(wait) else {
            return false;
        };
        if message.get("method").is_some() {
            return true; // a notification (status, log, showMessage) or a server request
        }
        let id = message["id"].clone();
        assert!(
            message.get("result").is_some() != message.get("error").is_some(),
            "an answer has exactly one of result and error: {message}"
        );
        if id.is_null() {
            self.null_id_errors += 1;
            assert!(message.get("error").is_some(), "{message}");
            return true;
        }
        let expect = self
            .pending
            .remove(&id.to_string())
            .unwrap_or_else(|| panic!("an answer to a request never sent: {message}"));
        self.answered += 1;
        if self.cancelled.contains(&id.to_string()) && message["error"]["code"] == json!(-32800) {
            return true; // cancelled by our `$/cancelRequest`: an answer all the same
        }
        match expect {
            Expect::Answer => {}
            Expect::AnyError => assert!(message.get("error").is_some(), "{message}"),
            Expect::Error(code) => {
                assert_eq!(message["error"]["code"], json!(code), "{message}");
            }
            Expect::Document(uri, expected) => {
                self.document_checks += 1;
                match expected {
                    Some(text) => assert_eq!(
                        message["result"]["text"].as_str(),
                        Some(text.as_str()),
                        "{uri}: document state differs from the reference model: {message}"
                    ),
                    None => assert!(
                        message.get("error").is_some(),
                        "{uri} should not be open: {message}"
                    ),
                }
            }
        }
        true
    }

    /// Waits until every request so far is answered (the server must never hang).
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.pending.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{} requests unanswered after 120 s, e.g. {:?}; stderr tail:\n{}",
                self.pending.len(),
                self.pending
                    .keys()
                    .take(5)
                    .map(|id| (id, self.cancelled.contains(id), self.methods.get(id)))
                    .collect::<Vec<_>>(),
                tail(&self.client.stderr())
            );
            self.drain(Duration::from_millis(200));
        }
        while self.drain(Duration::from_millis(0)) {}
    }

    /// Asks for every URI's document and expects the reference text (or "not open"), then waits
    /// for the answers before sending more: handlers run concurrently, so a `ghostline/document`
    /// answer reflects the edits applied when its handler runs, which may include later ones.
    fn check_documents(&mut self) {
        for uri in URIS {
            let expected = self.reference.open.get(uri).cloned();
            self.request(
                "ghostline/document",
                json!({"uri": uri}),
                Expect::Document(uri, expected),
            );
        }
        self.settle();
    }

    fn uri(&mut self) -> String {
        self.rng.pick(&URIS[..5]).to_string()
    }

    /// One random message of the main phase (after `initialize`).
    fn random_message(&mut self) {
        match self.rng.below(100) {
            0..=4 => self.did_open(),
            5..=44 => self.did_change(),
            45..=47 => self.did_close(),
            48..=55 => self.malformed_sync(),
            56..=63 => {
                let uri = if self.rng.chance(80) {
                    self.uri()
                } else {
                    "file:///nowhere".into()
                };
                let position = json!({"line": coordinate(&mut self.rng, 5), "character": coordinate(&mut self.rng, 12)});
                let kind = 1 + self.rng.below(2);
                self.request(
                    "textDocument/inlineCompletion",
                    json!({"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": kind}}),
                    Expect::Answer,
                );
            }
            64..=66 => {
                let method = self
                    .rng
                    .pick(&["ghostline/unknown", "textDocument/hover", "foo", "", "$/x"])
                    .to_string();
                let expect = match method.as_str() {
                    "$/x" | "" => Expect::Answer,
                    // Known to tower-lsp-server (unimplemented here): params are checked first.
                    "textDocument/hover" => Expect::AnyError,
                    _ => Expect::Error(-32601),
                };
                self.request(&method, json!({"x": 1}), expect);
            }
            67..=69 => {
                // Known methods with params of the wrong shape.
                let method = self
                    .rng
                    .pick(&[
                        "textDocument/inlineCompletion",
                        "ghostline/document",
                        "workspace/executeCommand",
                    ])
                    .to_string();
                let params = self
                    .rng
                    .pick(&[
                        json!(null),
                        json!([1, 2]),
                        json!({"textDocument": 5}),
                        json!("x"),
                        json!({"uri": 7}),
                    ])
                    .clone();
                self.request(&method, params, Expect::Answer);
            }
            70..=71 => {
                let command = self
                    .rng
                    .pick(&["ghostline.accept", "ghostline.reject", "rm -rf /"])
                    .to_string();
                let argument = self
                    .rng
                    .pick(&[
                        json!("gl-0-0"),
                        json!(null),
                        json!({"id": 1e300}),
                        json!([]),
                    ])
                    .clone();
                self.request(
                    "workspace/executeCommand",
                    json!({"command": command, "arguments": [argument]}),
                    Expect::Answer,
                );
            }
            72..=73 => self.request("ghostline/stats", Value::Null, Expect::Answer),
            74 => self.request("initialize", json!({"capabilities": {}}), Expect::Answer),
            75..=77 => {
                let settings = self
                    .rng
                    .pick(&[
                        json!({"ghostline": {"debounceMs": "soon", "maxLines": -3}}),
                        json!({"maxTokens": 1e300, "modelPath": 42, "device": "quantum"}),
                        json!({"ghostline": {"logLevel": "nonsense[", "nInvoked": [1]}}),
                        json!(null),
                        json!([1, 2, 3]),
                        json!({"ghostline": {"debounceMs": 5, "enable": false}}),
                    ])
                    .clone();
                self.notify(
                    "workspace/didChangeConfiguration",
                    json!({"settings": settings}),
                );
            }
            78..=79 => {
                let id = json!(self.rng.below(self.next_id as u64 + 10));
                self.cancelled.insert(id.to_string());
                self.notify("$/cancelRequest", json!({"id": id}));
            }
            80..=84 => self.bad_body(),
            85..=87 => self.bad_header(),
            88..=91 => {
                // Feedback notifications with junk.
                let method = self
                    .rng
                    .pick(&[
                        "textDocument/didShowCompletion",
                        "textDocument/didPartiallyAcceptCompletion",
                        "ghostline/reject",
                    ])
                    .to_string();
                let params = self.rng.pick(&[json!({}), json!({"item": {"insertText": "x", "command": {"title": "", "command": "ghostline.accept", "arguments": ["gl-9-9"]}}, "acceptedLength": 4294967295u64}), json!(null)]).clone();
                self.notify(&method, params);
            }
            92..=93 => self.notify(
                "ghostline/unknownNotification",
                json!({"a": [1, {"b": null}]}),
            ),
            _ => self.notify(
                "textDocument/didSave",
                json!({"textDocument": {"uri": "file:///torture/a.rs"}}),
            ),
        }
    }

    fn did_open(&mut self) {
        let uri = self.uri();
        let text = random_text(&mut self.rng, 30);
        self.reference.open.insert(uri.clone(), text.clone());
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        );
    }

    fn did_close(&mut self) {
        let uri = self.uri();
        self.reference.open.remove(&uri);
        self.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
    }

    fn did_change(&mut self) {
        let uri = self.uri();
        let mut changes = Vec::new();
        let mut model = self.reference.open.get(&uri).cloned();
        for _ in 0..1 + self.rng.below(3) {
            let text = random_text(&mut self.rng, 3);
            if self.rng.chance(3) {
                changes.push(json!({"text": text}));
                if let Some(model) = &mut model {
                    reference_doc::apply(model, None, &text, Unit::Utf16);
                }
                continue;
            }
            let lines = model.as_deref().map_or(3, |m| m.lines().count() as u32 + 1);
            let [a, b, c, d] = [
                coordinate(&mut self.rng, lines),
                coordinate(&mut self.rng, 14),
                coordinate(&mut self.rng, lines),
                coordinate(&mut self.rng, 14),
            ];
            let (a, b, c, d) = (
                a.as_u64().unwrap() as u32,
                b.as_u64().unwrap() as u32,
                c.as_u64().unwrap() as u32,
                d.as_u64().unwrap() as u32,
            );
            // Mostly forward ranges; some inverted on purpose.
            let ((a, b), (c, d)) = if (a, b) <= (c, d) || self.rng.chance(10) {
                ((a, b), (c, d))
            } else {
                ((c, d), (a, b))
            };
            changes.push(json!({"range": range(a, b, c, d), "text": text}));
            if let Some(model) = &mut model {
                reference_doc::apply(model, Some(((a, b), (c, d))), &text, Unit::Utf16);
            }
        }
        if let Some(model) = model {
            self.reference.open.insert(uri.clone(), model);
        }
        let version = self.rng.below(1 << 20) as i32; // not always increasing: applied anyway
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        );
    }

    /// Sync notifications whose params do not parse: ignored whole (no change may apply).
    fn malformed_sync(&mut self) {
        let uri = self.uri();
        let bad = bad_coordinate(&mut self.rng);
        let params = match self.rng.below(6) {
            0 => {
                json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": bad, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "X"}]})
            }
            1 => {
                json!({"textDocument": {"uri": uri, "version": "2"}, "contentChanges": [{"text": "X"}]})
            }
            2 => {
                json!({"textDocument": {"uri": uri, "version": 4294967296u64}, "contentChanges": [{"text": "X"}]})
            }
            3 => json!({"textDocument": {"uri": uri}, "contentChanges": "X"}),
            4 => json!({"textDocument": {"uri": 5, "languageId": "x", "version": 1, "text": "X"}}),
            _ => {
                json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 0, "character": bad}}, "text": "X"}]})
            }
        };
        let method = if self.rng.chance(70) {
            "textDocument/didChange"
        } else {
            "textDocument/didOpen"
        };
        self.notify(method, params);
    }

    /// Bodies that are not JSON, or JSON that is not a JSON-RPC message.
    fn bad_body(&mut self) {
        self.next_id += 1;
        let id = self.next_id;
        let body: String = match self.rng.below(8) {
            0 => "{".into(),
            1 => "not json at all".into(),
            2 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ghostline/stats""#),
            3 => "[1,2,3]".into(),
            4 => "{}".into(),
            5 => format!(r#"{{"jsonrpc":"1.0","id":{id},"method":"ghostline/stats"}}"#),
            6 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":17}}"#),
            _ => "\u{0}\u{1}\u{7f}".into(),
        };
        // Invalid messages that carry a usable id are answered with an error for that id.
        if matches!(body.as_str(), b if b.starts_with("{\"jsonrpc\"") && b.ends_with('}')) {
            self.pending
                .insert(json!(id).to_string(), Expect::Error(self.invalid_code));
        }
        self.body(body.as_bytes());
    }

    /// Broken framing; the message after it must still get through.
    fn bad_header(&mut self) {
        let body = r#"{"jsonrpc":"2.0","method":"ghostline/unknownNotification"}"#;
        let bytes: Vec<u8> = match self.rng.below(6) {
            0 => format!("Content-Length: abc\r\n\r\n{body}").into_bytes(),
            1 => format!("Content-Length: -5\r\n\r\n{body}").into_bytes(),
            2 => format!("Content-Length: 99999999999999999999999\r\n\r\n{body}").into_bytes(),
            3 => format!("X-Nothing: 1\r\n\r\n{body}").into_bytes(),
            // Shorter than the body: the rest is garbage before the next header.
            4 => format!("Content-Length: 10\r\n\r\n{body}").into_bytes(),
            _ => {
                let mut bytes = b"Content-Length: \xff\xfe\r\n\r\n".to_vec();
                bytes.extend_from_slice(body.as_bytes());
                bytes
            }
        };
        self.client.send_bytes(&bytes);
        self.messages += 1;
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn the_server_survives_a_protocol_torture_and_keeps_its_documents_right() {
    let total: u64 = std::env::var("GHOSTLINE_TORTURE_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("GHOSTLINE_TORTURE_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x6057_11AE);
    let started = Instant::now();
    let client = LspClient::spawn(&["--log-level", "error"], &[]);
    let pid = client.pid();
    let mut torture = Torture {
        client,
        rng: Rng(seed),
        reference: Reference {
            open: HashMap::new(),
        },
        pending: HashMap::new(),
        next_id: 0,
        messages: 0,
        answered: 0,
        null_id_errors: 0,
        document_checks: 0,
        cancelled: HashSet::new(),
        methods: HashMap::new(),
        // Before initialize every request is refused as "not initialized", invalid ones too.
        invalid_code: -32002,
    };

    // Before initialize: requests are refused (-32002), notifications change nothing.
    for _ in 0..300 {
        match torture.rng.below(4) {
            0 => torture.request("ghostline/stats", Value::Null, Expect::Error(-32002)),
            // tower-lsp-server checks params before the state: "invalid params" is fine too.
            1 => torture.request("textDocument/inlineCompletion", json!({}), Expect::AnyError),
            2 => {
                let uri = torture.uri();
                torture.notify("textDocument/didOpen", json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": "early"}}));
            }
            _ => torture.bad_body(),
        }
    }
    torture.settle();

    torture.next_id += 1;
    let init_id = torture.next_id;
    let init = json!({"jsonrpc": "2.0", "id": init_id, "method": "initialize",
        "params": {"capabilities": {}, "initializationOptions": {"enable": false}}});
    torture.body(init.to_string().as_bytes());
    torture
        .pending
        .insert(json!(init_id).to_string(), Expect::Answer);
    torture.settle();
    torture.notify("initialized", json!({}));
    torture.invalid_code = -32600;
    torture.check_documents(); // nothing opened before initialize may exist

    let mut since_check = 0;
    while torture.messages < total {
        torture.random_message();
        since_check += 1;
        if since_check >= 2_000 {
            since_check = 0;
            torture.check_documents();
        }
    }
    torture.check_documents();
    torture.settle();
    let main_phase = started.elapsed();

    let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        });

    // After shutdown: requests are refused (-32600), then `exit` ends the process cleanly.
    torture.request("shutdown", Value::Null, Expect::Answer);
    torture.settle();
    for _ in 0..200 {
        match torture.rng.below(3) {
            0 => torture.request("ghostline/stats", Value::Null, Expect::Error(-32600)),
            1 => torture.did_change(),
            _ => torture.bad_body(),
        }
    }
    torture.settle();
    torture.notify("exit", Value::Null);
    let status = torture.client.wait_exit(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "the server did not exit cleanly after exit: {status:?}"
    );
    assert!(
        !torture.client.stderr().contains("panicked"),
        "a panic was logged:\n{}",
        tail(&torture.client.stderr())
    );

    let distinct: HashSet<&str> = torture.reference.open.keys().map(String::as_str).collect();
    eprintln!(
        "torture: seed {seed:#x}, {} messages, {} requests answered, {} id-null errors, {} document checks, \
         {} documents open at the end, main phase {:.1} s, server RSS {:?} KiB",
        torture.messages,
        torture.answered,
        torture.null_id_errors,
        torture.document_checks,
        distinct.len(),
        main_phase.as_secs_f64(),
        rss_kib
    );
    assert!(torture.messages >= total);
    assert!(torture.document_checks >= URIS.len() as u64 * (total / 2_000));
}

/// Regression (found by this torture test): a body that is JSON but not a JSON-RPC message
/// (`[1,2,3]`, `{}`, a wrong `jsonrpc` version) ended tower-lsp-server's read loop and the
/// server stopped; a request-shaped one must also be answered with an error for its id.
#[test]
fn json_that_is_not_json_rpc_is_answered_and_the_server_keeps_reading() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"enable": false}));
    client.send_raw("[1,2,3]");
    client.send_raw("{}");
    client.send_raw(r#"{"jsonrpc":"1.0","id":"old","method":"ghostline/stats"}"#);
    let error = client.response_to(json!("old")).unwrap_err();
    assert_eq!(error["code"], -32600, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not a JSON-RPC 2.0 message"),
        "{error}"
    );
    assert_eq!(client.stats()["openDocuments"], 0);
    client.shutdown();
}

/// Regression (found by this torture test): tower-lsp-server drops its "method not found"
/// answer to requests whose method starts with `$/`, so such a request was never answered.
#[test]
fn dollar_requests_are_answered_method_not_found() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"enable": false}));
    let error = client.request("$/unknownRequest", json!({})).unwrap_err();
    assert_eq!(error["code"], -32601, "{error}");
    client.shutdown();
}

/// Regression (found reviewing the input check for the fuzz target): a header line that is not
/// UTF-8 ended the input, and garbage glued to the next header lost that message.
#[test]
fn broken_headers_lose_nothing_after_them() {
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(None, json!({"enable": false}));
    client.send_bytes(b"Content-Length: \xff\r\n\r\n");
    client.send_bytes(b"Content-Length: 5\r\n\r\n{}{}{}garbage");
    let stats = client
        .request("ghostline/stats", Value::Null)
        .expect("stats answered");
    assert_eq!(stats["openDocuments"], 0);
    client.shutdown();
}
