//! Framing of streamed answers: server-sent events (OpenAI-compatible servers, llama.cpp) and
//! newline-delimited JSON (Ollama). Lines go in; whole event payloads come out.

/// How a streamed body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`: `data:` lines, events end at a blank line.
    Sse,
    /// One JSON document per line.
    NdJson,
}

/// Turns lines of a streamed body into event payloads.
#[derive(Debug)]
pub struct EventDecoder {
    framing: Framing,
    data: Option<String>,
}

impl EventDecoder {
    /// A decoder for `framing`.
    pub fn new(framing: Framing) -> EventDecoder {
        EventDecoder {
            framing,
            data: None,
        }
    }

    /// Feeds one line (with or without its `\n` / `\r\n`); returns a payload when one is complete.
    pub fn push_line(&mut self, line: &str) -> Option<String> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        match self.framing {
            Framing::NdJson => {
                let line = line.trim();
                (!line.is_empty()).then(|| line.to_string())
            }
            Framing::Sse => {
                if line.is_empty() {
                    return self.data.take();
                }
                if line.starts_with(':') {
                    return None; // a comment (keep-alive pings)
                }
                let (field, value) = match line.split_once(':') {
                    Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                    None => (line, ""),
                };
                if field == "data" {
                    match &mut self.data {
                        Some(data) => {
                            data.push('\n');
                            data.push_str(value);
                        }
                        None => self.data = Some(value.to_string()),
                    }
                }
                // `event:`, `id:`, `retry:` carry nothing the completion needs.
                None
            }
        }
    }

    /// The payload still pending when the body ends without a final blank line.
    pub fn finish(&mut self) -> Option<String> {
        self.data.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(framing: Framing, body: &str, expected: Expect) {
        let mut decoder = EventDecoder::new(framing);
        let mut events = Vec::new();
        for line in body.split_inclusive('\n') {
            events.extend(decoder.push_line(line));
        }
        events.extend(decoder.finish());
        expected.assert_debug_eq(&events);
    }

    #[test]
    fn sse_with_crlf_comments_multiline_data_and_a_missing_final_blank_line() {
        check(
            Framing::Sse,
            ": ping - 2026-11-27 11:00:00\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata:{\"b\":\ndata: 2}\n\ndata: [DONE]",
            expect![[r#"
                [
                    "{\"a\":1}",
                    "{\"b\":\n2}",
                    "[DONE]",
                ]
            "#]],
        );
    }

    #[test]
    fn ndjson_lines() {
        check(
            Framing::NdJson,
            "{\"response\":\"a\",\"done\":false}\n\n{\"response\":\"\",\"done\":true}\n",
            expect![[r#"
                [
                    "{\"response\":\"a\",\"done\":false}",
                    "{\"response\":\"\",\"done\":true}",
                ]
            "#]],
        );
    }
}
