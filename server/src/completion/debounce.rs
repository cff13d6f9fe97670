//! Server-side debounce: wait a little before calling the model, and give up if a newer request
//! or an edit arrived meanwhile.

use std::time::Duration;

use crate::model::CancelFlag;

/// How often the wait checks for cancellation.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Waits `delay`; returns `false` as soon as `cancel` is set (the request is superseded).
pub async fn debounce(delay: Duration, cancel: &CancelFlag) -> bool {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return true;
        }
        tokio::time::sleep((deadline - now).min(POLL_INTERVAL)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_then_answers_and_stops_early_when_cancelled() {
        let cancel = CancelFlag::new();
        let started = std::time::Instant::now();
        assert!(debounce(Duration::from_millis(30), &cancel).await);
        assert!(started.elapsed() >= Duration::from_millis(30));

        let cancel_later = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cancel_later.cancel();
        });
        let started = std::time::Instant::now();
        assert!(!debounce(Duration::from_secs(5), &cancel).await);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
