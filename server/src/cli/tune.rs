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
use crate::adapt::tuned::{self, PreferencePair, TuneText, base_fingerprint};
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
    /// Share of the time for preferences (DPO): each rejected suggestion in the store whose
    /// place is found in the workspace (the 48 chars before it) against the line written there.
    /// 0 (default): none — the replay measured no gain from it (docs/benchmarks.md).
    #[arg(long, default_value_t = 0.0)]
    pub preferences: f64,
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
    let walked =
        crate::index::walk::source_files(&root, limits.max_files, limits.max_file_bytes, &|p| {
            extractor.handles(p)
        });
    let mut texts: Vec<TuneText> = walked
        .files
        .iter()
        .filter_map(|path| {
            let text = crate::index::walk::read_source(path)?;
            Some(TuneText {
                path: path
                    .strip_prefix(&root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
                text,
            })
        })
        .collect();
    let files = texts.len();
    let db = database(args.db)?;
    let mut accepted = 0;
    let mut pairs = Vec::new();
    if let Some(connection) = schema::open_existing(&db)? {
        let rows = adaptation::load(&connection, adaptation::MAX_STORED_BYTES)
            .with_context(|| format!("cannot read {}", db.display()))?;
        for row in rows {
            match row.kind {
                LearntKind::Accepted => {
                    accepted += 1;
                    texts.push(TuneText {
                        path: String::new(),
                        text: format!("{}{}", row.before, row.text),
                    });
                }
                LearntKind::Rejected if args.preferences > 0.0 => {
                    if let Some(pair) = preference_pair(&texts[..files], &row.before, &row.text) {
                        pairs.push(pair);
                    }
                }
                _ => {}
            }
        }
    }
    if texts.is_empty() {
        anyhow::bail!("{} holds no source files to tune on", root.display());
    }
    eprintln!(
        "tuning on {files} files of {} and {accepted} accepted suggestions{}",
        root.display(),
        if args.preferences > 0.0 {
            format!(", {} preference pairs", pairs.len())
        } else {
            String::new()
        }
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
    options.preference_share = args.preferences;
    let (overlay, report) = tuned::tune_engine(
        &mut engine,
        &texts,
        &pairs,
        &options,
        &mut tuned::print_progress("step"),
    )?;
    let store_dir = db.parent().map(PathBuf::from).unwrap_or_default();
    let path = tuned::overlay_path(&store_dir, &root);
    tuned::store_overlay(&path, &fingerprint, &overlay, &report)?;
    println!(
        "wrote {} ({} tensors; {})",
        path.display(),
        overlay.len(),
        report.summary()
    );
    Ok(())
}

/// Chars before a rejected suggestion that must be found in the workspace to know what was
/// written there instead.
const PLACE_CHARS: usize = 48;

/// A preference from a rejected suggestion: the line written at its place in the workspace (the
/// first file where the `PLACE_CHARS` before it occur) is chosen over the suggestion's first line.
fn preference_pair(files: &[TuneText], before: &str, rejected: &str) -> Option<PreferencePair> {
    let start = before
        .char_indices()
        .rev()
        .nth(PLACE_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let place = &before[start..];
    if place.chars().count() < 16 {
        return None; // too little to know the place
    }
    let rejected = rejected.split('\n').next().unwrap_or("");
    files.iter().find_map(|file| {
        let at = memchr::memmem::find(file.text.as_bytes(), place.as_bytes())? + place.len();
        let chosen = file.text[at..].split('\n').next().unwrap_or("");
        (!chosen.trim().is_empty() && chosen != rejected).then(|| PreferencePair {
            context: file.text[..at].to_string(),
            chosen: chosen.to_string(),
            rejected: rejected.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_suggestion_is_paired_with_the_line_written_at_its_place() {
        let files = [TuneText {
            path: "a.py".into(),
            text: "import os\n\ndef spin(widget, turns):\n    return widget.rotate(turns * 360)\n"
                .into(),
        }];
        // (text before the suggestion, suggestion, expected chosen line or None)
        let cases: [(&str, &str, Option<&str>); 5] = [
            (
                "import os\n\ndef spin(widget, turns):\n    return ",
                "None",
                Some("widget.rotate(turns * 360)"),
            ),
            (
                "def spin(widget, turns):\n    return widget.",
                "spin()\nmore",
                Some("rotate(turns * 360)"),
            ),
            (
                "nowhere in the workspace at all, no such text here!\n",
                "x",
                None,
            ),
            (
                "def spin(widget, turns):\n    return ",
                "widget.rotate(turns * 360)",
                None,
            ),
            ("return ", "x", None),
        ];
        for (before, rejected, expected) in cases {
            let pair = preference_pair(&files, before, rejected);
            assert_eq!(
                pair.as_ref().map(|p| p.chosen.as_str()),
                expected,
                "{before:?}"
            );
            if let Some(pair) = pair {
                assert_eq!(pair.rejected, rejected.split('\n').next().unwrap());
                assert!(pair.context.ends_with(&before[before.len() - 20..]));
            }
        }
    }
}
