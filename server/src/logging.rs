//! Tracing set-up: stderr or a log file, never stdout (stdout carries the LSP protocol). The
//! filter can be changed at run time (the `logLevel` setting).

use std::path::Path;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

static FILTER_HANDLE: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Starts logging at `level` (overridden by `GHOSTLINE_LOG`, which takes a full filter such as
/// `ghostline=debug`) to `log_file` when given, else stderr. A second call does nothing.
pub fn init(level: &str, log_file: Option<&Path>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_env("GHOSTLINE_LOG")
        .or_else(|_| EnvFilter::try_new(with_quiet_probes(level)))
        .map_err(|error| anyhow::anyhow!("invalid log level {level:?}: {error}"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let opened = log_file.map(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| {
                format!(
                    "cannot open log file {}: {error}; logging to stderr instead",
                    path.display()
                )
            })
    });
    let writer = match opened {
        Some(Ok(file)) => {
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        // An unwritable log location (read-only directory, missing parent) must not stop the
        // server: log to stderr and tell the editor once it connects.
        Some(Err(warning)) => {
            startup_warnings().push(warning);
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr)
        }
        None => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = FILTER_HANDLE.set(handle);
    }
    for warning in startup_warnings().iter() {
        tracing::warn!("{warning}");
    }
    Ok(())
}

fn startup_warnings() -> std::sync::MutexGuard<'static, Vec<String>> {
    static WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    WARNINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Problems met while setting up logging, for the editor (each returned once).
pub fn take_startup_warnings() -> Vec<String> {
    std::mem::take(&mut *startup_warnings())
}

/// Changes the log filter, unless `GHOSTLINE_LOG` fixed it.
pub fn set_level(level: &str) -> Result<(), String> {
    if std::env::var_os("GHOSTLINE_LOG").is_some() {
        return Ok(());
    }
    let filter = EnvFilter::try_new(with_quiet_probes(level))
        .map_err(|error| format!("invalid log level {level:?}: {error}"))?;
    match FILTER_HANDLE.get() {
        Some(handle) => handle.reload(filter).map_err(|error| error.to_string()),
        None => Ok(()),
    }
}

/// The GPU adapter probe of `device = auto` makes wgpu's GL backend log an ERROR on every machine
/// without a GPU driver ("eglInitialize ... failed to load driver"), which is expected and would
/// only alarm users; the model crate reports the device it chose itself. Silence `wgpu_hal` unless
/// the user's filter names it.
fn with_quiet_probes(level: &str) -> String {
    if level.contains("wgpu_hal") {
        level.to_string()
    } else {
        format!("{level},wgpu_hal=off")
    }
}
