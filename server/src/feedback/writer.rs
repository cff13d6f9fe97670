//! The writer thread: opens the database, then commits queued events in batches (one
//! transaction, one fsync per batch) and acknowledges each decision once it is committed.
//!
//! On any database error (cannot open, locked past the busy timeout, full, corrupt, read-only)
//! it logs one clear error, publishes feedback as off with the reason, answers every waiting
//! acknowledgement with that error and stops; the server keeps suggesting.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::adaptation::{self, AdaptationJob};
use super::event::{FeedbackEvent, now_ms};
use super::queue::{EventQueue, Job};
use super::{FeedbackSettings, FeedbackState, FeedbackStatus, Receipt, schema, store};

/// Droppable (shown-only) events the queue holds before it drops the oldest.
pub const QUEUE_CAPACITY: usize = 4096;
/// Most events committed in one transaction.
const BATCH_MAX: usize = 512;
/// How often an idle writer sweeps undecided suggestions to `ignored`.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A running writer.
pub struct Writer {
    queue: Arc<EventQueue>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl Writer {
    /// Starts the thread for the database at `path`; `status` receives its state.
    pub fn start(
        path: PathBuf,
        settings: &FeedbackSettings,
        status: Arc<watch::Sender<FeedbackStatus>>,
    ) -> Writer {
        Self::start_with_capacity(path, settings, status, QUEUE_CAPACITY)
    }

    /// [`Writer::start`] with a chosen queue capacity (benchmarks and tests).
    pub fn start_with_capacity(
        path: PathBuf,
        settings: &FeedbackSettings,
        status: Arc<watch::Sender<FeedbackStatus>>,
        capacity: usize,
    ) -> Writer {
        let queue = Arc::new(EventQueue::new(capacity));
        let thread_queue = queue.clone();
        let thread_path = path.clone();
        let raw_paths = settings.raw_paths;
        let max_mb = settings.max_mb;
        let thread = std::thread::Builder::new()
            .name("ghostline-feedback".to_string())
            .spawn(move || run(thread_path, raw_paths, max_mb, thread_queue, status))
            .map_err(|error| tracing::error!(%error, "cannot start the feedback writer thread"))
            .ok();
        Writer {
            queue,
            thread,
            path,
        }
    }

    /// Queues an event without blocking; decisions get a receipt resolved at commit.
    pub fn push(&self, event: FeedbackEvent) -> Receipt {
        let (ack, receipt) = if event.kind.is_decision() {
            let (sender, receiver) = oneshot::channel();
            (Some(sender), Receipt::pending(receiver))
        } else {
            (None, Receipt::none())
        };
        match self.queue.push(Job {
            event: Some(event),
            ack,
            adaptation: None,
        }) {
            Ok(()) => receipt,
            Err(job) => {
                fail(job, "feedback recording has stopped");
                Receipt::none()
            }
        }
    }

    /// A receipt resolved once everything queued before it is committed.
    pub fn flush(&self) -> Receipt {
        let (sender, receiver) = oneshot::channel();
        match self.queue.push(Job {
            event: None,
            ack: Some(sender),
            adaptation: None,
        }) {
            Ok(()) => Receipt::pending(receiver),
            Err(_) => Receipt::none(),
        }
    }

    /// Queues work on the adaptation's table without blocking; the receipt resolves once it is
    /// committed (a `Load` delivers its rows on the writer thread).
    pub fn adaptation(&self, job: AdaptationJob) -> Receipt {
        let (sender, receiver) = oneshot::channel();
        match self.queue.push(Job {
            event: None,
            ack: Some(sender),
            adaptation: Some(job),
        }) {
            Ok(()) => Receipt::pending(receiver),
            Err(_) => Receipt::none(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// Jobs waiting (for benchmarks).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Shown events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped_total()
    }

    /// Stops accepting events, lets the thread commit what is queued (waiting at most `wait`).
    pub fn stop(mut self, wait: Duration) {
        self.queue.close();
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + wait;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!("the feedback writer is still busy; leaving it to finish alone");
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.queue.close();
    }
}

fn fail(job: Job, message: &str) {
    if let Some(ack) = job.ack {
        let _ = ack.send(Err(message.to_string()));
    }
}

fn run(
    path: PathBuf,
    raw_paths: bool,
    max_mb: u64,
    queue: Arc<EventQueue>,
    status: Arc<watch::Sender<FeedbackStatus>>,
) {
    let shown_path = Some(path.display().to_string());
    let publish = |state: FeedbackState, message: String, dropped: u64| {
        status.send_replace(FeedbackStatus {
            state,
            message,
            path: shown_path.clone(),
            dropped_events: dropped,
        });
    };
    let give_up = |message: String| {
        tracing::error!(
            target: "ghostline::feedback",
            "feedback recording is OFF: {message} (suggestions continue; fix the file or set feedbackPath / feedback=false)"
        );
        queue.close();
        for job in queue.drain() {
            fail(job, &message);
        }
        publish(
            FeedbackState::Off,
            format!("feedback recording is off: {message}"),
            queue.dropped_total(),
        );
    };
    let mut connection = match schema::open(&path, max_mb) {
        Ok(connection) => connection,
        Err(error) => return give_up(error.to_string()),
    };
    let now = now_ms();
    if let Err(error) = store::sweep_ignored(&connection, now - store::IGNORE_AFTER_MS, now) {
        return give_up(format!("cannot update {}: {error}", path.display()));
    }
    tracing::info!(target: "ghostline::feedback", path = %path.display(), "feedback recording on");
    publish(
        FeedbackState::On,
        format!("recording feedback locally in {}", path.display()),
        0,
    );
    let mut last_sweep = Instant::now();
    let mut published_dropped = 0;
    loop {
        let batch = queue.pop_batch(BATCH_MAX, Duration::from_secs(1));
        let idle = batch.jobs.is_empty() && batch.dropped == 0;
        if idle && last_sweep.elapsed() < SWEEP_EVERY && !batch.closed {
            continue;
        }
        let mut acks = Vec::new();
        let mut events = Vec::with_capacity(batch.jobs.len());
        let mut adaptation_jobs = Vec::new();
        for job in batch.jobs {
            events.extend(job.event);
            acks.extend(job.ack);
            adaptation_jobs.extend(job.adaptation);
        }
        let now = now_ms();
        let result = if idle {
            store::sweep_ignored(&connection, now - store::IGNORE_AFTER_MS, now).map(|_| ())
        } else {
            store::apply_batch(&mut connection, &events, raw_paths, batch.dropped, now).and_then(
                |()| {
                    adaptation::run_jobs(
                        &mut connection,
                        adaptation_jobs,
                        adaptation::budget(max_mb),
                    )
                },
            )
        };
        last_sweep = Instant::now();
        match result {
            Ok(()) => {
                for ack in acks {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(error) => {
                let message = format!("cannot write to {}: {error}", path.display());
                for ack in acks {
                    let _ = ack.send(Err(message.clone()));
                }
                return give_up(message);
            }
        }
        let dropped = queue.dropped_total();
        if dropped != published_dropped {
            published_dropped = dropped;
            publish(
                FeedbackState::On,
                format!("recording feedback locally in {}", path.display()),
                dropped,
            );
        }
        if batch.closed {
            return;
        }
    }
}
