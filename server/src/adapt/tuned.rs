//! Tuned weights (`ghostline tune`, issue 10): the last layers of the local model fine-tuned on a
//! workspace (training in `ghostline_train::tune`), kept as an overlay file next to the feedback
//! store, and put onto the loaded engine when the `tunedWeights` setting is on. A missing,
//! corrupt or mismatched overlay leaves the engine on its base weights, with a log line.

use std::path::{Path, PathBuf};

use ghostline_model::Engine;
pub use ghostline_train::tune::PreferencePair;
pub use ghostline_train::tune::{
    Overlay, OverlayMeta, TuneError, TuneOptions, TuneReport, TuneText, base_fingerprint,
};
use ghostline_train::tune::{merge, read_overlay, tune_with_preferences, write_overlay};

/// File name of a workspace's overlay inside the store directory.
pub const OVERLAY_PREFIX: &str = "tuned-";

/// Where the overlay tuned on `workspace` lives: `<store dir>/tuned-<hash of the workspace
/// path>.safetensors` (the store directory holds the feedback database).
pub fn overlay_path(store_dir: &Path, workspace: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let canonical = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    store_dir.join(format!("{OVERLAY_PREFIX}{hex}.safetensors"))
}

/// Deletes every overlay in `store_dir`; returns how many were deleted.
pub fn delete_overlays(store_dir: &Path) -> std::io::Result<usize> {
    let mut deleted = 0;
    let entries = match std::fs::read_dir(store_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(OVERLAY_PREFIX) && name.ends_with(".safetensors") {
            std::fs::remove_file(entry.path())?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Tunes `engine`'s weights on `texts` and puts the result into the engine; returns the overlay
/// (to store) and the run's numbers.
pub fn tune_engine(
    engine: &mut Engine,
    texts: &[TuneText],
    pairs: &[PreferencePair],
    options: &TuneOptions,
    progress: &mut dyn FnMut(usize, usize, f32),
) -> Result<
    (
        Vec<(ghostline_model::import::TensorSpec, Vec<f32>)>,
        TuneReport,
    ),
    TuneError,
> {
    let tuned = tune_with_preferences(
        engine.config(),
        engine.model(),
        engine.tokenizer(),
        texts,
        pairs,
        options,
        progress,
    )?;
    engine.replace_weights(tuned.model)?;
    Ok((tuned.overlay, tuned.report))
}

/// A progress callback for [`tune_engine`] that prints the first, every tenth and the last
/// step's loss to stderr as `  {label} {step}/{total} loss {loss}`.
pub fn print_progress(label: &str) -> impl FnMut(usize, usize, f32) + '_ {
    move |step, total, loss| {
        if step == 1 || step % 10 == 0 || step == total {
            eprintln!("  {label} {step}/{total} loss {loss:.3}");
        }
    }
}

/// Writes a tuned overlay for `engine`'s base weights (call before putting the tuned weights in).
pub fn store_overlay(
    path: &Path,
    fingerprint: &str,
    overlay: &[(ghostline_model::import::TensorSpec, Vec<f32>)],
    report: &TuneReport,
) -> Result<(), TuneError> {
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    write_overlay(
        path,
        overlay,
        &OverlayMeta {
            base_model: fingerprint.to_string(),
            created_ms,
            report: report.clone(),
        },
    )
}

/// Reads the overlay at `path` and puts it onto `engine`'s (base) weights. On any error the
/// engine is left unchanged.
pub fn apply_overlay(engine: &mut Engine, path: &Path) -> Result<OverlayMeta, TuneError> {
    let overlay: Overlay = read_overlay(path)?;
    let fingerprint = base_fingerprint(engine.config(), engine.model());
    let model = merge(
        engine.config(),
        engine.model(),
        &fingerprint,
        &overlay,
        path,
    )?;
    engine.replace_weights(model)?;
    Ok(overlay.meta)
}

/// [`apply_overlay`] for the model loader: a missing file is silent, any other failure is
/// logged and the engine keeps its base weights. Returns whether the overlay is in use.
pub fn load_if_present(engine: &mut Engine, path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    match apply_overlay(engine, path) {
        Ok(meta) => {
            tracing::info!(
                file = %path.display(),
                steps = meta.report.steps,
                tokens = meta.report.tokens_seen,
                "tuned weights loaded"
            );
            true
        }
        Err(err) => {
            tracing::warn!(
                file = %path.display(),
                %err,
                "tuned weights not used (running on the base weights); `ghostline tune` writes them again"
            );
            false
        }
    }
}
