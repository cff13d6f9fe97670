//! The LSP input check (`server/src/lsp/input.rs`): whatever bytes arrive, the stream handed to
//! the transport is a sequence of well-framed messages whose bodies tower-lsp-server's own
//! `Request`/`Response` types accept (anything else would end its read loop); in well-framed
//! input, every message comes out once, in order, and valid ones unchanged.
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
    /// A JSON-RPC-shaped object with arbitrary member values.
    Message {
        jsonrpc: JsonValue,
        id: Option<JsonValue>,
        method: Option<JsonValue>,
        params: Option<JsonValue>,
        result: Option<JsonValue>,
    },
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
            JsonValue::Number(n) => {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
            JsonValue::Int(n) => Value::from(*n),
            JsonValue::Text(text) => Value::String(text.clone()),
            JsonValue::Array(items) => Value::Array(items.iter().map(JsonValue::to_json).collect()),
            JsonValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// What tower-lsp-server's transport decodes: its private `Message`, an untagged enum of these
/// two public types. Untagged matters: serde buffers the body first, which counts towards
/// serde_json's nesting limit, so a body nested ~128 deep that each type alone accepts is
/// refused by the transport (a fuzz find, kept in seeds/lsp_input/).
#[derive(serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // only deserialized
enum TransportMessage {
    Response(tower_lsp_server::jsonrpc::Response),
    Request(tower_lsp_server::jsonrpc::Request),
}

/// Whether tower-lsp-server's transport decodes `body`.
fn is_message(body: &[u8]) -> bool {
    serde_json::from_slice::<TransportMessage>(body).is_ok()
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
            is_message(body),
            "a body the transport rejects reached it: {:?}",
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
                    Body::Message {
                        jsonrpc,
                        id,
                        method,
                        params,
                        result,
                    } => {
                        let mut object = serde_json::Map::new();
                        let version = match jsonrpc {
                            JsonValue::Bool(true) => serde_json::Value::from("2.0"),
                            other => other.to_json(),
                        };
                        object.insert("jsonrpc".into(), version);
                        for (key, value) in [
                            ("id", id),
                            ("method", method),
                            ("params", params),
                            ("result", result),
                        ] {
                            if let Some(value) = value {
                                object.insert(key.into(), value.to_json());
                            }
                        }
                        serde_json::Value::Object(object).to_string().into_bytes()
                    }
                })
                .collect();
            let mut stream = Vec::new();
            for body in &bodies {
                stream.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                stream.extend_from_slice(body);
            }
            let out = frames(&sanitize(stream));
            assert_eq!(out.len(), bodies.len(), "one message out per message in");
            for (sent, received) in bodies.iter().zip(&out) {
                if is_message(sent) {
                    assert_eq!(sent, received, "a valid body was changed");
                }
            }
        }
    }
});
