//! Input hygiene: a message whose body is not a JSON-RPC message would end tower-lsp-server's read
//! loop (its framed reader stops after the first decode error — not only for bodies that are not
//! JSON, but also for JSON like `[1,2]` or `{"jsonrpc":"1.0"}`), so bodies are checked here first
//! with tower-lsp-server's own message types. An invalid one is logged and replaced: by a request
//! for [`INVALID_MESSAGE_METHOD`] when it carried an `id` (the handler answers that id — or `null`
//! when the id is unusable — with the JSON-RPC error, so the client never waits for an answer),
//! else by a notification for the same method, which is ignored.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Largest message accepted (anything bigger is dropped with an error log).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// The method invalid bodies are replaced with (a `$/` method: clients never send it).
pub const INVALID_MESSAGE_METHOD: &str = "$/ghostline/invalidMessage";

/// JSON-RPC's error code for a body that is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's error code for JSON that is not a valid request.
const INVALID_REQUEST: i64 = -32600;

/// A JSON-RPC message exactly as tower-lsp-server decodes one (its `Message` is private).
#[derive(serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // only deserialized, to validate
enum Message {
    Response(tower_lsp_server::jsonrpc::Response),
    Request(tower_lsp_server::jsonrpc::Request),
}

/// `None` when `body` is a message the transport accepts; else the replacement body.
pub fn replacement(body: &[u8]) -> Option<Vec<u8>> {
    let error = match serde_json::from_slice::<Message>(body) {
        Ok(_) => return None,
        Err(error) => error,
    };
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let (code, kind) = match parsed {
        None => (PARSE_ERROR, "not JSON"),
        Some(_) => (INVALID_REQUEST, "not a JSON-RPC 2.0 message"),
    };
    tracing::error!(%error, bytes = body.len(), "dropping a message whose body is {kind}");
    let message = format!("ghostline received a message whose body is {kind}: {error}");
    let mut replacement = serde_json::json!({
        "jsonrpc": "2.0",
        "method": INVALID_MESSAGE_METHOD,
        "params": {"code": code, "message": message},
    });
    // Answer whatever looked like a request; unparseable bodies get `id: null` (JSON-RPC 2.0 §5).
    let id = match &parsed {
        None => Some(serde_json::Value::Null),
        Some(value) => value.get("id").map(|id| match id {
            serde_json::Value::String(_) => id.clone(),
            serde_json::Value::Number(n) if n.is_i64() => id.clone(),
            _ => serde_json::Value::Null,
        }),
    };
    if let Some(id) = id {
        replacement["id"] = id;
    }
    Some(replacement.to_string().into_bytes())
}

/// Returns a stream carrying `input`'s messages with every body valid JSON.
pub fn sanitized(input: impl AsyncRead + Unpin + Send + 'static) -> DuplexStream {
    let (mut writer, reader) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut input = BufReader::new(input);
        loop {
            let Some(length) = read_headers(&mut input).await else {
                return;
            };
            let Some(length) = length else { continue };
            // Read what arrives rather than allocating the announced length up front: a header
            // announcing 256 MB followed by nothing costs nothing.
            let mut body = Vec::new();
            match (&mut input)
                .take(length as u64)
                .read_to_end(&mut body)
                .await
            {
                Ok(n) if n == length => {}
                _ => return,
            }
            if let Some(replacement) = replacement(&body) {
                body = replacement;
            }
            let header = format!("Content-Length: {}\r\n\r\n", body.len());
            if writer.write_all(header.as_bytes()).await.is_err()
                || writer.write_all(&body).await.is_err()
            {
                return;
            }
        }
    });
    reader
}

/// Longest header line read at once (longer ones are split; none is ever buffered whole).
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// Reads one header block. `None`: input ended; `Some(None)`: a block without a usable
/// Content-Length (skipped); `Some(Some(n))`: the body length.
///
/// Garbage before a header (the rest of a body whose Content-Length was too small, say) is
/// skipped: a `Content-Length` anywhere in a line counts, so the next message is not lost.
async fn read_headers(input: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Option<usize>> {
    let mut length = None;
    let mut saw_header = false;
    loop {
        let mut bytes = Vec::new();
        // Bytes, not `read_line`: a header that is not UTF-8 must not end the input.
        let read = (&mut *input)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut bytes)
            .await
            .ok()?;
        if read == 0 {
            return None;
        }
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        let lower = line.to_ascii_lowercase();
        if let Some(at) = lower.rfind("content-length")
            && let Some((_, value)) = line[at..].split_once(':')
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    match length {
        Some(length) if length <= MAX_MESSAGE_BYTES => Some(Some(length)),
        other => {
            tracing::error!(content_length = ?other, "skipping a message without a valid Content-Length header");
            Some(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sanitize(input: &[u8]) -> String {
        let mut output = sanitized(std::io::Cursor::new(input.to_vec()));
        let mut text = String::new();
        output.read_to_string(&mut text).await.unwrap();
        text
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[tokio::test]
    async fn invalid_bodies_are_replaced_and_valid_ones_pass_unchanged() {
        let valid = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        let input = format!(
            "{}{}X-Other: 1\r\n\r\n{}",
            framed(valid),
            framed("{nope"),
            framed(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
        );
        let text = sanitize(input.as_bytes()).await;
        let replaced = String::from_utf8(replacement(b"{nope").unwrap()).unwrap();
        assert!(replaced.contains(r#""id":null"#), "{replaced}");
        assert!(replaced.contains("-32700"), "{replaced}");
        let expected = format!(
            "{}{}{}",
            framed(valid),
            framed(&replaced),
            framed(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
        );
        assert_eq!(text, expected);
    }

    /// Regression (torture test): JSON that is not a JSON-RPC message ended the server's read
    /// loop just like a body that is not JSON.
    #[test]
    fn json_that_is_not_a_message_is_replaced_and_answered_with_its_id() {
        for (body, id, code) in [
            ("[1,2,3]", None, INVALID_REQUEST),
            ("{}", None, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#,
                Some("7"),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","method":42}"#,
                Some(r#""a""#),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
                Some("null"),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{"x":1},"method":"x"}"#,
                Some("null"),
                INVALID_REQUEST,
            ),
            // Numbers JSON parsers reject: a parse error, answered with `id: null`.
            (
                r#"{"jsonrpc":"2.0","id":1e999,"method":"x"}"#,
                Some("null"),
                PARSE_ERROR,
            ),
        ] {
            let replaced = String::from_utf8(replacement(body.as_bytes()).expect(body)).unwrap();
            let value: serde_json::Value = serde_json::from_str(&replaced).unwrap();
            assert_eq!(value["method"], INVALID_MESSAGE_METHOD);
            assert_eq!(value["params"]["code"], code, "{body}");
            assert_eq!(
                value.get("id").map(|id| id.to_string()).as_deref(),
                id,
                "{body}"
            );
            assert!(
                replacement(replaced.as_bytes()).is_none(),
                "the replacement is valid"
            );
        }
    }

    /// Regression (torture test): a header line that was not UTF-8 ended the read loop, and
    /// garbage glued to the next header lost that message.
    #[tokio::test]
    async fn bad_headers_are_skipped_and_the_next_message_survives() {
        let valid = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
        let mut input = b"Content-Length: \xff\xfe\r\n\r\n".to_vec();
        input.extend_from_slice(b"Content-Length: abc\r\n\r\n{\"jsonrpc\":\"2.0\"}");
        input.extend_from_slice(framed(valid).as_bytes());
        input.extend_from_slice(b"Content-Length: 999999999999\r\n\r\n");
        input.extend_from_slice(framed(valid).as_bytes());
        input.extend_from_slice(&[b'x'; 20_000]);
        input.extend_from_slice(framed(valid).as_bytes());
        let text = sanitize(&input).await;
        assert_eq!(text, framed(valid).repeat(3));
    }

    #[tokio::test]
    async fn a_body_announced_longer_than_sent_ends_the_input_without_allocating_it() {
        let text = sanitize(b"Content-Length: 200000000\r\n\r\n{}").await;
        assert_eq!(text, "");
    }
}
