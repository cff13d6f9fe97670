//! The LSP input check (`server/src/lsp/input.rs`): whatever bytes arrive, the stream handed to
//! the transport is a sequence of well-framed messages whose bodies are all valid JSON; bodies
//! that were valid JSON in well-framed input pass through unchanged, in order.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use ghostline_fuzz::block_on;
use ghostline_fuzz::lsp::input::sanitized;
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncReadExt;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any bytes at all.
    Raw(Vec<u8>),
    /// Correctly framed messages with arbitrary bodies (some JSON, some not).
    Framed(Vec<Body>),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Bytes(Vec<u8>),
    Json(JsonValue),
}

#[derive(Arbitrary, Debug)]
enum JsonValue {
    Null,
    Bool(bool),
    Number(f64),
    Int(i64),
    Text(String),
    Array(Vec<JsonValue>),
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            JsonValue::Null => Value::Null,
            JsonValue::Bool(b) => Value::Bool(*b),
            JsonValue::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            JsonValue::Int(n) => Value::from(*n),
            JsonValue::Text(text) => Value::String(text.clone()),
            JsonValue::Array(items) => Value::Array(items.iter().map(JsonValue::to_json).collect()),
            JsonValue::Object(fields) => Value::Object(
                fields.iter().map(|(key, value)| (key.clone(), value.to_json())).collect(),
            ),
        }
    }
}

/// Splits the sanitized stream into bodies, asserting the framing.
fn frames(mut output: &[u8]) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    while !output.is_empty() {
        let header_end = output
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("every message has a header block");
        let header = std::str::from_utf8(&output[..header_end]).expect("ASCII header");
        let length: usize = header
            .strip_prefix("Content-Length: ")
            .expect("exactly one Content-Length header")
            .parse()
            .expect("a decimal length");
        let body = &output[header_end + 4..header_end + 4 + length];
        assert!(
            serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
            "a body that is not JSON reached the transport: {:?}",
            String::from_utf8_lossy(body)
        );
        bodies.push(body.to_vec());
        output = &output[header_end + 4 + length..];
    }
    bodies
}

fn sanitize(bytes: Vec<u8>) -> Vec<u8> {
    block_on(async move {
        let mut output = Vec::new();
        sanitized(std::io::Cursor::new(bytes))
            .read_to_end(&mut output)
            .await
            .expect("reading the sanitized stream");
        output
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    match input {
        Input::Raw(bytes) => {
            frames(&sanitize(bytes));
        }
        Input::Framed(bodies) => {
            let bodies: Vec<Vec<u8>> = bodies
                .iter()
                .map(|body| match body {
                    Body::Bytes(bytes) => bytes.clone(),
                    Body::Json(value) => value.to_json().to_string().into_bytes(),
                })
                .collect();
            let mut stream = Vec::new();
            for body in &bodies {
                stream.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                stream.extend_from_slice(body);
            }
            let out = frames(&sanitize(stream));
            assert_eq!(out.len(), bodies.len(), "one message out per message in");
            for (sent, received) in bodies.iter().zip(&out) {
                if serde_json::from_slice::<serde::de::IgnoredAny>(sent).is_ok() {
                    assert_eq!(sent, received, "a valid body was changed");
                }
            }
        }
    }
});
