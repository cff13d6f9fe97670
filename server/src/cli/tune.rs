//! `ghostline tune --workspace DIR`: fine-tunes the last layers of the local model on the
//! workspace's source files (the index's walk: ignore rules, languages and size cap as the
//! server's) and on the suggestions accepted in the feedback store, and writes the tuned
//! tensors as an overlay next to the store (`adapt::tuned`). The server puts it onto the model
//! at load while `tunedWeights` is on; `ghostline feedback forget --adaptation` deletes it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::replay_tune::TuneArgs;
use super::stats::database;
use crate::adapt::tuned::{self, TuneText, base_fingerprint};
use crate::feedback::adaptation::{self, LearntKind};
use crate::feedback::schema;
use crate::index::IndexLimits;
use crate::index::extract::{DefinitionExtractor, TreeSitterExtractor};
use crate::model::{DevicePreference, ModelSpec};

/// `ghostline tune`.
#[derive(Debug, Args)]
pub struct TuneCommandArgs {
    /// The workspace folder to tune on.
    #[arg(long, value_name = "DIR")]
    pub workspace: PathBuf,
    /// Most seconds of training.
    #[arg(long, default_value_t = 120.0)]
    pub seconds: f64,
    /// Most training tokens (the workspace's files in walk order, then accepted suggestions;
    /// the latest are kept).
    #[arg(long, default_value_t = 200_000)]
    pub max_tokens: usize,
    /// The feedback database whose accepted suggestions are used and next to which the overlay
    /// is written (default: $XDG_DATA_HOME/ghostline/feedback.sqlite3).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// A model directory; default: the embedded model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Where to run the model.
    #[arg(long, default_value = "auto", value_parser = super::parse_device)]
    pub device: DevicePreference,
    /// Training options (`--tune-layers`, `--tune-lr`, `--tune-epochs`, `--tune-fim-rate`,
    /// `--tune-max-steps`; the replay-only ones are ignored).
    #[command(flatten)]
    pub tune: TuneArgs,
}

/// Runs `ghostline tune`.
pub fn run(args: TuneCommandArgs) -> anyhow::Result<()> {
    let root = args
        .workspace
        .canonicalize()
        .with_context(|| format!("cannot open the folder {}", args.workspace.display()))?;
    let limits = IndexLimits::default();
    let extractor = TreeSitterExtractor;
    let walked = crate::index::walk::source_files(&root, limits.max_files, limits.max_file_bytes, &|p| {
        extractor.handles(p)
    });
    let mut texts: Vec<TuneText> = walked
        .files
        .iter()
        .filter_map(|path| {
            let text = crate::index::walk::read_source(path)?;
            Some(TuneText {
                path: path.strip_prefix(&root).unwrap_or(path).display().to_string(),
                text,
            })
        })
        .collect();
    let files = texts.len();
    let db = database(args.db)?;
    let mut accepted = 0;
    if let Some(connection) = schema::open_existing(&db)? {
        let rows = adaptation::load(&connection, adaptation::MAX_STORED_BYTES)
            .with_context(|| format!("cannot read {}", db.display()))?;
        for row in rows.into_iter().filter(|r| r.kind == LearntKind::Accepted) {
            accepted += 1;
            texts.push(TuneText {
                path: String::new(),
                text: format!("{}{}", row.before, row.text),
            });
        }
    }
    if texts.is_empty() {
        anyhow::bail!("{} holds no source files to tune on", root.display());
    }
    eprintln!(
        "tuning on {files} files of {} and {accepted} accepted suggestions",
        root.display()
    );
    let spec = ModelSpec {
        path: args.model.clone(),
        device: args.device,
        ..ModelSpec::default()
    };
    let mut engine = crate::model::engine::load_engine(&spec)
        .with_context(|| format!("loading {}", spec.describe()))?;
    let fingerprint = base_fingerprint(engine.config(), engine.model());
    let mut options = args.tune.options(args.seconds);
    options.max_tokens = args.max_tokens;
    let (overlay, report) = tuned::tune_engine(&mut engine, &texts, &[], &options, &mut |step, total, loss| {
        if step == 1 || step % 10 == 0 || step == total {
            eprintln!("  step {step}/{total} loss {loss:.3}");
        }
    })?;
    let store_dir = db.parent().map(PathBuf::from).unwrap_or_default();
    let path = tuned::overlay_path(&store_dir, &root);
    tuned::store_overlay(&path, &fingerprint, &overlay, &report)?;
    println!(
        "wrote {} ({} tensors; {} steps, {} tokens trained of {} in the data, loss {:.3} -> {:.3}, {:.1} s)",
        path.display(),
        overlay.len(),
        report.steps,
        report.tokens_seen,
        report.data_tokens,
        report.first_loss,
        report.last_loss,
        report.seconds
    );
    Ok(())
}
