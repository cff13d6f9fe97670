//! The workspace index: definitions (functions, types, classes, traits, constants...) of the
//! workspace's source files, so the definitions of identifiers used near the cursor can go into
//! the prompt even when their file is not open.
//!
//! - [`walk`] lists the workspace's files, respecting `.gitignore` (and `.ignore`, global git
//!   excludes, hidden files), skipping huge and binary files.
//! - [`extract`] turns one file's text into [`Definition`]s behind the [`DefinitionExtractor`]
//!   trait (the product's extractor uses tree-sitter).
//! - [`WorkspaceIndex`] stores them per file and by name, within [`IndexLimits`].
//! - [`worker`] owns the index on its own thread: the initial build (with progress events) and
//!   the incremental updates (saved, created, changed, deleted files), in arrival order.
//!
//! **Architecture invariant:** memory is bounded: at most `max_files` files, `max_definitions`
//! definitions and `max_text_bytes` bytes of stored definition text; past a cap, new files are
//! not indexed (a warning says so once) while files already indexed keep being updated.
//!
//! **API boundary:** paths in, [`Snippet`]s out; no LSP.

pub mod extract;
pub mod gitignore;
pub mod walk;
pub mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use extract::{DefinitionExtractor, ExtractedDefinition};
pub use worker::{IndexCommand, IndexEvent, IndexHandle};

use crate::related::{Snippet, SnippetKind, bounded_lines};

/// What kind of thing a definition defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DefinitionKind {
    /// A function or method.
    Function,
    /// A struct, class, record, union or type alias.
    Type,
    /// An enum.
    Enum,
    /// A trait, interface or protocol.
    Trait,
    /// A constant or static.
    Constant,
    /// A macro.
    Macro,
    /// A module or namespace.
    Module,
}

/// One indexed definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The defined name.
    pub name: String,
    /// What it defines.
    pub kind: DefinitionKind,
    /// 0-based line where it starts.
    pub line: usize,
    /// Its signature and a bounded part of its body (whole lines).
    pub text: String,
}

/// Caps that bound the index's memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexLimits {
    /// Files indexed at most.
    pub max_files: usize,
    /// Files larger than this are skipped (generated or vendored blobs, minified bundles).
    pub max_file_bytes: u64,
    /// Definitions stored at most, all files together.
    pub max_definitions: usize,
    /// Bytes of definition text stored at most, all files together.
    pub max_text_bytes: usize,
    /// Chars of one definition's text at most (signature first, then as much body as fits).
    pub max_definition_chars: usize,
    /// Lines of one definition's text at most.
    pub max_definition_lines: usize,
}

impl Default for IndexLimits {
    fn default() -> Self {
        IndexLimits {
            max_files: 20_000,
            max_file_bytes: 1024 * 1024,
            max_definitions: 100_000,
            max_text_bytes: 24 * 1024 * 1024,
            max_definition_chars: 1_200,
            max_definition_lines: 24,
        }
    }
}

/// Why a file was not (re)indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// The index is full (files, definitions or text bytes).
    Full,
    /// No extractor handles this file's language.
    Unsupported,
}

/// Numbers for progress messages, logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexStats {
    /// Files with an entry (including those with no definitions).
    pub files: usize,
    /// Definitions stored.
    pub definitions: usize,
    /// Bytes of definition text stored.
    pub text_bytes: usize,
    /// Files left out because a cap was reached.
    pub skipped_full: usize,
}

/// Definitions by file and by name, within [`IndexLimits`].
#[derive(Debug)]
pub struct WorkspaceIndex {
    root: PathBuf,
    limits: IndexLimits,
    files: HashMap<PathBuf, Vec<Arc<Definition>>>,
    by_name: HashMap<String, Vec<(Arc<Path>, Arc<Definition>)>>,
    stats: IndexStats,
}

impl WorkspaceIndex {
    /// An empty index of the workspace at `root`.
    pub fn new(root: PathBuf, limits: IndexLimits) -> WorkspaceIndex {
        WorkspaceIndex {
            root,
            limits,
            files: HashMap::new(),
            by_name: HashMap::new(),
            stats: IndexStats::default(),
        }
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The caps.
    pub fn limits(&self) -> &IndexLimits {
        &self.limits
    }

    /// Current counts.
    pub fn stats(&self) -> IndexStats {
        self.stats
    }

    /// Whether `path` (absolute) has an entry.
    pub fn contains(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    /// The definitions of one file (absolute path), in file order.
    pub fn definitions_in(&self, path: &Path) -> Vec<Definition> {
        self.files
            .get(path)
            .map(|definitions| definitions.iter().map(|d| (**d).clone()).collect())
            .unwrap_or_default()
    }

    /// Replaces the entry of `path` (absolute) with `definitions`. A new file is refused when
    /// the index is full; a file already indexed is always replaced (its old definitions are
    /// freed first), keeping only as many new definitions as the caps allow.
    pub fn replace_file(
        &mut self,
        path: &Path,
        definitions: Vec<ExtractedDefinition>,
    ) -> Result<(), Skipped> {
        let known = self.remove_file(path);
        if !known && self.stats.files >= self.limits.max_files {
            self.stats.skipped_full += 1;
            return Err(Skipped::Full);
        }
        let shared_path: Arc<Path> = Arc::from(path);
        let mut stored = Vec::with_capacity(definitions.len());
        for extracted in definitions {
            let text = bounded_definition_text(&extracted.text, &self.limits);
            if self.stats.definitions + 1 > self.limits.max_definitions
                || self.stats.text_bytes + text.len() > self.limits.max_text_bytes
            {
                if stored.is_empty() && !known {
                    self.stats.skipped_full += 1;
                    return Err(Skipped::Full);
                }
                break;
            }
            self.stats.definitions += 1;
            self.stats.text_bytes += text.len();
            let definition = Arc::new(Definition {
                name: extracted.name,
                kind: extracted.kind,
                line: extracted.line,
                text,
            });
            self.by_name
                .entry(definition.name.clone())
                .or_default()
                .push((shared_path.clone(), definition.clone()));
            stored.push(definition);
        }
        self.stats.files += 1;
        self.files.insert(path.to_path_buf(), stored);
        Ok(())
    }

    /// Removes the entry of `path` (absolute); returns whether there was one.
    pub fn remove_file(&mut self, path: &Path) -> bool {
        let Some(definitions) = self.files.remove(path) else {
            return false;
        };
        self.stats.files -= 1;
        for definition in definitions {
            self.stats.definitions -= 1;
            self.stats.text_bytes -= definition.text.len();
            if let Some(entries) = self.by_name.get_mut(&definition.name) {
                entries.retain(|(file, _)| &**file != path);
                if entries.is_empty() {
                    self.by_name.remove(&definition.name);
                }
            }
        }
        true
    }

    /// Removes every file under `directory` (a deleted folder); returns how many.
    pub fn remove_under(&mut self, directory: &Path) -> usize {
        let doomed: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|path| path.starts_with(directory))
            .cloned()
            .collect();
        for path in &doomed {
            self.remove_file(path);
        }
        doomed.len()
    }

    /// Definitions of `identifiers` (most relevant first, e.g. nearest the cursor first) as
    /// snippets: at most `max_snippets`, `max_chars` of text in all, none from `exclude` (the
    /// current file, whose text the prompt already has) and at most 2 per name (overloads and
    /// same-named items in other modules).
    pub fn definitions_for(
        &self,
        identifiers: &[String],
        exclude: Option<&Path>,
        max_snippets: usize,
        max_chars: usize,
    ) -> Vec<Snippet> {
        let mut snippets = Vec::new();
        let mut chars = 0;
        for (rank, name) in identifiers.iter().enumerate() {
            let Some(entries) = self.by_name.get(name) else {
                continue;
            };
            let mut candidates: Vec<&(Arc<Path>, Arc<Definition>)> = entries
                .iter()
                .filter(|(path, _)| Some(&**path) != exclude)
                .collect();
            // Deterministic: types before functions before the rest, then by path and line.
            candidates.sort_by(|(path_a, a), (path_b, b)| {
                kind_rank(a.kind)
                    .cmp(&kind_rank(b.kind))
                    .then_with(|| path_a.cmp(path_b))
                    .then(a.line.cmp(&b.line))
            });
            for (path, definition) in candidates.into_iter().take(2) {
                if snippets.len() == max_snippets {
                    return snippets;
                }
                let text_chars = definition.text.chars().count();
                if chars + text_chars > max_chars {
                    continue;
                }
                chars += text_chars;
                snippets.push(Snippet {
                    path: self.display_path(path),
                    text: definition.text.clone(),
                    // Nearer the cursor ranks higher; always below a perfect window match.
                    score: 1.0 / (rank as f64 + 2.0),
                    kind: SnippetKind::Definition,
                    start_line: definition.line,
                });
            }
        }
        snippets
    }

    /// `path` relative to the root when it lies under it, else as given.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }
}

fn kind_rank(kind: DefinitionKind) -> u8 {
    match kind {
        DefinitionKind::Type | DefinitionKind::Enum | DefinitionKind::Trait => 0,
        DefinitionKind::Function | DefinitionKind::Macro => 1,
        DefinitionKind::Constant | DefinitionKind::Module => 2,
    }
}

/// The definition text kept: whole lines, at most `max_definition_lines` and
/// `max_definition_chars` (the signature comes first, so it survives).
fn bounded_definition_text(text: &str, limits: &IndexLimits) -> String {
    let lines: String = text
        .split_inclusive('\n')
        .take(limits.max_definition_lines)
        .collect();
    bounded_lines(&lines, limits.max_definition_chars)
}

#[cfg(test)]
mod tests;
