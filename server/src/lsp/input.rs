//! Input hygiene: a message whose body is not JSON would end tower-lsp-server's read loop (its
//! framed reader stops after the first decode error), so bodies are checked here first and an
//! invalid one is logged and replaced by a harmless notification the server ignores.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Largest message accepted (anything bigger is dropped with an error log).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// What an invalid body is replaced with: a `$/` notification, which servers may ignore.
const REPLACEMENT: &str = r#"{"jsonrpc":"2.0","method":"$/ghostline/invalidMessage"}"#;

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
            let mut body = vec![0u8; length];
            if input.read_exact(&mut body).await.is_err() {
                return;
            }
            if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
                tracing::error!(%error, bytes = body.len(), "dropping a message whose body is not JSON");
                body = REPLACEMENT.as_bytes().to_vec();
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

/// Reads one header block. `None`: input ended; `Some(None)`: a block without a usable
/// Content-Length (skipped); `Some(Some(n))`: the body length.
async fn read_headers(input: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Option<usize>> {
    let mut length = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
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

    #[tokio::test]
    async fn invalid_bodies_are_replaced_and_valid_ones_pass_unchanged() {
        let input = "Content-Length: 2\r\n\r\n{}Content-Length: 5\r\n\r\n{nope\
                     X-Other: 1\r\n\r\nContent-Length: 7\r\n\r\n[1,2,3]";
        let mut output = sanitized(std::io::Cursor::new(input.as_bytes().to_vec()));
        let mut text = String::new();
        output.read_to_string(&mut text).await.unwrap();
        let expected = format!(
            "Content-Length: 2\r\n\r\n{{}}Content-Length: {}\r\n\r\n{REPLACEMENT}Content-Length: 7\r\n\r\n[1,2,3]",
            REPLACEMENT.len()
        );
        assert_eq!(text, expected);
    }
}
