//! The `LanguageServer` implementation: lifecycle, settings, commands. Document sync happens in
//! `sync.rs`; inline completion in `inline_completion.rs`; feedback in `feedback_handlers.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tower_lsp_server::LanguageServer;
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::{
    DidChangeConfigurationParams, DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandOptions,
    ExecuteCommandParams, InitializeParams, InitializeResult, InitializedParams, MessageType,
    OneOf, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

use super::encoding::PositionEncoding;
use super::ext::{DocumentRequestParams, DocumentState, Stats};
use super::state::Shared;
use super::{guard, status};
use crate::model::worker::ModelState;

/// Command the items carry: the editor runs it after inserting a suggestion.
pub const ACCEPT_COMMAND: &str = "ghostline.accept";
/// Command (and, as `ghostline/reject`, notification) for dismissing a suggestion.
pub const REJECT_COMMAND: &str = "ghostline.reject";
/// Command that forgets what the adaptation learnt (memory and feedback store); no arguments.
pub const RESET_ADAPTATION_COMMAND: &str = "ghostline.resetAdaptation";

/// The language server.
pub struct Backend {
    pub(crate) shared: Arc<Shared>,
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        guard::request("initialize", async {
            let encoding = PositionEncoding::negotiate(&params);
            self.shared.set_encoding(encoding);
            let supports_progress = params
                .capabilities
                .window
                .as_ref()
                .and_then(|window| window.work_done_progress)
                .unwrap_or(false);
            self.shared
                .client_supports_progress
                .store(supports_progress, Ordering::SeqCst);
            let mut config = self.shared.config();
            if let Some(options) = &params.initialization_options {
                let warnings = config.apply_json(options);
                for warning in &warnings {
                    tracing::warn!("{warning}");
                }
                self.shared
                    .pending_warnings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(warnings);
            }
            apply_log_level(&config, None);
            self.shared.feedback.configure(&config.feedback);
            self.shared.set_config(config);
            super::workspace_index::on_initialize(&self.shared, &params);
            tracing::info!(encoding = ?encoding, "initialize");
            self.shared.initialized.store(true, Ordering::SeqCst);
            Ok(InitializeResult {
                capabilities: capabilities(encoding),
                server_info: Some(ServerInfo {
                    name: "ghostline".to_string(),
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                }),
                offset_encoding: None,
            })
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        guard::notification("initialized", async {
            let mut warnings = crate::logging::take_startup_warnings();
            warnings.extend(std::mem::take(
                &mut *self
                    .shared
                    .pending_warnings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            ));
            for warning in warnings {
                self.shared
                    .client
                    .show_message(MessageType::WARNING, warning)
                    .await;
            }
            status::spawn_reporter(self.shared.clone());
            status::spawn_feedback_reporter(self.shared.clone());
            super::workspace_index::start(self.shared.clone()).await;
            let config = self.shared.config();
            if config.enable {
                self.shared
                    .worker
                    .load(super::tuned::model_spec(&self.shared, &config));
                super::adaptation::absorb_when_ready(self.shared.clone());
            } else {
                status::send_current(&self.shared).await;
            }
        })
        .await
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown");
        // Commit the feedback events still queued (shown and partial accepts are notifications:
        // nothing else waits for them).
        let flushed = self
            .shared
            .feedback
            .flush()
            .durable(std::time::Duration::from_secs(2))
            .await;
        tracing::debug!(?flushed, "feedback flushed at shutdown");
        Ok(())
    }

    // Document sync is applied by the ordered sync layer before these handlers run.
    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        tracing::trace!(uri = params.text_document.uri.as_str(), "didOpen handled");
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        tracing::trace!(uri = params.text_document.uri.as_str(), "didChange handled");
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        tracing::trace!(uri = params.text_document.uri.as_str(), "didClose handled");
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        tracing::debug!(uri = params.text_document.uri.as_str(), "didSave");
        super::workspace_index::did_save(&self.shared, &params.text_document.uri);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        tracing::debug!(changes = params.changes.len(), "didChangeWatchedFiles");
        super::workspace_index::did_change_watched_files(&self.shared, params);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        guard::notification(
            "workspace/didChangeConfiguration",
            self.apply_settings(params.settings),
        )
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        guard::request("workspace/executeCommand", async {
            if params.command == RESET_ADAPTATION_COMMAND {
                return Ok(Some(self.reset_adaptation().await));
            }
            let id = params.arguments.first().and_then(super::feedback_handlers::suggestion_id_in);
            let Some(id) = id else {
                return Err(jsonrpc::Error::invalid_params(format!(
                    "{}: expected the suggestion id as the first argument, got {:?}",
                    params.command, params.arguments
                )));
            };
            // Answered once the decision is durable (see feedback_handlers.rs).
            let receipt = match params.command.as_str() {
                ACCEPT_COMMAND => self.accept(&id),
                REJECT_COMMAND => self.reject(&id),
                other => {
                    return Err(jsonrpc::Error::invalid_params(format!(
                        "unknown command {other:?}; ghostline knows {ACCEPT_COMMAND}, {REJECT_COMMAND} and {RESET_ADAPTATION_COMMAND}"
                    )));
                }
            };
            self.await_durable(&id, receipt).await;
            Ok(None)
        })
        .await
    }
}

impl Backend {
    async fn apply_settings(&self, settings: Value) {
        let old = self.shared.config();
        let mut new = old.clone();
        let warnings = new.apply_json(&settings);
        for warning in warnings {
            tracing::warn!("{warning}");
            self.shared
                .client
                .show_message(MessageType::WARNING, warning)
                .await;
        }
        if new == old {
            return;
        }
        tracing::info!(?new, "settings changed");
        apply_log_level(&new, old.log_level.as_deref());
        self.shared.set_config(new.clone());
        self.shared.feedback.configure(&new.feedback);
        self.shared.cache().clear();
        let model_changed = new.model != old.model || new.tuned_weights != old.tuned_weights;
        let needs_model = new.enable
            && (model_changed || matches!(self.shared.worker.state(), ModelState::NotLoaded));
        if needs_model {
            self.shared
                .worker
                .load(super::tuned::model_spec(&self.shared, &new));
        } else if new.enable != old.enable {
            status::send_current(&self.shared).await;
        }
    }

    /// `ghostline/stats`: counters for tests and the editors' "show stats" commands. Any params
    /// (`null`, `{}`, what editors send) are accepted and ignored.
    pub async fn stats(&self, _params: Value) -> Result<Stats> {
        let mut stats = self.shared.stats().clone();
        stats.open_documents = self.shared.documents.len();
        stats.model_jobs_queued = self.shared.worker.queued_jobs();
        let (state, message, _) = self.shared.status();
        stats.model_state = Some(state);
        stats.model_message = Some(message);
        stats.feedback = Some(super::feedback_handlers::feedback_stats(&self.shared).await);
        Ok(stats)
    }

    /// `ghostline/document`: the server's copy of a document (for tests and bug reports).
    pub async fn document(&self, params: DocumentRequestParams) -> Result<DocumentState> {
        let document = self.shared.documents.snapshot(&params.uri).ok_or_else(|| {
            jsonrpc::Error::invalid_params(format!(
                "unknown document {}: it is not open",
                params.uri
            ))
        })?;
        let syntax_tree = document.tree().is_some();
        Ok(DocumentState {
            version: document.version,
            language_id: document.language_id,
            text: document.rope.to_string(),
            syntax_tree,
        })
    }
}

fn apply_log_level(config: &crate::config::ServerConfig, old: Option<&str>) {
    if let Some(level) = config.log_level.as_deref()
        && Some(level) != old
        && let Err(error) = crate::logging::set_level(level)
    {
        tracing::warn!("ghostline settings: \"logLevel\": {error}; keeping the current level");
    }
}

fn capabilities(encoding: PositionEncoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        inline_completion_provider: Some(OneOf::Left(true)),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![
                ACCEPT_COMMAND.to_string(),
                REJECT_COMMAND.to_string(),
                RESET_ADAPTATION_COMMAND.to_string(),
            ],
            ..ExecuteCommandOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}
