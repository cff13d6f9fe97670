//! The LSP layer: the only part of ghostline that knows the protocol.
//!
//! `sync.rs` applies document changes in arrival order, `server.rs` holds the lifecycle and
//! commands, `inline_completion.rs` and `feedback_handlers.rs` the ghost-text features,
//! `from_proto.rs`/`to_proto.rs` convert positions at the edge.

pub mod changes;
pub mod encoding;
pub mod ext;
mod adaptation;
mod feedback_handlers;
pub mod from_proto;
mod guard;
mod inline_completion;
mod input;
mod server;
mod state;
mod status;
mod sync;
mod tuned;
pub mod to_proto;
mod workspace_index;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

pub use server::{ACCEPT_COMMAND, Backend, REJECT_COMMAND};

use crate::feedback::{FeedbackSink, Recorder};
use crate::model::ModelLoader;
use crate::model::worker::ModelWorker;

/// Requests handled concurrently (tower-lsp-server's default of 4 would let a few debouncing
/// completion requests hold up everything else).
const MAX_CONCURRENT_REQUESTS: usize = 32;

/// What the server is built from.
pub struct LspOptions {
    /// Loads the model (the real engine in the product; a double in in-process tests).
    pub loader: ModelLoader,
    /// Where feedback events go.
    pub feedback: Box<dyn FeedbackSink>,
}

impl LspOptions {
    /// The product's options: the real model, feedback to the log and the SQLite store.
    pub fn product() -> LspOptions {
        LspOptions {
            loader: crate::model::real_model_loader(),
            feedback: Box::new(Recorder::new()),
        }
    }
}

/// Serves LSP over stdin/stdout until the client sends `exit` or closes stdin.
pub async fn serve_stdio(options: LspOptions) {
    serve(tokio::io::stdin(), tokio::io::stdout(), options).await
}

/// Serves LSP over any byte streams.
pub async fn serve<I, O>(input: I, output: O, options: LspOptions)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite,
{
    let input = input::sanitized(input);
    let worker = ModelWorker::spawn(options.loader);
    let feedback = options.feedback;
    let (service, socket) = LspService::build(move |client| Backend {
        shared: Arc::new(state::Shared::new(client, worker, feedback)),
    })
    .custom_method("textDocument/inlineCompletion", Backend::inline_completion)
    .custom_method(
        "textDocument/didShowCompletion",
        Backend::did_show_completion,
    )
    .custom_method(
        "textDocument/didPartiallyAcceptCompletion",
        Backend::did_partially_accept_completion,
    )
    .custom_method("ghostline/reject", Backend::reject_notification)
    .custom_method("ghostline/stats", Backend::stats)
    .custom_method("ghostline/document", Backend::document)
    .custom_method(input::INVALID_MESSAGE_METHOD, Backend::invalid_message)
    .finish();
    let shared = service.inner().shared.clone();
    let service = sync::OrderedSync::new(service, shared);
    Server::new(input, output, socket)
        .concurrency_level(MAX_CONCURRENT_REQUESTS)
        .serve(service)
        .await;
}

/// Parameters of the request `input.rs` puts in place of an invalid message.
#[derive(serde::Deserialize)]
struct InvalidMessage {
    code: i64,
    message: String,
}

impl Backend {
    /// Answers the request `input.rs` put in place of an invalid message with its JSON-RPC error
    /// (for a notification the answer is dropped).
    async fn invalid_message(
        &self,
        params: InvalidMessage,
    ) -> tower_lsp_server::jsonrpc::Result<()> {
        Err(tower_lsp_server::jsonrpc::Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::from(params.code),
            message: params.message.into(),
            data: None,
        })
    }
}

#[cfg(test)]
mod tests;
