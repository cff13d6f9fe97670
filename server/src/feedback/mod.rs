//! The feedback store: every suggestion the editor showed, and what became of it (accepted,
//! partially accepted, rejected, ignored), kept durably in a local SQLite database.
//!
//! - `event.rs`: what the LSP layer reports ([`FeedbackEvent`]) and the outcome rules.
//! - `settings.rs`: the settings, the default path (XDG data dir), hashing of file paths.
//! - `schema.rs`: opening the database (WAL), schema version and migrations.
//! - `store.rs`: rows: upsert per event, ignored sweeps, export, forget.
//! - `adaptation.rs`: what `crate::adapt` learnt, kept to rebuild it at start; cleared on reset.
//! - `queue.rs` + `writer.rs`: the writer thread behind a bounded queue (never blocks the caller).
//! - `recorder.rs`: [`Recorder`], the product's [`FeedbackSink`]: settings, status, receipts.
//! - `report.rs` + `plot.rs`: the numbers `ghostline stats` and `ghostline/stats` show.
//!
//! **API boundary:** the LSP layer only talks to [`FeedbackSink`]; nothing here knows LSP.
//! **Privacy invariant:** nothing in this module opens a network connection; the file path of a
//! suggestion is stored only as a hash unless the user opts in (`feedbackRawPaths`).

pub mod adaptation;
pub mod bench;
pub mod dates;
pub mod event;
pub mod plot;
mod queue;
pub mod recorder;
pub mod report;
pub mod schema;
pub mod settings;
pub mod store;
pub mod writer;

use std::time::Duration;

pub use event::{FeedbackEvent, FeedbackKind, Outcome, SuggestionFacts};
pub use recorder::Recorder;
pub use settings::FeedbackSettings;

/// Errors of the feedback store.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// SQLite refused an operation (locked, full, corrupt, read-only...).
    #[error("{action} {path}: {source}")]
    Sqlite {
        /// What was being done.
        action: &'static str,
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The directory for the database could not be created.
    #[error("cannot create the feedback directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database was written by a newer ghostline.
    #[error(
        "{path} has feedback schema version {found}, newer than this ghostline understands ({supported}); upgrade ghostline or set feedbackPath to another file"
    )]
    NewerSchema {
        /// The database file.
        path: String,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// No data directory could be determined (neither $XDG_DATA_HOME nor $HOME is set).
    #[error("no data directory: set $XDG_DATA_HOME or $HOME, or the feedbackPath setting")]
    NoDataDir,
    /// A date argument could not be read.
    #[error("{0}")]
    BadDate(String),
}

/// Whether the store records, as the editor's status shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackStatus {
    /// `on`, `starting` or `off`.
    pub state: FeedbackState,
    /// A sentence for the user (why it is off, or where it records).
    pub message: String,
    /// The database file, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Shown-only events dropped because the writer's queue was full (this session).
    pub dropped_events: u64,
}

/// The store's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackState {
    /// Opening the database.
    Starting,
    /// Recording.
    On,
    /// Not recording: turned off in the settings, or the database failed (see the message).
    Off,
}

impl FeedbackStatus {
    /// The status of a store that records nothing, with the reason.
    pub fn off(message: impl Into<String>) -> FeedbackStatus {
        FeedbackStatus {
            state: FeedbackState::Off,
            message: message.into(),
            path: None,
            dropped_events: 0,
        }
    }
}

/// Resolves when an event is durable (committed to the database), or says why it is not.
pub struct Receipt(Option<tokio::sync::oneshot::Receiver<Result<(), String>>>);

/// What became of an event a [`Receipt`] was waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Committed (WAL, `synchronous=FULL`): survives a crash of the server and of the machine.
    Committed,
    /// Not recorded durably: feedback is off, the database failed, or the wait timed out.
    NotRecorded(String),
}

impl Receipt {
    /// A receipt for an event that will not be written.
    pub fn none() -> Receipt {
        Receipt(None)
    }

    /// A receipt resolved by the writer.
    pub(crate) fn pending(receiver: tokio::sync::oneshot::Receiver<Result<(), String>>) -> Receipt {
        Receipt(Some(receiver))
    }

    /// Waits (at most `timeout`) until the event is committed.
    pub async fn durable(self, timeout: Duration) -> Durability {
        let Some(receiver) = self.0 else {
            return Durability::NotRecorded("feedback recording is off".to_string());
        };
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(Ok(()))) => Durability::Committed,
            Ok(Ok(Err(error))) => Durability::NotRecorded(error),
            Ok(Err(_)) => Durability::NotRecorded("the feedback writer stopped".to_string()),
            Err(_) => Durability::NotRecorded(format!(
                "the feedback writer did not commit within {} ms",
                timeout.as_millis()
            )),
        }
    }

    /// Blocks (at most `timeout`) until the event is committed (for threads outside tokio).
    pub fn durable_blocking(self, timeout: Duration) -> Durability {
        let Some(mut receiver) = self.0 else {
            return Durability::NotRecorded("feedback recording is off".to_string());
        };
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match receiver.try_recv() {
                Ok(Ok(())) => return Durability::Committed,
                Ok(Err(error)) => return Durability::NotRecorded(error),
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    return Durability::NotRecorded("the feedback writer stopped".to_string());
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                    if std::time::Instant::now() >= deadline {
                        return Durability::NotRecorded("timed out".to_string());
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
}

/// Where feedback events go. `record` must never block the caller for long.
///
/// **API boundary:** the LSP layer calls only these methods; [`Recorder`] is the product's
/// implementation (log line + SQLite writer), in-process tests use a recording double.
pub trait FeedbackSink: Send + Sync {
    /// Records one event; the receipt resolves once it is durable.
    fn record(&self, event: FeedbackEvent) -> Receipt;

    /// Applies (possibly changed) settings.
    fn configure(&self, _settings: &FeedbackSettings) {}

    /// Whether recording works, for the editor's status.
    fn status(&self) -> FeedbackStatus {
        FeedbackStatus::off("feedback is not recorded by this server")
    }

    /// Changes of [`FeedbackSink::status`] (the status notification is resent on each).
    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<FeedbackStatus>> {
        None
    }

    /// A receipt resolved when everything recorded so far is committed.
    fn flush(&self) -> Receipt {
        Receipt::none()
    }

    /// Work on the adaptation's stored state (see `adaptation.rs`); nothing when not recording
    /// (a `Load` then delivers nothing).
    fn adaptation(&self, _job: adaptation::AdaptationJob) -> Receipt {
        Receipt::none()
    }
}
