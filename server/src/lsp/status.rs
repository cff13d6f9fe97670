//! Status reporting: `ghostline/status` on every model state change, and `$/progress` while the
//! model loads (when the client supports work-done progress).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tower_lsp_server::ls_types::ProgressToken;
use tower_lsp_server::{NotCancellable, OngoingProgress, Unbounded};

use super::ext::{StatusNotification, StatusParams};
use super::state::Shared;
use crate::model::worker::ModelState;

static PROGRESS_COUNTER: AtomicU64 = AtomicU64::new(1);

/// Sends the current status once.
pub async fn send_current(shared: &Shared) {
    let (state, message, model) = shared.status();
    tracing::info!(?state, %message, "status");
    let (model, device) = model.map_or((None, None), |(name, device)| (Some(name), Some(device)));
    shared
        .client
        .send_notification::<StatusNotification>(StatusParams {
            state,
            message,
            model,
            device,
            feedback: Some(shared.feedback.status()),
        })
        .await;
}

/// Resends the status whenever the feedback store's status changes (it starts, or fails).
pub fn spawn_feedback_reporter(shared: Arc<Shared>) {
    let Some(mut statuses) = shared.feedback.subscribe() else {
        return;
    };
    // The store may have started (or failed) before this subscription: report it once now.
    statuses.mark_changed();
    tokio::spawn(async move {
        while statuses.changed().await.is_ok() {
            let status = statuses.borrow_and_update().clone();
            tracing::info!(state = ?status.state, message = %status.message, "feedback status");
            send_current(&shared).await;
        }
    });
}

/// Watches the model state for the server's lifetime, sending a status for each change.
pub fn spawn_reporter(shared: Arc<Shared>) {
    let mut states = shared.worker.subscribe();
    tokio::spawn(async move {
        let mut progress: Option<OngoingProgress<Unbounded, NotCancellable>> = None;
        loop {
            let state = states.borrow_and_update().clone();
            match &state {
                ModelState::Loading { description } => {
                    if progress.is_none() && shared.client_supports_progress.load(Ordering::SeqCst)
                    {
                        progress = begin_progress(&shared, description).await;
                    }
                }
                ModelState::Ready { .. } | ModelState::Failed { .. } => {
                    if let Some(ongoing) = progress.take() {
                        let message = match &state {
                            ModelState::Ready { .. } => "model ready".to_string(),
                            _ => "model failed to load".to_string(),
                        };
                        ongoing.finish_with_message(message).await;
                    }
                }
                ModelState::NotLoaded => {}
            }
            if !matches!(state, ModelState::NotLoaded) {
                send_current(&shared).await;
            }
            if states.changed().await.is_err() {
                return;
            }
        }
    });
}

async fn begin_progress(
    shared: &Shared,
    description: &str,
) -> Option<OngoingProgress<Unbounded, NotCancellable>> {
    let token = progress_token(shared, "model-load").await?;
    Some(
        shared
            .client
            .progress(token, "ghostline")
            .with_message(format!("loading model ({description})"))
            .begin()
            .await,
    )
}

/// A new work-done progress token `ghostline/<kind>/<n>` the client accepted, or `None` when it
/// refused one (then there is no progress to report).
pub(super) async fn progress_token(shared: &Shared, kind: &str) -> Option<ProgressToken> {
    let token = ProgressToken::String(format!(
        "ghostline/{kind}/{}",
        PROGRESS_COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    if let Err(error) = shared.client.create_work_done_progress(token.clone()).await {
        tracing::debug!(%error, "client refused a progress token");
        return None;
    }
    Some(token)
}
