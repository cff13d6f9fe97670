//! [`Recorder`]: the product's [`FeedbackSink`]. Logs each event, hands it to the writer thread
//! (when recording is on) and tracks the status the editor shows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::writer::Writer;
use super::{
    FeedbackEvent, FeedbackKind, FeedbackSettings, FeedbackSink, FeedbackState, FeedbackStatus,
    Receipt,
};

/// How long a replaced writer may take to commit what it still holds.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Records feedback in the SQLite store configured by [`FeedbackSettings`].
pub struct Recorder {
    writer: Mutex<Option<Writer>>,
    settings: Mutex<Option<FeedbackSettings>>,
    status: Arc<watch::Sender<FeedbackStatus>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder waiting for its settings (the server configures it at `initialize`).
    pub fn new() -> Recorder {
        let (status, _) = watch::channel(FeedbackStatus {
            state: FeedbackState::Starting,
            message: "feedback recording starts once the editor sends its settings".to_string(),
            path: None,
            dropped_events: 0,
        });
        Recorder {
            writer: Mutex::new(None),
            settings: Mutex::new(None),
            status: Arc::new(status),
        }
    }
}

impl FeedbackSink for Recorder {
    fn record(&self, event: FeedbackEvent) -> Receipt {
        let known = event.suggestion.is_some();
        match event.kind {
            FeedbackKind::PartiallyAccepted { accepted_chars } => tracing::info!(
                target: "ghostline::feedback",
                event = %event.kind, id = %event.suggestion_id, accepted_length = accepted_chars, known,
                "feedback"
            ),
            kind => tracing::info!(
                target: "ghostline::feedback",
                event = %kind, id = %event.suggestion_id, known,
                "feedback"
            ),
        }
        match &*self.writer.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(writer) => writer.push(event),
            None => Receipt::none(),
        }
    }

    fn configure(&self, settings: &FeedbackSettings) {
        let mut current = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref() == Some(settings) {
            return;
        }
        *current = Some(settings.clone());
        let old = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            // Let the old writer commit what it holds without holding up the caller.
            std::thread::spawn(move || old.stop(STOP_WAIT));
        }
        if !settings.enabled {
            tracing::info!(target: "ghostline::feedback", "feedback recording turned off in the settings");
            self.status.send_replace(FeedbackStatus::off(
                "feedback recording is turned off in the settings",
            ));
            return;
        }
        let path = match settings.resolved_path() {
            Ok(path) => path,
            Err(error) => {
                tracing::error!(target: "ghostline::feedback", "feedback recording is OFF: {error}");
                self.status.send_replace(FeedbackStatus::off(format!(
                    "feedback recording is off: {error}"
                )));
                return;
            }
        };
        self.status.send_replace(FeedbackStatus {
            state: FeedbackState::Starting,
            message: format!("opening {}", path.display()),
            path: Some(path.display().to_string()),
            dropped_events: 0,
        });
        let writer = Writer::start(path, settings, self.status.clone());
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(writer);
    }

    fn status(&self) -> FeedbackStatus {
        self.status.borrow().clone()
    }

    fn subscribe(&self) -> Option<watch::Receiver<FeedbackStatus>> {
        Some(self.status.subscribe())
    }

    fn flush(&self) -> Receipt {
        match &*self.writer.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(writer) => writer.flush(),
            None => Receipt::none(),
        }
    }

    fn adaptation(&self, job: super::adaptation::AdaptationJob) -> Receipt {
        match &*self.writer.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(writer) => writer.adaptation(job),
            None => Receipt::none(),
        }
    }
}
