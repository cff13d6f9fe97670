//! Which files of the workspace get indexed: a walk that respects `.gitignore` (also without a
//! `.git` folder) and `.ignore` files (see [`super::gitignore`]), skips hidden files and folders,
//! and skips files over the size cap. Binary and non-UTF-8 files are skipped when read ([`read_source`]).

use std::path::{Path, PathBuf};

use super::gitignore::{IgnoreFile, Verdict};

/// The ignore files that apply inside one folder: each with the folder (relative to the root,
/// `/`-separated, empty for the root) its rules are relative to; shallowest first.
type Layers = Vec<(String, IgnoreFile)>;

/// The outcome of a walk.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    /// Files to index, in walk order (sorted by path within each folder).
    pub files: Vec<PathBuf>,
    /// Files skipped because they exceed the size cap.
    pub skipped_large: usize,
    /// The walk stopped at `max_files`.
    pub truncated: bool,
}

/// The files under `root` that `wanted` accepts, at most `max_files`, none over `max_file_bytes`.
/// Hidden entries (a name starting with `.`) and symbolic links are not followed.
pub fn source_files(
    root: &Path,
    max_files: usize,
    max_file_bytes: u64,
    wanted: &dyn Fn(&Path) -> bool,
) -> WalkOutcome {
    let mut outcome = WalkOutcome::default();
    let mut layers = Layers::new();
    walk_folder(
        root,
        "",
        &mut layers,
        max_files,
        max_file_bytes,
        wanted,
        &mut outcome,
    );
    outcome
}

fn walk_folder(
    folder: &Path,
    relative: &str,
    layers: &mut Layers,
    max_files: usize,
    max_file_bytes: u64,
    wanted: &dyn Fn(&Path) -> bool,
    outcome: &mut WalkOutcome,
) {
    let pushed = push_ignore_files(folder, relative, layers);
    let mut entries: Vec<_> = match std::fs::read_dir(folder) {
        Ok(entries) => entries.filter_map(Result::ok).collect(),
        Err(error) => {
            tracing::debug!(%error, folder = %folder.display(), "workspace walk: skipping an unreadable folder");
            Vec::new()
        }
    };
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        if outcome.truncated {
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let child = join(relative, &name);
        if kind.is_dir() {
            if !is_ignored_by(layers, &child, true) {
                walk_folder(
                    &entry.path(),
                    &child,
                    layers,
                    max_files,
                    max_file_bytes,
                    wanted,
                    outcome,
                );
            }
            continue;
        }
        let path = entry.path();
        if !kind.is_file() || is_ignored_by(layers, &child, false) || !wanted(&path) {
            continue;
        }
        if entry
            .metadata()
            .is_ok_and(|metadata| metadata.len() > max_file_bytes)
        {
            outcome.skipped_large += 1;
            continue;
        }
        if outcome.files.len() == max_files {
            outcome.truncated = true;
            break;
        }
        outcome.files.push(path);
    }
    layers.truncate(layers.len() - pushed);
}

/// Adds the folder's `.gitignore` and `.ignore` (the latter wins) to `layers`; returns how many.
fn push_ignore_files(folder: &Path, relative: &str, layers: &mut Layers) -> usize {
    let mut pushed = 0;
    for file_name in [".gitignore", ".ignore"] {
        let rules = IgnoreFile::read(&folder.join(file_name));
        if !rules.is_empty() {
            layers.push((relative.to_string(), rules));
            pushed += 1;
        }
    }
    pushed
}

fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// The deepest ignore file with a rule for `relative` decides.
fn is_ignored_by(layers: &Layers, relative: &str, is_folder: bool) -> bool {
    for (folder, rules) in layers.iter().rev() {
        let inside = if folder.is_empty() {
            Some(relative)
        } else {
            relative
                .strip_prefix(folder.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
        };
        let Some(inside) = inside else { continue };
        match rules.verdict(inside, is_folder) {
            Verdict::Ignored => return true,
            Verdict::Included => return false,
            Verdict::Unmatched => {}
        }
    }
    false
}

/// Whether a single `path` under `root` would be left out by the walk (for file events, which
/// arrive one path at a time): a hidden component, or a `.gitignore`/`.ignore` rule of `root` or
/// of any folder between `root` and the path, for the path or a folder above it. Paths outside
/// `root` are ignored.
pub fn is_ignored(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return true;
    };
    let components: Vec<String> = relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect();
    if components.iter().any(|name| name.starts_with('.')) {
        return true;
    }
    let mut layers = Layers::new();
    let mut folder = root.to_path_buf();
    let mut relative_folder = String::new();
    push_ignore_files(&folder, "", &mut layers);
    for (index, name) in components.iter().enumerate() {
        let child = join(&relative_folder, name);
        let is_last = index + 1 == components.len();
        if is_ignored_by(&layers, &child, !is_last) {
            return true;
        }
        if !is_last {
            folder.push(name);
            relative_folder = child;
            push_ignore_files(&folder, &relative_folder, &mut layers);
        }
    }
    false
}

/// The file's text, or `None` for unreadable, binary (a NUL byte in its first 8 KiB) or
/// non-UTF-8 files.
pub fn read_source(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}
