//! The workspace index and cross-file snippets at the protocol edge: the root comes from
//! `initialize`; `initialized` starts the index thread (with `$/progress` while it builds) and
//! registers file watchers when the client allows dynamic registration; `didSave` and
//! `workspace/didChangeWatchedFiles` become index commands; [`extra_snippets`] gathers the
//! snippets for one completion (open documents, recent edits, definitions).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tower_lsp_server::ls_types::{
    DidChangeWatchedFilesParams, FileChangeType, InitializeParams, Registration, Uri,
};
use tower_lsp_server::{Bounded, NotCancellable, OngoingProgress};

use super::state::Shared;
use crate::documents::Document;
use crate::index::extract::TreeSitterExtractor;
use crate::index::{IndexCommand, IndexEvent, IndexHandle, IndexLimits};
use crate::related::{self, Snippet, SnippetConfig, SnippetKind, SnippetSource};


/// Lines above and below the cursor whose identifiers are looked up in the index.
const LOOKUP_LINES_BEFORE: usize = 30;
const LOOKUP_LINES_AFTER: usize = 5;
/// Definitions per completion at most, and their chars in all.
const MAX_DEFINITIONS: usize = 4;
const MAX_DEFINITION_CHARS: usize = 4_000;

/// The index's place in the server state.
#[derive(Default)]
pub struct IndexSlot {
    root: Mutex<Option<PathBuf>>,
    dynamic_watchers: AtomicBool,
    handle: OnceLock<IndexHandle>,
}

impl IndexSlot {
    /// The running index, once started.
    pub fn handle(&self) -> Option<&IndexHandle> {
        self.handle.get()
    }

    pub(crate) fn root(&self) -> Option<PathBuf> {
        self.root.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Remembers the workspace root and whether the client lets us register file watchers.
pub fn on_initialize(shared: &Shared, params: &InitializeParams) {
    #[allow(deprecated)] // rootUri: older clients send only this
    let root = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .and_then(|folder| uri_to_path(&folder.uri))
        .or_else(|| params.root_uri.as_ref().and_then(uri_to_path));
    let dynamic = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.did_change_watched_files.as_ref())
        .and_then(|watched| watched.dynamic_registration)
        .unwrap_or(false);
    shared
        .index
        .dynamic_watchers
        .store(dynamic, Ordering::SeqCst);
    tracing::info!(root = ?root, dynamic_watchers = dynamic, "workspace");
    *shared.index.root.lock().unwrap_or_else(|p| p.into_inner()) = root;
}

/// Starts indexing the workspace (nothing without a root folder).
pub async fn start(shared: Arc<Shared>) {
    let Some(root) = shared.index.root() else {
        tracing::info!("no workspace folder: no workspace index");
        return;
    };
    if !root.is_dir() {
        tracing::warn!(root = %root.display(), "the workspace folder does not exist: no workspace index");
        return;
    }
    let (events, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let handle = IndexHandle::spawn(
        root,
        IndexLimits::default(),
        Arc::new(TreeSitterExtractor),
        move |event| {
            let _ = events.send(event);
        },
    );
    handle.send(IndexCommand::Build);
    if shared.index.handle.set(handle).is_err() {
        return; // already started
    }
    let reporter = shared.clone();
    tokio::spawn(async move {
        let mut progress: Option<OngoingProgress<Bounded, NotCancellable>> = None;
        while let Some(event) = receiver.recv().await {
            match event {
                IndexEvent::BuildStarted { files } => {
                    if reporter.client_supports_progress.load(Ordering::SeqCst) {
                        progress = begin_progress(&reporter, files).await;
                    }
                }
                IndexEvent::BuildProgress { done, total } => {
                    if let Some(ongoing) = &progress {
                        let percentage = (done * 100 / total.max(1)) as u32;
                        ongoing
                            .report_with_message(format!("{done}/{total} files"), percentage)
                            .await;
                    }
                }
                IndexEvent::BuildFinished {
                    stats,
                    elapsed,
                    limits_hit,
                } => {
                    let mut message = format!(
                        "indexed {} definitions in {} files in {:.1} s",
                        stats.definitions,
                        stats.files,
                        elapsed.as_secs_f64()
                    );
                    for limit in &limits_hit {
                        message.push_str("; ");
                        message.push_str(limit);
                    }
                    if let Some(ongoing) = progress.take() {
                        ongoing.finish_with_message(message).await;
                    }
                }
            }
        }
    });
    if shared.index.dynamic_watchers.load(Ordering::SeqCst) {
        register_watchers(&shared).await;
    }
}

async fn begin_progress(
    shared: &Shared,
    files: usize,
) -> Option<OngoingProgress<Bounded, NotCancellable>> {
    let token = super::status::progress_token(shared, "index").await?;
    Some(
        shared
            .client
            .progress(token, "ghostline: indexing")
            .with_percentage(0)
            .with_message(format!("0/{files} files"))
            .begin()
            .await,
    )
}

async fn register_watchers(shared: &Shared) {
    let registration = Registration {
        id: "ghostline/watched-files".to_string(),
        method: "workspace/didChangeWatchedFiles".to_string(),
        register_options: Some(serde_json::json!({
            "watchers": [{"globPattern": "**/*.{rs,py,pyi,js,mjs,cjs,jsx,ts,mts,cts,tsx,go,c,h,cc,cpp,cxx,hh,hpp,hxx,java,sh,bash}"}]
        })),
    };
    if let Err(error) = shared.client.register_capability(vec![registration]).await {
        tracing::warn!(%error, "the client refused file watchers: only saves update the index");
    }
}

/// A saved document: reindex its file from disk.
pub fn did_save(shared: &Shared, uri: &Uri) {
    if let (Some(handle), Some(path)) = (shared.index.handle(), uri_to_path(uri)) {
        handle.send(IndexCommand::Update(path));
    }
}

/// Files created, changed or deleted outside the editor.
pub fn did_change_watched_files(shared: &Shared, params: DidChangeWatchedFilesParams) {
    let Some(handle) = shared.index.handle() else {
        return;
    };
    for change in params.changes {
        let Some(path) = uri_to_path(&change.uri) else {
            continue;
        };
        let command = if change.typ == FileChangeType::DELETED {
            IndexCommand::Remove(path)
        } else {
            IndexCommand::Update(path)
        };
        handle.send(command);
    }
}

/// What [`extra_snippets`] needs, gathered on the handler side (cheap clones).
pub struct SnippetInputs {
    documents: Vec<(String, Document)>,
    index: Option<IndexHandle>,
    root: Option<PathBuf>,
}

impl SnippetInputs {
    /// The open documents (uri, snapshot), sorted by uri.
    pub fn documents(&self) -> &[(String, Document)] {
        &self.documents
    }
}

/// Takes snapshots of the open documents and the index handle.
pub fn snippet_inputs(shared: &Shared) -> SnippetInputs {
    let mut documents: Vec<(String, Document)> = shared
        .documents
        .lock()
        .iter()
        .map(|(uri, document)| (uri.clone(), document.clone()))
        .collect();
    documents.sort_by(|a, b| a.0.cmp(&b.0));
    SnippetInputs {
        documents,
        index: shared.index.handle().cloned(),
        root: shared.index.root(),
    }
}

/// The extra snippets for a completion in `uri` at `cursor` (best first, not yet budgeted):
/// similar windows of open documents and recent edits, then definitions of the identifiers used
/// near the cursor (not from the current file, nor already inside a chosen window).
pub fn extra_snippets(
    inputs: &SnippetInputs,
    uri: &str,
    document: &Document,
    cursor: usize,
) -> Vec<Snippet> {
    let display = |uri: &str| display_path(uri, inputs.root.as_deref());
    let paths: Vec<String> = inputs
        .documents
        .iter()
        .map(|(uri, _)| display(uri))
        .collect();
    let edits: Vec<Vec<usize>> = inputs
        .documents
        .iter()
        .map(|(_, document)| document.recent_edits.lines())
        .collect();
    let sources: Vec<SnippetSource> = inputs
        .documents
        .iter()
        .zip(&paths)
        .zip(&edits)
        .map(|(((_, document), path), edits)| SnippetSource {
            path,
            language_id: &document.language_id,
            rope: &document.rope,
            recent_edit_lines: edits,
        })
        .collect();
    let current_path = display(uri);
    let current_edits = document.recent_edits.lines();
    let current = SnippetSource {
        path: &current_path,
        language_id: &document.language_id,
        rope: &document.rope,
        recent_edit_lines: &current_edits,
    };
    let mut snippets = related::related(&sources, &current, cursor, &SnippetConfig::default());

    if let Some(index) = &inputs.index {
        let names = related::identifiers_near(
            &document.rope,
            cursor,
            LOOKUP_LINES_BEFORE,
            LOOKUP_LINES_AFTER,
        );
        let exclude = uri_str_to_path(uri);
        let definitions = index.read().definitions_for(
            &names,
            exclude.as_deref(),
            MAX_DEFINITIONS,
            MAX_DEFINITION_CHARS,
        );
        for definition in definitions {
            let covered = snippets.iter().any(|window| {
                window.kind != SnippetKind::Definition
                    && window.path == definition.path
                    && (window.start_line..window.start_line + window.text.lines().count())
                        .contains(&definition.start_line)
            });
            if !covered {
                snippets.push(definition);
            }
        }
    }
    snippets
}

/// A `file:` URI as a path (`None` for other schemes).
fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.as_str().starts_with("file:") {
        return None;
    }
    uri.to_file_path().map(|path| path.into_owned())
}

fn uri_str_to_path(uri: &str) -> Option<PathBuf> {
    uri.parse::<Uri>().ok().as_ref().and_then(uri_to_path)
}

/// How a document's path is shown to the model: relative to the workspace root when under it,
/// else the absolute path, else the URI itself.
fn display_path(uri: &str, root: Option<&Path>) -> String {
    let Some(path) = uri_str_to_path(uri) else {
        return uri.to_string();
    };
    match root.and_then(|root| path.strip_prefix(root).ok()) {
        Some(relative) => relative.to_string_lossy().into_owned(),
        None => path.to_string_lossy().into_owned(),
    }
}
