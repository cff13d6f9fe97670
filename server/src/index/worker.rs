//! The index's own thread: builds the index at startup and applies file updates, one command at
//! a time in the order they were sent, so a save that arrives during the build is applied after
//! it. Readers (the completion pipeline) take the read lock for a lookup; the thread takes the
//! write lock per file, never for the whole build.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use super::walk::{self, read_source};
use super::{DefinitionExtractor, IndexLimits, IndexStats, Skipped, WorkspaceIndex};

/// What the thread is asked to do.
pub enum IndexCommand {
    /// Index the whole workspace (replacing what is there).
    Build,
    /// (Re)index one file, or drop it if it no longer exists or is now ignored.
    Update(PathBuf),
    /// Drop one file, or every file under a folder.
    Remove(PathBuf),
    /// Answers once every earlier command is done (tests, benchmarks).
    Barrier(Sender<()>),
}

/// What the thread reports (progress for `$/progress`, and the outcome for logs).
#[derive(Clone, Debug, PartialEq)]
pub enum IndexEvent {
    /// The build starts with this many files to read.
    BuildStarted {
        /// Files found by the walk.
        files: usize,
    },
    /// Part of the build is done.
    BuildProgress {
        /// Files read so far.
        done: usize,
        /// Files in all.
        total: usize,
    },
    /// The build is over.
    BuildFinished {
        /// Counts after the build.
        stats: IndexStats,
        /// How long it took.
        elapsed: Duration,
        /// Why parts of the workspace were left out, in sentences (empty when none were).
        limits_hit: Vec<String>,
    },
}

/// The shared index and the way to send it commands. Cloning shares both.
#[derive(Clone)]
pub struct IndexHandle {
    index: Arc<RwLock<WorkspaceIndex>>,
    commands: Sender<IndexCommand>,
}

impl IndexHandle {
    /// Starts the thread for the workspace at `root`; `on_event` is called on that thread.
    pub fn spawn(
        root: PathBuf,
        limits: IndexLimits,
        extractor: Arc<dyn DefinitionExtractor>,
        on_event: impl Fn(IndexEvent) + Send + 'static,
    ) -> IndexHandle {
        let index = Arc::new(RwLock::new(WorkspaceIndex::new(root, limits)));
        let (commands, receiver) = channel();
        let thread_index = index.clone();
        let spawned = std::thread::Builder::new()
            .name("ghostline-index".to_string())
            .spawn(move || run(thread_index, extractor, receiver, on_event));
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the index thread; no workspace index");
        }
        IndexHandle { index, commands }
    }

    /// Queues a command (ignored once the thread is gone).
    pub fn send(&self, command: IndexCommand) {
        let _ = self.commands.send(command);
    }

    /// Waits until every command sent so far is done, or `timeout` passes; returns whether done.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let (done, wait) = channel();
        self.send(IndexCommand::Barrier(done));
        wait.recv_timeout(timeout).is_ok()
    }

    /// Reads the index (for a short, synchronous lookup).
    pub fn read(&self) -> RwLockReadGuard<'_, WorkspaceIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }
}

fn run(
    index: Arc<RwLock<WorkspaceIndex>>,
    extractor: Arc<dyn DefinitionExtractor>,
    commands: Receiver<IndexCommand>,
    on_event: impl Fn(IndexEvent),
) {
    let write = || index.write().unwrap_or_else(|p| p.into_inner());
    let (root, limits) = {
        let index = write();
        (index.root().to_path_buf(), index.limits().clone())
    };
    let mut warned_full = false;
    for command in commands {
        match command {
            IndexCommand::Build => {
                let started = Instant::now();
                let walked =
                    walk::source_files(&root, limits.max_files, limits.max_file_bytes, &|path| {
                        extractor.handles(path)
                    });
                *write() = WorkspaceIndex::new(root.clone(), limits.clone());
                let total = walked.files.len();
                on_event(IndexEvent::BuildStarted { files: total });
                let mut last_report = Instant::now();
                for (done, path) in walked.files.iter().enumerate() {
                    // Binary or non-UTF-8 despite its name: no entry at all.
                    let Some(text) = read_source(path) else {
                        continue;
                    };
                    let definitions = extractor.extract(path, &text);
                    if write().replace_file(path, definitions) == Err(Skipped::Full) {
                        break; // the remaining files would be refused too
                    }
                    if last_report.elapsed() >= Duration::from_millis(200) {
                        last_report = Instant::now();
                        on_event(IndexEvent::BuildProgress {
                            done: done + 1,
                            total,
                        });
                    }
                }
                let stats = write().stats();
                let mut limits_hit = Vec::new();
                if walked.truncated {
                    limits_hit.push(format!(
                        "only the first {} source files are indexed",
                        limits.max_files
                    ));
                }
                if walked.skipped_large > 0 {
                    limits_hit.push(format!(
                        "{} files over {} KiB are not indexed",
                        walked.skipped_large,
                        limits.max_file_bytes / 1024
                    ));
                }
                if stats.skipped_full > 0 {
                    limits_hit.push(format!(
                        "the index is full ({} definitions, {} KiB of text): {} files are not indexed",
                        stats.definitions,
                        stats.text_bytes / 1024,
                        total.saturating_sub(stats.files)
                    ));
                }
                let elapsed = started.elapsed();
                tracing::info!(?stats, ?elapsed, ?limits_hit, root = %root.display(), "workspace index built");
                on_event(IndexEvent::BuildFinished {
                    stats,
                    elapsed,
                    limits_hit,
                });
            }
            IndexCommand::Update(path) => {
                update(&write, &root, &limits, &*extractor, &path, &mut warned_full);
            }
            IndexCommand::Remove(path) => {
                let removed = write().remove_under(&path);
                tracing::debug!(path = %path.display(), removed, "index: removed");
            }
            IndexCommand::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

fn update<'a>(
    write: &impl Fn() -> std::sync::RwLockWriteGuard<'a, WorkspaceIndex>,
    root: &Path,
    limits: &IndexLimits,
    extractor: &dyn DefinitionExtractor,
    path: &Path,
    warned_full: &mut bool,
) {
    if path.is_dir() {
        return; // a created folder: its files come as their own events (or with the next build)
    }
    let wanted = std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.len() <= limits.max_file_bytes)
        && extractor.handles(path)
        && !walk::is_ignored(root, path);
    let text = if wanted { read_source(path) } else { None };
    let Some(text) = text else {
        if write().remove_file(path) {
            tracing::debug!(path = %path.display(), "index: dropped");
        }
        return;
    };
    let definitions = extractor.extract(path, &text);
    let count = definitions.len();
    match write().replace_file(path, definitions) {
        Ok(()) => tracing::debug!(path = %path.display(), definitions = count, "index: updated"),
        Err(Skipped::Full) if !*warned_full => {
            *warned_full = true;
            tracing::warn!(path = %path.display(), "the workspace index is full; new files are not indexed");
        }
        Err(_) => {}
    }
}
