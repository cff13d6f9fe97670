//! Which completion request is current for each document; a newer request or an edit cancels the
//! older one (Neovim never sends `$/cancelRequest` for superseded requests).
//!
//! **Architecture invariant:** tickets are handed out in message-arrival order (by the ordered
//! sync layer), so "newer" means "arrived later", whatever order handlers happen to run in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use crate::model::CancelFlag;

/// One request's claim on its document.
#[derive(Clone, Debug)]
pub struct Ticket {
    /// Arrival sequence number (unique in the process).
    pub seq: u64,
    /// Set when a newer request or an edit supersedes this one.
    pub cancel: CancelFlag,
}

/// A speculative generation running for a document (after an accept).
#[derive(Clone, Debug)]
pub struct Speculation {
    /// The cache key it will fill.
    pub key: u64,
    /// Cancels it.
    pub cancel: CancelFlag,
    /// Turns `true` when it has finished (stored or not).
    pub done: watch::Receiver<bool>,
}

#[derive(Default)]
struct DocumentFlights {
    current: Option<Ticket>,
    speculation: Option<Speculation>,
}

/// Per-document in-flight requests.
#[derive(Default)]
pub struct InFlight {
    documents: Mutex<HashMap<String, DocumentFlights>>,
    next_seq: AtomicU64,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DocumentFlights>> {
        self.documents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a request for `uri`, cancelling the one before it.
    pub fn begin(&self, uri: &str) -> Ticket {
        let ticket = Ticket {
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst) + 1,
            cancel: CancelFlag::new(),
        };
        let mut documents = self.lock();
        let flights = documents.entry(uri.to_string()).or_default();
        if let Some(previous) = flights.current.replace(ticket.clone()) {
            previous.cancel.cancel();
        }
        ticket
    }

    /// Marks a request finished (it no longer needs cancelling).
    pub fn finish(&self, uri: &str, seq: u64) {
        let mut documents = self.lock();
        if let Some(flights) = documents.get_mut(uri)
            && flights
                .current
                .as_ref()
                .is_some_and(|ticket| ticket.seq == seq)
        {
            flights.current = None;
            // Forget documents with nothing in flight: requests for URIs that were never open
            // must not grow the map.
            if flights.speculation.is_none() {
                documents.remove(uri);
            }
        }
    }

    /// Documents with a request or speculation in flight.
    pub fn tracked_documents(&self) -> usize {
        self.lock().len()
    }

    /// An edit to `uri`: the request in flight answers nothing. Speculation survives edits (the
    /// accept that started it is itself an edit); a request for another position cancels it.
    pub fn cancel_for_edit(&self, uri: &str) {
        if let Some(flights) = self.lock().get_mut(uri)
            && let Some(current) = flights.current.take()
        {
            current.cancel.cancel();
        }
    }

    /// The document closed: cancel everything and forget it.
    pub fn close(&self, uri: &str) {
        if let Some(flights) = self.lock().remove(uri) {
            if let Some(current) = flights.current {
                current.cancel.cancel();
            }
            if let Some(speculation) = flights.speculation {
                speculation.cancel.cancel();
            }
        }
    }

    /// Registers a speculation for `uri`, cancelling an older one.
    pub fn start_speculation(&self, uri: &str, speculation: Speculation) {
        let mut documents = self.lock();
        let flights = documents.entry(uri.to_string()).or_default();
        if let Some(previous) = flights.speculation.replace(speculation) {
            previous.cancel.cancel();
        }
    }

    /// The speculation for `uri` if it fills `key`; any other speculation is cancelled.
    pub fn speculation_for(&self, uri: &str, key: u64) -> Option<Speculation> {
        let mut documents = self.lock();
        let flights = documents.get_mut(uri)?;
        let speculation = flights.speculation.take()?;
        if speculation.key == key && !*speculation.done.borrow() {
            flights.speculation = Some(speculation.clone());
            Some(speculation)
        } else {
            speculation.cancel.cancel();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_requests_and_edits_cancel_older_ones_per_document() {
        let in_flight = InFlight::default();
        let first = in_flight.begin("a");
        let other_document = in_flight.begin("b");
        let second = in_flight.begin("a");
        assert!(first.cancel.is_cancelled());
        assert!(!second.cancel.is_cancelled());
        assert!(!other_document.cancel.is_cancelled());
        assert!(second.seq > first.seq);
        in_flight.cancel_for_edit("a");
        assert!(second.cancel.is_cancelled());
        let third = in_flight.begin("b");
        in_flight.finish("b", third.seq);
        in_flight.close("b");
        assert!(
            !third.cancel.is_cancelled(),
            "finished requests are left alone"
        );
        assert!(other_document.cancel.is_cancelled());
    }

    #[test]
    fn speculation_is_kept_only_for_its_own_key() {
        let in_flight = InFlight::default();
        let (_done_sender, done) = watch::channel(false);
        let cancel = CancelFlag::new();
        in_flight.start_speculation(
            "a",
            Speculation {
                key: 7,
                cancel: cancel.clone(),
                done,
            },
        );
        in_flight.cancel_for_edit("a");
        assert!(in_flight.speculation_for("a", 7).is_some());
        assert!(!cancel.is_cancelled());
        assert!(in_flight.speculation_for("a", 8).is_none());
        assert!(cancel.is_cancelled());
    }

    /// Regression (reliability campaign): requests for documents that are not open left an
    /// entry behind for each URI.
    #[test]
    fn finished_requests_leave_nothing_behind() {
        let in_flight = InFlight::default();
        for n in 0..100 {
            let uri = format!("file:///never-open/{n}");
            let ticket = in_flight.begin(&uri);
            in_flight.finish(&uri, ticket.seq);
        }
        assert_eq!(in_flight.tracked_documents(), 0);
    }
}
