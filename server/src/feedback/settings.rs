//! Feedback settings, where the database lives by default, and how file paths are hashed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::FeedbackError;

/// The feedback settings (`feedback`, `feedbackPath`, `feedbackRawPaths`, `feedbackMaxMb`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackSettings {
    /// Record at all (default on).
    pub enabled: bool,
    /// The database file; `None`: [`default_path`].
    pub path: Option<PathBuf>,
    /// Store the document's path as well as its hash (default off: only the hash).
    pub raw_paths: bool,
    /// Largest size of the database in MiB; reaching it is handled like a full disk.
    pub max_mb: u64,
}

/// Default size limit of the database (MiB).
pub const DEFAULT_MAX_MB: u64 = 1024;

impl Default for FeedbackSettings {
    fn default() -> Self {
        FeedbackSettings {
            enabled: true,
            path: None,
            raw_paths: false,
            max_mb: DEFAULT_MAX_MB,
        }
    }
}

impl FeedbackSettings {
    /// The database file these settings name.
    pub fn resolved_path(&self) -> Result<PathBuf, FeedbackError> {
        match &self.path {
            Some(path) => Ok(path.clone()),
            None => default_path(),
        }
    }
}

/// `$XDG_DATA_HOME/ghostline/feedback.sqlite3`, else `~/.local/share/ghostline/feedback.sqlite3`.
pub fn default_path() -> Result<PathBuf, FeedbackError> {
    default_path_from(
        std::env::var_os("XDG_DATA_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

fn default_path_from(
    xdg_data_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, FeedbackError> {
    // The XDG spec says a relative $XDG_DATA_HOME is invalid and must be ignored.
    let data_dir = match xdg_data_home.filter(|dir| dir.is_absolute()) {
        Some(dir) => dir,
        None => home
            .filter(|home| !home.as_os_str().is_empty())
            .ok_or(FeedbackError::NoDataDir)?
            .join(".local/share"),
    };
    Ok(data_dir.join("ghostline").join("feedback.sqlite3"))
}

/// The stored form of a document path: the first 16 hex digits of its SHA-256 (the URI is
/// hashed as the editor sent it, so one file always maps to one hash).
pub fn path_hash(uri: &str) -> String {
    let digest = Sha256::digest(uri.as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Creates the database's directory when missing.
pub fn ensure_parent(path: &Path) -> Result<(), FeedbackError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| FeedbackError::Directory {
                path: parent.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_path_follows_xdg() {
        let path = default_path_from(Some("/x/data".into()), Some("/home/u".into())).unwrap();
        assert_eq!(path, PathBuf::from("/x/data/ghostline/feedback.sqlite3"));
        let path = default_path_from(Some("relative".into()), Some("/home/u".into())).unwrap();
        assert_eq!(
            path,
            PathBuf::from("/home/u/.local/share/ghostline/feedback.sqlite3")
        );
        let path = default_path_from(None, Some("/home/u".into())).unwrap();
        assert_eq!(
            path,
            PathBuf::from("/home/u/.local/share/ghostline/feedback.sqlite3")
        );
        assert!(matches!(
            default_path_from(None, None),
            Err(FeedbackError::NoDataDir)
        ));
    }

    #[test]
    fn path_hashes_are_stable_and_short() {
        assert_eq!(path_hash("file:///a.rs").len(), 16);
        assert_eq!(path_hash("file:///a.rs"), path_hash("file:///a.rs"));
        assert_ne!(path_hash("file:///a.rs"), path_hash("file:///b.rs"));
        // SHA-256 of the empty string starts with these bytes (as `sha256sum` prints it).
        assert_eq!(path_hash(""), "e3b0c44298fc1c14");
    }
}
