//! Opening the feedback database: WAL journal, full synchronous commits, a size limit, and the
//! schema brought to the newest version by the migrations below (run at every open).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::FeedbackError;
use super::settings::ensure_parent;

/// How long a statement waits for another connection's lock before failing with "locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);

/// The migrations, in order: `MIGRATIONS[i]` brings the schema from version `i` to `i + 1`
/// (`PRAGMA user_version` holds the version). Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // Version 1: one row per suggestion shown (or decided without a show event).
    "CREATE TABLE suggestions (
        id               TEXT PRIMARY KEY,
        shown_at_ms      INTEGER NOT NULL,
        outcome_at_ms    INTEGER,
        outcome          TEXT NOT NULL
                         CHECK (outcome IN ('shown', 'accepted', 'partial', 'rejected', 'ignored')),
        accepted_chars   INTEGER NOT NULL DEFAULT 0,
        language         TEXT,
        path_hash        TEXT,
        path             TEXT,
        model_id         TEXT,
        trigger_kind     TEXT,
        prompt_tokens    INTEGER,
        from_cache       INTEGER,
        suggestion_text  TEXT,
        suggestion_chars INTEGER,
        context_before   TEXT,
        context_after    TEXT,
        time_to_show_ms  REAL,
        latency_ms       REAL,
        stages_json      TEXT
    ) STRICT;
    CREATE INDEX suggestions_by_time ON suggestions (shown_at_ms);
    CREATE INDEX suggestions_pending ON suggestions (path_hash) WHERE outcome = 'shown';
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;",
    // Version 2: what the adaptation learnt, to rebuild it at start (see `adaptation.rs`).
    "CREATE TABLE adaptation (
        id     INTEGER PRIMARY KEY,
        at_ms  INTEGER NOT NULL,
        kind   TEXT NOT NULL,
        key    TEXT UNIQUE,
        before TEXT NOT NULL,
        text   TEXT NOT NULL,
        bytes  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX adaptation_by_time ON adaptation (at_ms);",
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating when missing) the database at `path` for writing, migrated to the newest
/// schema. `max_mb` caps its size: past it, writes fail as on a full disk.
pub fn open(path: &Path, max_mb: u64) -> Result<Connection, FeedbackError> {
    ensure_parent(path)?;
    let sqlite = |action: &'static str| {
        move |source| FeedbackError::Sqlite {
            action,
            path: path.display().to_string(),
            source,
        }
    };
    let connection = Connection::open(path).map_err(sqlite("cannot open"))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(sqlite("cannot configure"))?;
    let journal: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite("cannot switch to WAL"))?;
    if !journal.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal, path = %path.display(), "feedback database is not in WAL mode");
    }
    // FULL: every commit is fsynced, so an acknowledged accept survives a power cut too.
    connection
        .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(sqlite("cannot configure"))?;
    let page_size: i64 = connection
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .map_err(sqlite("cannot read"))?;
    let page_size = page_size.max(512) as u64;
    let max_pages = (max_mb.saturating_mul(1024 * 1024) / page_size).max(1);
    connection
        .query_row(&format!("PRAGMA max_page_count = {max_pages}"), [], |_| {
            Ok(())
        })
        .map_err(sqlite("cannot configure"))?;
    migrate(&connection, path)?;
    Ok(connection)
}

/// Opens an existing database for reading (the `stats` and `export` commands); migrates it when
/// an older ghostline wrote it.
pub fn open_existing(path: &Path) -> Result<Option<Connection>, FeedbackError> {
    if !path.exists() {
        return Ok(None);
    }
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| FeedbackError::Sqlite {
        action: "cannot open",
        path: path.display().to_string(),
        source,
    })?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|source| FeedbackError::Sqlite {
            action: "cannot configure",
            path: path.display().to_string(),
            source,
        })?;
    migrate(&connection, path)?;
    Ok(Some(connection))
}

fn migrate(connection: &Connection, path: &Path) -> Result<(), FeedbackError> {
    let sqlite = |action: &'static str| {
        move |source| FeedbackError::Sqlite {
            action,
            path: path.display().to_string(),
            source,
        }
    };
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite("cannot read the schema version of"))?;
    if version > latest_version() {
        return Err(FeedbackError::NewerSchema {
            path: path.display().to_string(),
            found: version,
            supported: latest_version(),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let next = index as i64 + 1;
        // One transaction per step: a crash mid-migration leaves the previous version intact.
        connection
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {next}; COMMIT;"
            ))
            .map_err(|source| {
                let _ = connection.execute_batch("ROLLBACK");
                FeedbackError::Sqlite {
                    action: "cannot migrate the schema of",
                    path: path.display().to_string(),
                    source,
                }
            })?;
        tracing::info!(version = next, path = %path.display(), "feedback schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ghostline-schema-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("sub/feedback.sqlite3")
    }

    #[test]
    fn open_creates_migrates_and_reopens() {
        let path = temp_path("open");
        let connection = open(&path, 16).unwrap();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, latest_version());
        let journal: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        drop(connection);
        assert!(open(&path, 16).is_ok(), "reopening runs no migration twice");
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn a_version_1_database_gains_the_adaptation_table_and_keeps_its_rows() {
        let path = temp_path("v1");
        let connection = open(&path, 16).unwrap();
        connection
            .execute_batch(
                "DROP TABLE adaptation; PRAGMA user_version = 1;
                 INSERT INTO counters (name, value) VALUES ('kept', 7);",
            )
            .unwrap();
        drop(connection);
        let connection = open(&path, 16).unwrap();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 2);
        let kept: i64 = connection
            .query_row("SELECT value FROM counters WHERE name = 'kept'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 7);
        assert!(super::super::adaptation::load(&connection, 1 << 20).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn newer_schemas_and_garbage_files_are_clear_errors() {
        let path = temp_path("newer");
        let connection = open(&path, 16).unwrap();
        connection
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        drop(connection);
        let error = open(&path, 16).unwrap_err().to_string();
        assert!(error.contains("schema version 99"), "{error}");
        std::fs::remove_file(&path).unwrap();
        let _ = std::fs::remove_file(path.with_extension("sqlite3-wal"));
        let _ = std::fs::remove_file(path.with_extension("sqlite3-shm"));
        std::fs::write(
            &path,
            "this is not a database, it is a text file. ".repeat(200),
        )
        .unwrap();
        let error = open(&path, 16).unwrap_err().to_string();
        assert!(error.contains("not a database"), "{error}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }
}
