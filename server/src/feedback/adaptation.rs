//! The adaptation's state in the feedback database (table `adaptation`, schema version 2): what
//! the adaptation learnt (text of closed documents, accepted text with its context, rejected
//! suggestions with theirs), so `crate::adapt` can rebuild its caches at the next start.
//!
//! Bounded: a row holds at most [`MAX_ROW_BYTES`] of text, the table at most [`budget`] bytes
//! (the oldest rows go first); a document's text is one row per document (its key), replaced
//! when the document is closed again. Written by the writer thread only (see `writer.rs`).

use rusqlite::{Connection, params};

/// Most bytes of text one row keeps (a longer document keeps its beginning).
pub const MAX_ROW_BYTES: usize = 256 << 10;
/// Most bytes of text the table keeps (also bounded by a quarter of the database's size limit).
pub const MAX_STORED_BYTES: u64 = 4 << 20;

/// What a row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearntKind {
    /// Text the user wrote (a closed document).
    Text,
    /// Accepted text (`text`) and the text right before it (`before`).
    Accepted,
    /// A rejected suggestion (`text`) and the text right before it (`before`).
    Rejected,
}

impl LearntKind {
    fn name(self) -> &'static str {
        match self {
            LearntKind::Text => "text",
            LearntKind::Accepted => "accepted",
            LearntKind::Rejected => "rejected",
        }
    }

    fn from_name(name: &str) -> Option<LearntKind> {
        match name {
            "text" => Some(LearntKind::Text),
            "accepted" => Some(LearntKind::Accepted),
            "rejected" => Some(LearntKind::Rejected),
            _ => None,
        }
    }
}

/// One thing the adaptation learnt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LearntRow {
    /// What it is.
    pub kind: LearntKind,
    /// Rows with the same key replace each other (a document's path hash); `None`: never.
    pub key: Option<String>,
    /// The text right before (accepted and rejected rows).
    pub before: String,
    /// The text.
    pub text: String,
    /// When it was learnt (ms since the epoch).
    pub at_ms: i64,
}

/// Work for the writer thread on the adaptation's table.
pub enum AdaptationJob {
    /// Store these rows.
    Learn(Vec<LearntRow>),
    /// Read the newest rows (at most [`budget`] bytes) and hand them, oldest first, to `deliver`.
    Load(Box<dyn FnOnce(Vec<LearntRow>) + Send>),
    /// Delete every row.
    Clear,
}

impl std::fmt::Debug for AdaptationJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdaptationJob::Learn(rows) => write!(f, "Learn({} rows)", rows.len()),
            AdaptationJob::Load(_) => write!(f, "Load"),
            AdaptationJob::Clear => write!(f, "Clear"),
        }
    }
}

/// Bytes of text the table keeps for a database limited to `max_mb` MiB.
pub fn budget(max_mb: u64) -> u64 {
    MAX_STORED_BYTES.min(max_mb.saturating_mul(1024 * 1024) / 4)
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Stores `rows` in one transaction, then deletes the oldest rows past `budget` bytes.
pub fn insert(
    connection: &mut Connection,
    rows: &[LearntRow],
    budget: u64,
) -> rusqlite::Result<()> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for row in rows {
        if let Some(key) = &row.key {
            transaction
                .prepare_cached("DELETE FROM adaptation WHERE key = ?1")?
                .execute([key])?;
        }
        let before = cut(&row.before, MAX_ROW_BYTES);
        let text = cut(&row.text, MAX_ROW_BYTES - before.len());
        transaction
            .prepare_cached(
                "INSERT INTO adaptation (at_ms, kind, key, before, text, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                row.at_ms,
                row.kind.name(),
                row.key,
                before,
                text,
                (before.len() + text.len()) as i64
            ])?;
    }
    transaction
        .prepare_cached(
            "DELETE FROM adaptation WHERE id IN (
                SELECT id FROM (
                    SELECT id, SUM(bytes) OVER (ORDER BY at_ms DESC, id DESC) AS running
                    FROM adaptation)
                WHERE running > ?1)",
        )?
        .execute([budget as i64])?;
    transaction.commit()
}

/// The newest rows holding at most `budget` bytes, oldest first (the order they were learnt).
pub fn load(connection: &Connection, budget: u64) -> rusqlite::Result<Vec<LearntRow>> {
    let mut statement = connection.prepare(
        "SELECT kind, key, before, text, at_ms FROM (
            SELECT kind, key, before, text, at_ms, id,
                   SUM(bytes) OVER (ORDER BY at_ms DESC, id DESC) AS running
            FROM adaptation)
         WHERE running <= ?1 ORDER BY at_ms, id",
    )?;
    let rows = statement.query_map([budget as i64], |row| {
        Ok((
            row.get::<_, String>(0)?,
            LearntRow {
                kind: LearntKind::Text,
                key: row.get(1)?,
                before: row.get(2)?,
                text: row.get(3)?,
                at_ms: row.get(4)?,
            },
        ))
    })?;
    let mut learnt = Vec::new();
    for row in rows {
        let (kind, mut row) = row?;
        // A kind this build does not know (a newer ghostline wrote it) is skipped.
        if let Some(kind) = LearntKind::from_name(&kind) {
            row.kind = kind;
            learnt.push(row);
        }
    }
    Ok(learnt)
}

/// Deletes the rows learnt before `before_ms` (every row with `None`), overwriting the freed
/// pages; returns how many.
pub fn clear(connection: &Connection, before_ms: Option<i64>) -> rusqlite::Result<usize> {
    connection.execute_batch("PRAGMA secure_delete = ON")?;
    match before_ms {
        None => connection.execute("DELETE FROM adaptation", []),
        Some(before) => connection.execute("DELETE FROM adaptation WHERE at_ms < ?1", [before]),
    }
}

/// Runs the writer's adaptation jobs in order; `Learn` rows in a row are stored together.
pub fn run_jobs(
    connection: &mut Connection,
    jobs: Vec<AdaptationJob>,
    budget: u64,
) -> rusqlite::Result<()> {
    let mut pending: Vec<LearntRow> = Vec::new();
    for job in jobs {
        match job {
            AdaptationJob::Learn(rows) => pending.extend(rows),
            AdaptationJob::Load(deliver) => {
                insert(connection, &std::mem::take(&mut pending), budget)?;
                deliver(load(connection, budget)?);
            }
            AdaptationJob::Clear => {
                pending.clear();
                clear(connection, None)?;
                connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
        }
    }
    if !pending.is_empty() {
        insert(connection, &pending, budget)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::schema;

    fn row(kind: LearntKind, key: Option<&str>, before: &str, text: &str, at_ms: i64) -> LearntRow {
        LearntRow {
            kind,
            key: key.map(str::to_string),
            before: before.into(),
            text: text.into(),
            at_ms,
        }
    }

    fn temp_db(name: &str) -> (std::path::PathBuf, Connection) {
        let dir = std::env::temp_dir().join(format!(
            "ghostline-adaptation-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let connection = schema::open(&dir.join("f.sqlite3"), 16).unwrap();
        (dir, connection)
    }

    #[test]
    fn rows_round_trip_oldest_first_and_documents_replace_their_row() {
        let (dir, mut connection) = temp_db("round-trip");
        let rows = [
            row(LearntKind::Text, Some("doc-a"), "", "fn a() {}\n", 1),
            row(LearntKind::Accepted, None, "let x = ", "compute(y);", 2),
            row(LearntKind::Rejected, None, "if ready ", "{ panic!() }", 3),
        ];
        insert(&mut connection, &rows, 1 << 20).unwrap();
        // Closing doc-a again replaces its text (and makes it the newest).
        insert(
            &mut connection,
            &[row(LearntKind::Text, Some("doc-a"), "", "fn a2() {}\n", 4)],
            1 << 20,
        )
        .unwrap();
        drop(connection);
        // A new connection (the next server start) reads the same rows back.
        let connection = schema::open(&dir.join("f.sqlite3"), 16).unwrap();
        let loaded = load(&connection, 1 << 20).unwrap();
        assert_eq!(
            loaded,
            [rows[1].clone(), rows[2].clone(), {
                row(LearntKind::Text, Some("doc-a"), "", "fn a2() {}\n", 4)
            }]
        );
        assert_eq!(clear(&connection, Some(3)).unwrap(), 1);
        assert_eq!(load(&connection, 1 << 20).unwrap().len(), 2);
        assert_eq!(clear(&connection, None).unwrap(), 2);
        assert!(load(&connection, 1 << 20).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_table_and_the_load_keep_the_newest_rows_within_the_budget() {
        let (dir, mut connection) = temp_db("budget");
        let rows: Vec<LearntRow> = (0..10)
            .map(|i| row(LearntKind::Text, None, "", &format!("{i}").repeat(100), i))
            .collect();
        insert(&mut connection, &rows, 1_000).unwrap();
        let kept: Vec<i64> = load(&connection, 1_000)
            .unwrap()
            .iter()
            .map(|row| row.at_ms)
            .collect();
        assert_eq!(kept, (0..10).collect::<Vec<_>>());
        insert(&mut connection, &rows[..3], 1_000).unwrap();
        let count: i64 = connection
            .query_row("SELECT COUNT(*) FROM adaptation", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 10, "the oldest rows went past the budget");
        let newest: Vec<i64> = load(&connection, 350)
            .unwrap()
            .iter()
            .map(|row| row.at_ms)
            .collect();
        assert_eq!(newest, [7, 8, 9], "the newest 3 rows, oldest first");
        // A huge row keeps its beginning only.
        let huge = "é".repeat(MAX_ROW_BYTES);
        insert(
            &mut connection,
            &[row(LearntKind::Text, None, "", &huge, 20)],
            u64::MAX >> 2,
        )
        .unwrap();
        let last = load(&connection, u64::MAX >> 2).unwrap().pop().unwrap();
        assert_eq!(last.text.len(), MAX_ROW_BYTES);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn jobs_run_in_order_and_a_clear_drops_what_came_before() {
        let (dir, mut connection) = temp_db("jobs");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let jobs = vec![
            AdaptationJob::Learn(vec![row(LearntKind::Text, None, "", "old", 1)]),
            AdaptationJob::Clear,
            AdaptationJob::Learn(vec![row(LearntKind::Accepted, None, "a", "b", 2)]),
            AdaptationJob::Load(Box::new(move |rows| {
                sink.lock()
                    .unwrap()
                    .extend(rows.into_iter().map(|r| r.text))
            })),
        ];
        run_jobs(&mut connection, jobs, 1 << 20).unwrap();
        assert_eq!(*seen.lock().unwrap(), ["b"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
