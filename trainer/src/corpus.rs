//! Reading the corpus built by `scripts/corpus/gather.sh`: one JSON document per line.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// One source file of the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    /// `rust` or `python`.
    pub lang: String,
    /// The crate or package the file belongs to (the unit of the held-out split).
    pub group: String,
    /// `name-version/relative/path`.
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// Reads documents from a JSONL file until `max_bytes` of text have been read (`None`: all).
pub fn read_documents(path: &Path, max_bytes: Option<usize>) -> Result<Vec<Document>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening corpus file {}", path.display()))?;
    let mut documents = Vec::new();
    let mut total = 0usize;
    for (line_idx, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let document: Document = serde_json::from_str(&line).with_context(|| {
            format!("{}:{}: not a corpus document", path.display(), line_idx + 1)
        })?;
        total += document.text.len();
        documents.push(document);
        if max_bytes.is_some_and(|max| total >= max) {
            break;
        }
    }
    Ok(documents)
}
