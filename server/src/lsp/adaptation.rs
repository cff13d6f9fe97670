//! Takes in the adaptation state loaded from the feedback store (see `crate::adapt::learner`) on
//! the model thread as soon as the model is ready, so the first suggestion does not pay for
//! tokenizing it (up to a few MiB of text).

use std::sync::Arc;

use super::state::Shared;
use crate::model::worker::ModelState;

/// Waits (in a task) for the model to be ready once, then absorbs what the inbox holds.
pub fn absorb_when_ready(shared: Arc<Shared>) {
    let mut states = shared.worker.subscribe();
    tokio::spawn(async move {
        loop {
            if matches!(*states.borrow_and_update(), ModelState::Ready { .. }) {
                break;
            }
            if states.changed().await.is_err() {
                return;
            }
        }
        let adaptation = shared.adaptation.clone();
        let started = std::time::Instant::now();
        let absorbed = shared
            .worker
            .run(move |model| {
                let mut adaptation = adaptation.lock().unwrap_or_else(|p| p.into_inner());
                adaptation.absorb_pending(model);
                adaptation.text_cache().len()
            })
            .await;
        if let Ok(bytes) = absorbed {
            tracing::debug!(
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "adaptation absorbed at start"
            );
        }
    });
}
