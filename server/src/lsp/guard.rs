//! Panic isolation for handlers: a panic answers that one request with an internal error and
//! the server keeps running (tower-lsp-server would otherwise lose the whole connection).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tower_lsp_server::jsonrpc;

use crate::model::worker::panic_message;

/// Runs a request handler, turning a panic into a JSON-RPC internal error.
pub async fn request<T>(
    method: &'static str,
    handler: impl Future<Output = jsonrpc::Result<T>>,
) -> jsonrpc::Result<T> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(&payload);
            tracing::error!(method, panic = %message, "request handler panicked; the server keeps running");
            Err(internal_error(format!(
                "ghostline: {method} failed with an internal error ({message}); the server keeps running"
            )))
        }
    }
}

/// Runs a notification handler, logging a panic instead of propagating it.
pub async fn notification(method: &'static str, handler: impl Future<Output = ()>) {
    if let Err(payload) = AssertUnwindSafe(handler).catch_unwind().await {
        tracing::error!(method, panic = %panic_message(&payload), "notification handler panicked");
    }
}

/// An internal error with a message.
pub fn internal_error(message: String) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::InternalError,
        message: message.into(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_request_answers_an_error() {
        let answer: jsonrpc::Result<u32> = request("test/panic", async { panic!("boom") }).await;
        let error = answer.unwrap_err();
        assert_eq!(error.code, jsonrpc::ErrorCode::InternalError);
        assert!(error.message.contains("boom"), "{}", error.message);
        assert_eq!(request("test/ok", async { Ok(7) }).await.unwrap(), 7);
    }
}
