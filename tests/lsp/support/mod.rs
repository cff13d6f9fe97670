//! A small LSP client for end-to-end tests: spawns the real `ghostline` binary and speaks
//! JSON-RPC over its stdio.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod reference_doc;
pub mod seeded_model;

/// Path of the binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_ghostline");

/// How long any single wait may take (the real model loads and runs on 2 CPU cores).
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// A running server and the client side of its connection.
pub struct LspClient {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    /// Notifications and server requests received while waiting for something else.
    pub backlog: VecDeque<Value>,
    next_id: i64,
    stderr: Arc<Mutex<String>>,
}

impl LspClient {
    /// Starts `ghostline lsp` with extra arguments and environment.
    pub fn spawn(extra_args: &[&str], env: &[(&str, &str)]) -> LspClient {
        let mut command = Command::new(BINARY);
        command
            .arg("lsp")
            .args(extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Feedback goes to a per-run scratch data directory unless a test chooses one, never
        // into the real user's ~/.local/share.
        if !env.iter().any(|(key, _)| *key == "XDG_DATA_HOME") {
            command.env(
                "XDG_DATA_HOME",
                std::env::temp_dir().join(format!("ghostline-test-data-{}", std::process::id())),
            );
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawning ghostline lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buffer) {
                if n == 0 {
                    return;
                }
                stderr_sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        LspClient {
            child,
            stdin,
            messages,
            backlog: VecDeque::new(),
            next_id: 1,
            stderr,
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no flushing) and waits for it to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Responses (to any request) already received, removed from the backlog: id → result or error.
    pub fn take_responses(&mut self) -> Vec<(i64, Result<Value, Value>)> {
        while let Ok(message) = self.messages.try_recv() {
            self.backlog.push_back(message);
        }
        let mut responses = Vec::new();
        self.backlog.retain(|message| {
            if message.get("method").is_none()
                && let Some(id) = message["id"].as_i64()
            {
                let result = match message.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(message["result"].clone()),
                };
                responses.push((id, result));
                return false;
            }
            true
        });
        responses
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Writes bytes as they are, framing included (for malformed-header tests).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
    }

    /// The next message from the server (answering server requests), or `None` after `wait`.
    pub fn try_next(&mut self, wait: Duration) -> Option<Value> {
        match self.messages.recv_timeout(wait) {
            Ok(message) => {
                if message.get("method").is_some() && message.get("id").is_some() {
                    let id = message["id"].clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
                }
                Some(message)
            }
            Err(_) => None,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `wait` for the process to end; its exit status.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Writes raw bytes (for malformed-input tests).
    pub fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.send_raw(&body);
    }

    /// Sends a request and returns its id without waiting.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next_message(&mut self, deadline: Instant) -> Value {
        let now = Instant::now();
        let wait = deadline.saturating_duration_since(now);
        match self.messages.recv_timeout(wait) {
            Ok(message) => {
                // Answer requests from the server (progress tokens, configuration) at once.
                if message.get("method").is_some() && message.get("id").is_some() {
                    let id = message["id"].clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
                }
                message
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "timed out waiting for the server; stderr:\n{}",
                    self.stderr()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the server closed its output; stderr:\n{}", self.stderr())
            }
        }
    }

    /// Waits for the response to request `id`: `Ok(result)` or `Err(error object)`.
    pub fn response(&mut self, id: i64) -> Result<Value, Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message.get("method").is_none() && message["id"] == json!(id) {
                return match message.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(message["result"].clone()),
                };
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for the response to a request sent by hand with any `id`.
    pub fn response_to(&mut self, id: Value) -> Result<Value, Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message.get("method").is_none() && message["id"] == id {
                return match message.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(message["result"].clone()),
                };
            }
            self.backlog.push_back(message);
        }
    }

    /// Sends a request and waits for its response.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// Waits for a notification `method` whose params satisfy `accept` (looking at the backlog first).
    pub fn notification(&mut self, method: &str, accept: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.backlog.iter().position(|m| {
            m["method"] == json!(method) && m.get("id").is_none() && accept(&m["params"])
        }) {
            return self.backlog.remove(index).unwrap()["params"].clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message["method"] == json!(method)
                && message.get("id").is_none()
                && accept(&message["params"])
            {
                return message["params"].clone();
            }
            self.backlog.push_back(message);
        }
    }

    /// `initialize` (offering `encodings`, when given) + `initialized`; returns the result.
    pub fn initialize(&mut self, encodings: Option<&[&str]>, options: Value) -> Value {
        let mut capabilities = json!({"window": {"workDoneProgress": true}});
        if let Some(encodings) = encodings {
            capabilities["general"] = json!({"positionEncodings": encodings});
        }
        let result = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options}),
            )
            .expect("initialize succeeds");
        self.notify("initialized", json!({}));
        result
    }

    /// Waits until `ghostline/status` says `ready`; panics with the message on `error`.
    pub fn wait_ready(&mut self) {
        let status = self.notification("ghostline/status", |p| {
            p["state"] == "ready" || p["state"] == "error"
        });
        assert_eq!(status["state"], "ready", "model failed to load: {status}");
    }

    /// Opens a document.
    pub fn open(&mut self, uri: &str, language_id: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language_id, "version": 1, "text": text}}),
        );
    }

    /// Applies one incremental change.
    pub fn change(&mut self, uri: &str, version: i32, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": text}]}),
        );
    }

    /// The server's copy of a document.
    pub fn document_text(&mut self, uri: &str) -> Result<String, Value> {
        self.request("ghostline/document", json!({"uri": uri}))
            .map(|d| d["text"].as_str().unwrap().to_string())
    }

    /// `ghostline/stats`.
    pub fn stats(&mut self) -> Value {
        self.request("ghostline/stats", Value::Null).expect("stats")
    }

    /// Sends an inline completion request; returns its id.
    pub fn send_inline_completion(
        &mut self,
        uri: &str,
        line: u32,
        character: u32,
        invoked: bool,
    ) -> i64 {
        let trigger_kind = if invoked { 1 } else { 2 };
        self.send_request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                   "context": {"triggerKind": trigger_kind}}),
        )
    }

    /// Sends an inline completion request and waits for it.
    pub fn inline_completion(
        &mut self,
        uri: &str,
        line: u32,
        character: u32,
        invoked: bool,
    ) -> Result<Value, Value> {
        let id = self.send_inline_completion(uri, line, character, invoked);
        self.response(id)
    }

    /// `shutdown` + `exit`; asserts the process ends successfully.
    pub fn shutdown(mut self) {
        self.request("shutdown", Value::Null)
            .expect("shutdown succeeds");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "server exited with {status}; stderr:\n{}",
                    self.stderr()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after `exit`"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0u8; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// An LSP position/range helper.
pub fn range(start_line: u32, start_character: u32, end_line: u32, end_character: u32) -> Value {
    json!({"start": {"line": start_line, "character": start_character},
           "end": {"line": end_line, "character": end_character}})
}

/// UTF-16 length of `text` (the default position unit).
pub fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// The position just after `text` if it started at (0, 0), in UTF-16 units.
pub fn end_position_utf16(text: &str) -> (u32, u32) {
    let line = text.matches('\n').count() as u32;
    let last = text.rsplit('\n').next().unwrap_or("");
    (line, utf16_len(last))
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new(name: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "ghostline-test-{name}-{}-{unique}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
