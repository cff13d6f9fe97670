//! The ordered sync layer: a tower service in front of the LSP service that applies
//! didOpen/didChange/didClose to the document store *as messages are read*, before any handler
//! runs, and stamps each inline completion request with its arrival number.
//!
//! **Architecture invariant:** tower-lsp-server runs handlers concurrently, so this layer is the
//! single owner of document mutations; `Service::call` is invoked strictly in arrival order by the
//! transport's read loop, which makes the edit order the client's order.

use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::Value;
use tower::Service;
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
};

use super::changes;
use super::state::Shared;
use crate::documents::Document;

/// The JSON field carrying the arrival number into the inline completion handler.
pub const ARRIVAL_FIELD: &str = "ghostlineArrival";

/// Wraps the LSP service; see the module docs.
pub struct OrderedSync<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> OrderedSync<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, shared: Arc<Shared>) -> OrderedSync<S> {
        OrderedSync { inner, shared }
    }
}

impl<S> Service<Request> for OrderedSync<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Option<Response>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let request = if self.shared.is_initialized() {
            match request.method() {
                "textDocument/didOpen" => {
                    did_open(&self.shared, request.params());
                    request
                }
                "textDocument/didChange" => {
                    did_change(&self.shared, request.params());
                    request
                }
                "textDocument/didClose" => {
                    did_close(&self.shared, request.params());
                    request
                }
                "textDocument/inlineCompletion" => stamp_arrival(&self.shared, request),
                _ => request,
            }
        } else {
            request
        };
        let id = request.id().cloned();
        let method = request.method().to_string();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(match (response, id) {
                // tower-lsp-server drops its "method not found" answer to `$/` requests, but
                // LSP says to answer them with that error, and a client would wait forever.
                (None, Some(id)) => Some(Response::from_error(id, method_not_found(method))),
                (response, _) => response,
            })
        })
    }
}

fn method_not_found(method: String) -> tower_lsp_server::jsonrpc::Error {
    tower_lsp_server::jsonrpc::Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::MethodNotFound,
        message: format!("method not found: {method}").into(),
        data: None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(method: &str, params: Option<&Value>) -> Option<T> {
    match serde_json::from_value::<T>(params.cloned().unwrap_or(Value::Null)) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            tracing::warn!(method, %error, "ignoring a notification with malformed params");
            None
        }
    }
}

fn did_open(shared: &Shared, params: Option<&Value>) {
    let Some(params) = parse::<DidOpenTextDocumentParams>("textDocument/didOpen", params) else {
        return;
    };
    let item = params.text_document;
    let uri = item.uri.as_str().to_string();
    shared.in_flight.cancel_for_edit(&uri);
    let document = Document::open(&uri, &item.text, item.version, &item.language_id);
    tracing::debug!(%uri, version = item.version, chars = document.rope.len_chars(), "didOpen");
    let deferred = document.needs_reparse();
    shared.documents.lock().insert(uri.clone(), document);
    if deferred {
        // A big document is parsed in the background (documents.rs), not in the read loop.
        let documents = shared.documents.clone();
        let parse = move || documents.parsed_snapshot(&uri).map(drop);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(parse)),
            Err(_) => drop(parse()),
        }
    }
}

fn did_change(shared: &Shared, params: Option<&Value>) {
    let Some(params) = parse::<DidChangeTextDocumentParams>("textDocument/didChange", params)
    else {
        return;
    };
    let uri = params.text_document.uri.as_str().to_string();
    shared.in_flight.cancel_for_edit(&uri);
    let encoding = shared.encoding();
    let mut documents = shared.documents.lock();
    let Some(document) = documents.get_mut(&uri) else {
        tracing::warn!(%uri, "didChange for a document that is not open; ignored");
        return;
    };
    if params.text_document.version <= document.version {
        tracing::warn!(%uri, old = document.version, new = params.text_document.version,
            "didChange version does not increase; applying in arrival order anyway");
    }
    for (index, error) in changes::apply(document, params.content_changes, encoding) {
        tracing::error!(%uri, change = index, %error, "didChange with an invalid range; this change is skipped and the document may now differ from the editor's");
    }
    document.version = params.text_document.version;
}

fn did_close(shared: &Shared, params: Option<&Value>) {
    let Some(params) = parse::<DidCloseTextDocumentParams>("textDocument/didClose", params) else {
        return;
    };
    let uri = params.text_document.uri.as_str().to_string();
    shared.in_flight.close(&uri);
    // Out of the store first: what the document teaches is worked out without the lock.
    let removed = shared.documents.lock().remove(&uri);
    match removed {
        // What the user wrote there feeds the adaptation (never an open document: its text after
        // the cursor would be suggested back and dropped as a duplicate of the suffix).
        Some(document) => shared.learner.observe_document(
            &uri,
            crate::adapt::learner::closed_document_text(&document),
        ),
        None => tracing::warn!(%uri, "didClose for a document that is not open"),
    }
}

/// Gives the request a ticket now (cancelling the document's older request) and tells the
/// handler which one via an extra params field.
fn stamp_arrival(shared: &Shared, request: Request) -> Request {
    let uri = request
        .params()
        .and_then(|params| params.pointer("/textDocument/uri"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(uri) = uri else {
        return request; // malformed: the handler answers with a clear error
    };
    let ticket = shared.in_flight.begin(&uri);
    let seq = ticket.seq;
    {
        let mut tickets = shared.tickets.lock().unwrap_or_else(|p| p.into_inner());
        // A request cancelled by `$/cancelRequest` before its handler ran never takes its ticket.
        tickets.retain(|&old, _| old + 1024 > seq);
        tickets.insert(seq, ticket);
    }
    let (method, id, params) = request.into_parts();
    let mut params = params.unwrap_or(Value::Null);
    if let Value::Object(object) = &mut params {
        object.insert(ARRIVAL_FIELD.to_string(), Value::from(seq));
    }
    let builder = Request::build(method).params(params);
    match id {
        Some(id) => builder.id(id).finish(),
        None => builder.finish(),
    }
}
