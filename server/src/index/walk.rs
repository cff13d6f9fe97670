//! Which files of the workspace get indexed: a walk that respects `.gitignore` (also without a
//! `.git` folder), `.ignore`, git's global excludes and hidden files, and skips files over the
//! size cap. Binary and non-UTF-8 files are skipped when read ([`read_source`]).

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use ignore::gitignore::Gitignore;

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
pub fn source_files(
    root: &Path,
    max_files: usize,
    max_file_bytes: u64,
    wanted: &dyn Fn(&Path) -> bool,
) -> WalkOutcome {
    let mut outcome = WalkOutcome::default();
    let walker = WalkBuilder::new(root)
        .standard_filters(true)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(%error, "workspace walk: skipping an unreadable entry");
                continue;
            }
        };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) || !wanted(entry.path()) {
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
        outcome.files.push(entry.into_path());
    }
    outcome
}

/// Whether a single `path` under `root` would be left out by the walk (for file events, which
/// arrive one path at a time): a hidden component, or a `.gitignore`/`.ignore` rule of `root` or
/// of any folder between `root` and the path. Paths outside `root` are ignored.
pub fn is_ignored(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return true;
    };
    if relative
        .components()
        .any(|component| component.as_os_str().to_string_lossy().starts_with('.'))
    {
        return true;
    }
    let mut folder = root.to_path_buf();
    let mut folders = vec![folder.clone()];
    if let Some(parent) = relative.parent() {
        for component in parent.components() {
            folder.push(component);
            folders.push(folder.clone());
        }
    }
    for folder in folders {
        for file_name in [".gitignore", ".ignore"] {
            let ignore_file = folder.join(file_name);
            if !ignore_file.is_file() {
                continue;
            }
            let (matcher, _) = Gitignore::new(&ignore_file);
            if matcher.matched_path_or_any_parents(path, false).is_ignore() {
                return true;
            }
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
