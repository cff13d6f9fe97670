//! The bounded queue between the LSP handlers and the writer thread.
//!
//! Invariant: pushing never blocks on the database. When the queue holds `capacity` jobs, the
//! oldest *shown-only* event is dropped (and counted) to make room; accepts, rejects and flush
//! requests are never dropped (they may take the queue past its capacity: they come at human
//! speed, one per decision).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::event::{FeedbackEvent, FeedbackKind};

/// One unit of work for the writer.
pub struct Job {
    /// The event to write; `None` for a flush (only the acknowledgement).
    pub event: Option<FeedbackEvent>,
    /// Resolved once the job is committed (or failed).
    pub ack: Option<oneshot::Sender<Result<(), String>>>,
    /// Work on the adaptation's table (never dropped).
    pub adaptation: Option<super::adaptation::AdaptationJob>,
}

impl Job {
    fn droppable(&self) -> bool {
        self.ack.is_none()
            && self
                .event
                .as_ref()
                .is_some_and(|event| event.kind == FeedbackKind::Shown)
    }
}

/// What [`EventQueue::pop_batch`] hands the writer.
pub struct Batch {
    /// Jobs in arrival order.
    pub jobs: Vec<Job>,
    /// Shown events dropped since the last batch.
    pub dropped: u64,
    /// The queue was closed: write these and stop.
    pub closed: bool,
}

/// The queue.
pub struct EventQueue {
    inner: Mutex<Inner>,
    ready: Condvar,
    capacity: usize,
}

struct Inner {
    jobs: VecDeque<Job>,
    dropped_since_batch: u64,
    dropped_total: u64,
    closed: bool,
}

impl EventQueue {
    /// A queue holding `capacity` droppable jobs.
    pub fn new(capacity: usize) -> EventQueue {
        EventQueue {
            inner: Mutex::new(Inner {
                jobs: VecDeque::with_capacity(capacity),
                dropped_since_batch: 0,
                dropped_total: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a job; returns it back when the queue is closed.
    pub fn push(&self, job: Job) -> Result<(), Job> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.closed {
            return Err(job);
        }
        if inner.jobs.len() >= self.capacity {
            match inner.jobs.iter().position(Job::droppable) {
                Some(oldest) => {
                    inner.jobs.remove(oldest);
                }
                None if job.droppable() => {
                    inner.dropped_since_batch += 1;
                    inner.dropped_total += 1;
                    return Ok(());
                }
                // Only decisions queued and this is one too: keep it, past the capacity.
                None => {
                    inner.jobs.push_back(job);
                    drop(inner);
                    self.ready.notify_one();
                    return Ok(());
                }
            }
            inner.dropped_since_batch += 1;
            inner.dropped_total += 1;
        }
        inner.jobs.push_back(job);
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits up to `wait` for jobs, then takes up to `max` of them.
    pub fn pop_batch(&self, max: usize, wait: Duration) -> Batch {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.jobs.is_empty() && !inner.closed {
            inner = self
                .ready
                .wait_timeout(inner, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let take = inner.jobs.len().min(max);
        let jobs = inner.jobs.drain(..take).collect();
        let dropped = std::mem::take(&mut inner.dropped_since_batch);
        Batch {
            jobs,
            dropped,
            closed: inner.closed && inner.jobs.is_empty(),
        }
    }

    /// Takes every queued job (when the writer gives up: their acks must still be answered).
    pub fn drain(&self) -> Vec<Job> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.jobs.drain(..).collect()
    }

    /// Stops accepting jobs; the writer finishes what is queued.
    pub fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.ready.notify_all();
    }

    /// Shown events dropped since the queue was made.
    pub fn dropped_total(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dropped_total
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .jobs
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, kind: FeedbackKind) -> (Job, Option<oneshot::Receiver<Result<(), String>>>) {
        let (ack, receiver) = if kind.is_decision() {
            let (sender, receiver) = oneshot::channel();
            (Some(sender), Some(receiver))
        } else {
            (None, None)
        };
        (
            Job {
                event: Some(FeedbackEvent {
                    suggestion_id: id.into(),
                    kind,
                    at_ms: 0,
                    suggestion: None,
                }),
                ack,
                adaptation: None,
            },
            receiver,
        )
    }

    fn ids(batch: &Batch) -> Vec<String> {
        batch
            .jobs
            .iter()
            .map(|job| job.event.as_ref().unwrap().suggestion_id.clone())
            .collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_shown_events_and_never_decisions() {
        let queue = EventQueue::new(3);
        for (id, kind) in [
            ("a1", FeedbackKind::Accepted),
            ("s1", FeedbackKind::Shown),
            ("s2", FeedbackKind::Shown),
            ("s3", FeedbackKind::Shown),    // drops s1
            ("r1", FeedbackKind::Rejected), // drops s2
            ("r2", FeedbackKind::Rejected), // drops s3
            ("a2", FeedbackKind::Accepted), // nothing droppable: the queue grows past 3
            ("s4", FeedbackKind::Shown),    // only decisions queued: s4 itself is dropped
        ] {
            let (job, _) = job(id, kind);
            assert!(queue.push(job).is_ok());
        }
        assert_eq!(queue.dropped_total(), 4);
        let batch = queue.pop_batch(100, Duration::ZERO);
        assert_eq!(ids(&batch), ["a1", "r1", "r2", "a2"]);
        assert_eq!(batch.dropped, 4);
        assert_eq!(queue.pop_batch(100, Duration::ZERO).dropped, 0);
    }

    #[test]
    fn a_closed_queue_returns_jobs_and_reports_closed_once_empty() {
        let queue = EventQueue::new(3);
        let (first, _) = job("s1", FeedbackKind::Shown);
        queue.push(first).unwrap_or_else(|_| panic!("open queue"));
        queue.close();
        let (second, _) = job("s2", FeedbackKind::Shown);
        assert!(queue.push(second).is_err());
        let batch = queue.pop_batch(100, Duration::from_secs(5));
        assert_eq!(ids(&batch), ["s1"]);
        assert!(batch.closed);
    }
}
