//! Where the LSP server finds the workspace's tuned weights (`ghostline tune`), and their reset.
//! The overlay itself is read and checked by the model loader (`crate::adapt::tuned`).

use std::path::PathBuf;

use super::state::Shared;
use crate::adapt::tuned;
use crate::config::ServerConfig;
use crate::model::ModelSpec;

/// The model spec to load: the settings' spec with the workspace's overlay file when
/// `tunedWeights` is on and the local engine runs (the loader ignores a missing file).
pub fn model_spec(shared: &Shared, config: &ServerConfig) -> ModelSpec {
    let mut spec = config.model.clone();
    spec.tuned_overlay = overlay_file(shared, config);
    spec
}

fn overlay_file(shared: &Shared, config: &ServerConfig) -> Option<PathBuf> {
    if !config.tuned_weights || config.model.backend.kind.is_remote() {
        return None;
    }
    let root = shared.index.root()?;
    let db = config.feedback.resolved_path().ok()?;
    Some(tuned::overlay_path(db.parent()?, &root))
}

/// Part of `ghostline.resetAdaptation`: deletes the tuned weights next to the store and, when
/// any were deleted, reloads the model so it runs on its base weights again.
pub fn reset(shared: &Shared) {
    let config = shared.config();
    let Some(dir) = config
        .feedback
        .resolved_path()
        .ok()
        .and_then(|db| db.parent().map(PathBuf::from))
    else {
        return;
    };
    match tuned::delete_overlays(&dir) {
        Ok(0) => {}
        Ok(deleted) => {
            tracing::info!(deleted, dir = %dir.display(), "tuned weights deleted");
            if config.enable {
                shared.worker.load(model_spec(shared, &config));
            }
        }
        Err(err) => tracing::warn!(%err, dir = %dir.display(), "cannot delete the tuned weights"),
    }
}
