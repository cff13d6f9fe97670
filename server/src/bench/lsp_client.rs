//! A minimal LSP client over a child process's stdio, for benchmarks: JSON-RPC framing, a reader
//! thread that timestamps every incoming message, and automatic replies to server→client requests.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

/// A message from the server with the time it was read.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// When the reader thread finished reading it.
    pub at: Instant,
    /// The JSON-RPC message.
    pub message: Value,
}

impl Incoming {
    /// The response id, if this is a response.
    pub fn response_id(&self) -> Option<i64> {
        if self.message.get("method").is_some() {
            return None;
        }
        self.message.get("id").and_then(Value::as_i64)
    }

    /// The method, if this is a notification (no id).
    pub fn notification_method(&self) -> Option<&str> {
        if self.message.get("id").is_some() {
            return None;
        }
        self.message.get("method").and_then(Value::as_str)
    }
}

/// A running language server and the client end of its stdio.
pub struct LspClient {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Incoming>,
    next_id: i64,
    /// When the process was spawned.
    pub spawned_at: Instant,
}

impl LspClient {
    /// Spawns `command` (stdin/stdout piped, stderr to `stderr_log` or discarded).
    pub fn spawn(mut command: Command, stderr_log: Option<&std::path::Path>) -> anyhow::Result<LspClient> {
        let stderr = match stderr_log {
            Some(path) => Stdio::from(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?),
            None => Stdio::null(),
        };
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
        let spawned_at = Instant::now();
        let mut child = command.spawn().with_context(|| format!("cannot start {:?}", command.get_program()))?;
        let stdin = Arc::new(Mutex::new(child.stdin.take().context("no stdin")?));
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, incoming) = mpsc::channel();
        let reply_stdin = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Ok(Some(message)) = read_message(&mut reader) {
                // Answer server→client requests at once so the server never waits on us.
                if let (Some(id), Some(method)) = (message.get("id"), message.get("method").and_then(Value::as_str)) {
                    let result = match method {
                        "workspace/configuration" => {
                            let n = message.pointer("/params/items").and_then(Value::as_array).map_or(0, Vec::len);
                            Value::Array(vec![Value::Null; n])
                        }
                        _ => Value::Null,
                    };
                    let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
                    if let Ok(mut stdin) = reply_stdin.lock() {
                        let _ = write_message(&mut *stdin, &reply);
                    }
                    continue;
                }
                if tx.send(Incoming { at: Instant::now(), message }).is_err() {
                    break;
                }
            }
        });
        Ok(LspClient { child, stdin, incoming, next_id: 1, spawned_at })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a request; returns its id and the time it was written.
    pub fn request(&mut self, method: &str, params: Value) -> anyhow::Result<(i64, Instant)> {
        let id = self.next_id;
        self.next_id += 1;
        let at = self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        Ok((id, at))
    }

    /// Sends a notification; returns the time it was written.
    pub fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<Instant> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    fn send(&mut self, message: &Value) -> anyhow::Result<Instant> {
        let mut stdin = self.stdin.lock().map_err(|_| anyhow::anyhow!("stdin lock poisoned"))?;
        write_message(&mut *stdin, message).context("the language server closed its stdin")?;
        Ok(Instant::now())
    }

    /// The next incoming message, waiting at most `timeout`; `Ok(None)` on timeout.
    pub fn recv_timeout(&self, timeout: Duration) -> anyhow::Result<Option<Incoming>> {
        match self.incoming.recv_timeout(timeout) {
            Ok(message) => Ok(Some(message)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the language server exited"),
        }
    }

    /// Waits for the response to `id`, handing every other message to `other`.
    pub fn wait_response(&self, id: i64, timeout: Duration, other: &mut dyn FnMut(Incoming)) -> anyhow::Result<Incoming> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(message) = self.recv_timeout(left)? else {
                anyhow::bail!("no response to request {id} within {timeout:?}");
            };
            if message.response_id() == Some(id) {
                return Ok(message);
            }
            other(message);
        }
    }

    /// `shutdown` + `exit`, then waits up to `timeout` for the process and kills it if needed.
    pub fn shutdown(mut self, timeout: Duration) -> anyhow::Result<()> {
        if let Ok((id, _)) = self.request("shutdown", Value::Null) {
            let _ = self.wait_response(id, timeout, &mut |_| {});
            let _ = self.notify("exit", Value::Null);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill().ok();
        self.child.wait().ok();
        Ok(())
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes one `Content-Length`-framed message.
pub fn write_message(out: &mut impl Write, message: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(message)?;
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(&body)?;
    out.flush()
}

/// Reads one framed message; `Ok(None)` at end of stream.
pub fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<Value>> {
    let mut content_length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse::<usize>().ok();
        }
    }
    let length = content_length.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "missing Content-Length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    serde_json::from_slice(&body).map(Some).map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}
