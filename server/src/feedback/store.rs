//! Rows of the feedback database: one per suggestion, upserted by each event; shown suggestions
//! that were superseded or left undecided become `ignored`; export and forget.

use std::io::Write;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Value, json};

use super::event::{FeedbackEvent, FeedbackKind, Outcome};
use super::settings::path_hash;

/// A shown suggestion with no decision for this long is recorded as ignored.
pub const IGNORE_AFTER_MS: i64 = 60_000;

/// Applies a batch of events in one transaction (one fsync), sweeps undecided suggestions older
/// than [`IGNORE_AFTER_MS`] to `ignored`, and adds `dropped` to the dropped-events counter.
pub fn apply_batch(
    connection: &mut Connection,
    events: &[FeedbackEvent],
    raw_paths: bool,
    dropped: u64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for event in events {
        apply(&transaction, event, raw_paths)?;
    }
    sweep_ignored(&transaction, now_ms - IGNORE_AFTER_MS, now_ms)?;
    if dropped > 0 {
        transaction.execute(
            "INSERT INTO counters (name, value) VALUES ('dropped_shown_events', ?1)
             ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [dropped as i64],
        )?;
    }
    transaction.commit()
}

fn apply(
    transaction: &Transaction,
    event: &FeedbackEvent,
    raw_paths: bool,
) -> rusqlite::Result<()> {
    let previous: Option<(String, i64, Option<i64>)> = transaction
        .prepare_cached(
            "SELECT outcome, accepted_chars, suggestion_chars FROM suggestions WHERE id = ?1",
        )?
        .query_row([&event.suggestion_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let previous_outcome = previous
        .as_ref()
        .and_then(|(name, chars, _)| Outcome::from_row(name, *chars as usize));
    let outcome = Outcome::after(previous_outcome, event.kind);
    let facts = event.suggestion.as_ref();
    let suggestion_chars = facts
        .map(|facts| facts.text.chars().count() as i64)
        .or_else(|| previous.as_ref().and_then(|(_, _, chars)| *chars));
    let accepted_chars = match outcome {
        Outcome::Accepted => suggestion_chars.unwrap_or_default(),
        Outcome::Partial { accepted_chars } => accepted_chars as i64,
        _ => 0,
    };
    let hash = facts.map(|facts| path_hash(&facts.uri));
    let decided_at = event.kind.is_decision().then_some(event.at_ms);
    let time_to_show = facts
        .filter(|_| event.kind == FeedbackKind::Shown)
        .map(|facts| facts.since_request_ms);
    transaction
        .prepare_cached(
            "INSERT INTO suggestions (id, shown_at_ms, outcome_at_ms, outcome, accepted_chars,
                language, path_hash, path, model_id, trigger_kind, prompt_tokens, from_cache,
                suggestion_text, suggestion_chars, context_before, context_after, time_to_show_ms,
                latency_ms, stages_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18, ?19)
             ON CONFLICT(id) DO UPDATE SET
                outcome = excluded.outcome,
                accepted_chars = excluded.accepted_chars,
                outcome_at_ms = COALESCE(excluded.outcome_at_ms, outcome_at_ms),
                language = COALESCE(language, excluded.language),
                path_hash = COALESCE(path_hash, excluded.path_hash),
                path = COALESCE(path, excluded.path),
                model_id = COALESCE(model_id, excluded.model_id),
                trigger_kind = COALESCE(trigger_kind, excluded.trigger_kind),
                prompt_tokens = COALESCE(prompt_tokens, excluded.prompt_tokens),
                from_cache = COALESCE(from_cache, excluded.from_cache),
                suggestion_text = COALESCE(suggestion_text, excluded.suggestion_text),
                suggestion_chars = COALESCE(suggestion_chars, excluded.suggestion_chars),
                context_before = COALESCE(context_before, excluded.context_before),
                context_after = COALESCE(context_after, excluded.context_after),
                time_to_show_ms = COALESCE(time_to_show_ms, excluded.time_to_show_ms),
                latency_ms = COALESCE(latency_ms, excluded.latency_ms),
                stages_json = COALESCE(stages_json, excluded.stages_json)",
        )?
        .execute(params![
            event.suggestion_id,
            event.at_ms,
            decided_at,
            outcome.name(),
            accepted_chars,
            facts.map(|facts| facts.language_id.as_str()),
            hash,
            facts.filter(|_| raw_paths).map(|facts| facts.uri.as_str()),
            facts.map(|facts| facts.model_id.as_str()),
            facts.map(|facts| facts.trigger_kind),
            facts.and_then(|facts| facts.prompt_tokens.map(|tokens| tokens as i64)),
            facts.map(|facts| facts.from_cache),
            facts.map(|facts| facts.text.as_str()),
            suggestion_chars,
            facts.map(|facts| facts.context_before.as_str()),
            facts.map(|facts| facts.context_after.as_str()),
            time_to_show,
            facts.map(|facts| facts.latency_ms),
            facts.map(|facts| facts.stages_json.as_str()),
        ])?;
    // A newly shown suggestion supersedes the undecided ones for the same file.
    if event.kind == FeedbackKind::Shown
        && let Some(hash) = &hash
    {
        transaction
            .prepare_cached(
                "UPDATE suggestions SET outcome = 'ignored', outcome_at_ms = ?1
                 WHERE outcome = 'shown' AND path_hash = ?2 AND id <> ?3",
            )?
            .execute(params![event.at_ms, hash, event.suggestion_id])?;
    }
    Ok(())
}

/// Undecided suggestions shown before `cutoff_ms` become `ignored`.
pub fn sweep_ignored(
    connection: &Connection,
    cutoff_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    connection
        .prepare_cached(
            "UPDATE suggestions SET outcome = 'ignored', outcome_at_ms = ?1
             WHERE outcome = 'shown' AND shown_at_ms < ?2",
        )?
        .execute(params![now_ms, cutoff_ms])
}

/// Writes one JSON object per row (oldest first) shown at or after `since_ms`; returns the count.
pub fn export_jsonl(
    connection: &Connection,
    since_ms: Option<i64>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let mut statement = connection.prepare(
        "SELECT id, shown_at_ms, outcome_at_ms, outcome, accepted_chars, language, path_hash, path,
                model_id, trigger_kind, prompt_tokens, from_cache, suggestion_text,
                suggestion_chars, context_before, context_after, time_to_show_ms, latency_ms,
                stages_json
         FROM suggestions WHERE shown_at_ms >= ?1 ORDER BY shown_at_ms, id",
    )?;
    let mut rows = statement.query([since_ms.unwrap_or(i64::MIN)])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let stages: Option<String> = row.get(18)?;
        let object = json!({
            "id": row.get::<_, String>(0)?,
            "shown_at_ms": row.get::<_, i64>(1)?,
            "outcome_at_ms": row.get::<_, Option<i64>>(2)?,
            "outcome": row.get::<_, String>(3)?,
            "accepted_chars": row.get::<_, i64>(4)?,
            "language": row.get::<_, Option<String>>(5)?,
            "path_hash": row.get::<_, Option<String>>(6)?,
            "path": row.get::<_, Option<String>>(7)?,
            "model_id": row.get::<_, Option<String>>(8)?,
            "trigger_kind": row.get::<_, Option<String>>(9)?,
            "prompt_tokens": row.get::<_, Option<i64>>(10)?,
            "from_cache": row.get::<_, Option<bool>>(11)?,
            "suggestion_text": row.get::<_, Option<String>>(12)?,
            "suggestion_chars": row.get::<_, Option<i64>>(13)?,
            "context_before": row.get::<_, Option<String>>(14)?,
            "context_after": row.get::<_, Option<String>>(15)?,
            "time_to_show_ms": row.get::<_, Option<f64>>(16)?,
            "latency_ms": row.get::<_, Option<f64>>(17)?,
            "stages_ms": stages.and_then(|text| serde_json::from_str::<Value>(&text).ok()),
        });
        writeln!(out, "{object}")?;
        count += 1;
    }
    Ok(count)
}

/// Deletes every row (`before_ms: None`) or the rows shown before `before_ms`, overwriting the
/// freed pages and truncating the write-ahead log so the text is gone from the files too.
/// Returns the number of rows deleted.
pub fn forget(connection: &Connection, before_ms: Option<i64>) -> rusqlite::Result<usize> {
    connection.execute_batch("PRAGMA secure_delete = ON")?;
    let deleted = match before_ms {
        None => connection.execute("DELETE FROM suggestions", [])?,
        Some(before) => {
            connection.execute("DELETE FROM suggestions WHERE shown_at_ms < ?1", [before])?
        }
    };
    if before_ms.is_none() {
        connection.execute("DELETE FROM counters", [])?;
    }
    connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::event::SuggestionFacts;
    use crate::feedback::schema;

    fn facts(uri: &str, text: &str) -> SuggestionFacts {
        SuggestionFacts {
            language_id: "rust".into(),
            uri: uri.into(),
            model_id: "m".into(),
            trigger_kind: "automatic",
            prompt_tokens: Some(12),
            text: text.into(),
            context_before: "fn f() {".into(),
            context_after: "}".into(),
            from_cache: false,
            since_request_ms: 30.0,
            latency_ms: 25.0,
            stages_json: r#"{"total_ms":25.0}"#.into(),
        }
    }

    fn event(
        id: &str,
        kind: FeedbackKind,
        at_ms: i64,
        facts: Option<SuggestionFacts>,
    ) -> FeedbackEvent {
        FeedbackEvent {
            suggestion_id: id.into(),
            kind,
            at_ms,
            suggestion: facts,
        }
    }

    fn rows(connection: &Connection) -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT id, outcome, accepted_chars, path IS NULL, time_to_show_ms FROM suggestions ORDER BY id")
            .unwrap();
        statement
            .query_map([], |row| {
                Ok(format!(
                    "{} {} {} raw_path_absent={} time_to_show={:?}",
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, bool>(3)?,
                    row.get::<_, Option<f64>>(4)?
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn events_upsert_one_row_each_and_superseded_or_stale_become_ignored() {
        let dir = std::env::temp_dir().join(format!("ghostline-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut connection = schema::open(&dir.join("f.sqlite3"), 16).unwrap();
        let a = "file:///a.rs";
        let batch = [
            event("s1", FeedbackKind::Shown, 1_000, Some(facts(a, "hello"))),
            event(
                "s1",
                FeedbackKind::PartiallyAccepted { accepted_chars: 2 },
                1_100,
                Some(facts(a, "hello")),
            ),
            // s2 supersedes nothing decided (s1 is partial) and is then superseded by s3.
            event("s2", FeedbackKind::Shown, 1_200, Some(facts(a, "world"))),
            event("s3", FeedbackKind::Shown, 1_300, Some(facts(a, "other"))),
            event("s3", FeedbackKind::Accepted, 1_400, None),
            // An accept the server knew nothing about still gets a row.
            event("s4", FeedbackKind::Rejected, 1_500, None),
            event(
                "s5",
                FeedbackKind::Shown,
                1_600,
                Some(facts("file:///b.rs", "x")),
            ),
        ];
        apply_batch(&mut connection, &batch, false, 3, 2_000).unwrap();
        expect_test::expect![[r#"
            [
                "s1 partial 2 raw_path_absent=true time_to_show=Some(30.0)",
                "s2 ignored 0 raw_path_absent=true time_to_show=Some(30.0)",
                "s3 accepted 5 raw_path_absent=true time_to_show=Some(30.0)",
                "s4 rejected 0 raw_path_absent=true time_to_show=None",
                "s5 shown 0 raw_path_absent=true time_to_show=Some(30.0)",
            ]
        "#]]
        .assert_debug_eq(&rows(&connection));
        // A minute later s5 is still undecided: ignored.
        apply_batch(&mut connection, &[], false, 0, 1_600 + IGNORE_AFTER_MS + 1).unwrap();
        assert!(rows(&connection)[4].starts_with("s5 ignored"));
        let dropped: i64 = connection
            .query_row(
                "SELECT value FROM counters WHERE name = 'dropped_shown_events'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(dropped, 3);

        // Raw paths only with the opt-in.
        apply_batch(
            &mut connection,
            &[event(
                "s6",
                FeedbackKind::Shown,
                99_000,
                Some(facts(a, "y")),
            )],
            true,
            0,
            99_000,
        )
        .unwrap();
        assert!(rows(&connection)[5].contains("raw_path_absent=false"));

        let mut out = Vec::new();
        assert_eq!(export_jsonl(&connection, Some(1_300), &mut out).unwrap(), 4);
        let first: Value =
            serde_json::from_str(String::from_utf8(out).unwrap().lines().next().unwrap()).unwrap();
        assert_eq!(first["id"], "s3");
        assert_eq!(first["stages_ms"]["total_ms"], 25.0);

        assert_eq!(forget(&connection, Some(1_250)).unwrap(), 2);
        assert_eq!(rows(&connection).len(), 4);
        assert_eq!(forget(&connection, None).unwrap(), 4);
        assert!(rows(&connection).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
