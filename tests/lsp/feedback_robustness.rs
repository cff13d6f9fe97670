//! Feedback store robustness against the real binary:
//! - `kill -9` mid-stream, 20 times: every accept/reject whose `workspace/executeCommand` answer
//!   reached the client is in the database afterwards, and `PRAGMA integrity_check` is ok;
//! - an unusable database (its directory cannot be created, corrupt, locked, full): the server
//!   logs a clear error, the status says feedback is off, and suggestions go on.
//!
//! Simulations (these machines run tests as root, so permission bits cannot make a directory
//! read-only, and nothing can be mounted): "read-only directory" is a regular file where the
//! database's directory should be (the same failure to create or open the file); "full disk" is
//! a database already past the `feedbackMaxMb` cap (SQLite then fails writes with
//! SQLITE_FULL, "database or disk is full" — the same error, through the same code path, as a
//! disk with no space left).

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{LspClient, TempDir};

const ROUNDS: usize = 20;
const URI: &str = "file:///tmp/ghostline-feedback-robust/a.rs";

/// Waits for a `ghostline/status` whose feedback part has `state` for the database `db`.
fn wait_feedback(client: &mut LspClient, state: &str, db: &Path) -> Value {
    let db = db.to_str().unwrap().to_string();
    client.notification("ghostline/status", |p| {
        p["feedback"]["state"] == state && p["feedback"]["path"] == db.as_str()
    })
}

fn integrity(db: &Path) -> String {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

fn stored_outcomes(db: &Path) -> std::collections::HashMap<String, String> {
    let connection = rusqlite::Connection::open(db).unwrap();
    let mut statement = connection
        .prepare("SELECT id, outcome FROM suggestions")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn acknowledged_decisions_survive_kill_9_twenty_times() {
    let dir = TempDir::new("feedback-kill");
    let db = dir.0.join("feedback.sqlite3");
    let mut acknowledged: Vec<(String, &str)> = Vec::new();
    let mut in_flight_at_kill = 0;
    let started = Instant::now();
    for round in 0..ROUNDS {
        // No model (enable: false): this is about the store, and it keeps each round short.
        let mut client = LspClient::spawn(&[], &[]);
        client.initialize(
            None,
            json!({"enable": false, "feedbackPath": db.to_str().unwrap()}),
        );
        wait_feedback(&mut client, "on", &db);
        // A stream of shows and decisions, sent without waiting for answers; the kill comes at a
        // different point of the stream each round, with decisions still in flight.
        let mut pending = std::collections::HashMap::new();
        let kill_after = 20 + (round * 37) % 160;
        for n in 0..kill_after {
            let suggestion = format!("gl-kill-{round}-{n}");
            client.notify(
                "textDocument/didShowCompletion",
                json!({"item": {"command": {"command": "ghostline.accept", "arguments": [suggestion]}}}),
            );
            let (command, outcome) = if n % 3 == 0 {
                ("ghostline.reject", "rejected")
            } else {
                ("ghostline.accept", "accepted")
            };
            let request = client.send_request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": [suggestion]}),
            );
            pending.insert(request, (suggestion, outcome));
            for (request, result) in client.take_responses() {
                assert_eq!(result, Ok(Value::Null));
                if let Some(decision) = pending.remove(&request) {
                    acknowledged.push(decision);
                }
            }
            if n % 16 == 15 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // Answers read right before the kill count as acknowledged too.
        for (request, _) in client.take_responses() {
            if let Some(decision) = pending.remove(&request) {
                acknowledged.push(decision);
            }
        }
        in_flight_at_kill += pending.len();
        client.kill();
        // Everything acknowledged in this and earlier rounds is on disk, and the file is sound.
        assert_eq!(integrity(&db), "ok", "round {round}");
        let stored = stored_outcomes(&db);
        for (suggestion, outcome) in &acknowledged {
            assert_eq!(
                stored.get(suggestion).map(String::as_str),
                Some(*outcome),
                "round {round}: acknowledged {suggestion} ({outcome}) is missing"
            );
        }
    }
    let unique: HashSet<_> = acknowledged.iter().map(|(id, _)| id).collect();
    assert_eq!(unique.len(), acknowledged.len());
    assert!(
        acknowledged.len() >= ROUNDS * 10,
        "{} acknowledged",
        acknowledged.len()
    );
    assert!(
        in_flight_at_kill > 0,
        "the kills never caught a decision in flight"
    );
    eprintln!(
        "{ROUNDS} kill -9 rounds: {} acknowledged decisions all present, {in_flight_at_kill} unanswered at the kills, {:.1} s",
        acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Asks for a suggestion at the end of `fn main() {\n    let x = 1;\n    ` (the seeded model
/// always answers something there).
fn assert_suggests(client: &mut LspClient, what: &str) {
    let answer = client.inline_completion(URI, 2, 4, true).unwrap();
    assert!(
        !answer["items"].as_array().unwrap().is_empty(),
        "{what}: no suggestion; {answer}"
    );
}

fn reconfigure(client: &mut LspClient, settings: Value) {
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"ghostline": settings}}),
    );
}

#[test]
fn an_unusable_database_turns_feedback_off_and_suggestions_go_on() {
    let dir = TempDir::new("feedback-broken");
    let model_dir = dir.0.join("model");
    support::seeded_model::write_seeded_model(&model_dir, 7);

    // 1. The directory cannot be created: a regular file stands where it should be.
    let blocker = dir.0.join("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let blocked = blocker.join("ghostline/feedback.sqlite3");
    let mut client = LspClient::spawn(&[], &[]);
    client.initialize(
        None,
        json!({"modelPath": model_dir.to_str().unwrap(), "feedbackPath": blocked.to_str().unwrap()}),
    );
    let status = wait_feedback(&mut client, "off", &blocked);
    let message = status["feedback"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("cannot create the feedback directory"),
        "{message}"
    );
    client.wait_ready();
    client.open(URI, "rust", "fn main() {\n    let x = 1;\n    \n}\n");
    assert_suggests(&mut client, "directory blocked");
    assert_eq!(client.stats()["feedback"]["status"]["state"], "off");

    // 2. Corrupt: not an SQLite file.
    let corrupt = dir.0.join("corrupt.sqlite3");
    std::fs::write(&corrupt, "garbage, not a database ".repeat(400)).unwrap();
    reconfigure(
        &mut client,
        json!({"feedbackPath": corrupt.to_str().unwrap()}),
    );
    let status = wait_feedback(&mut client, "off", &corrupt);
    let message = status["feedback"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("not a database"), "{message}");
    assert_suggests(&mut client, "corrupt database");

    // 3. Locked: another process holds the write lock for longer than the busy timeout.
    let locked = dir.0.join("locked.sqlite3");
    drop(ghostline::feedback::schema::open(&locked, 1024).unwrap());
    let holder = rusqlite::Connection::open(&locked).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO counters VALUES ('lock', 1);")
        .unwrap();
    reconfigure(
        &mut client,
        json!({"feedbackPath": locked.to_str().unwrap()}),
    );
    let status = wait_feedback(&mut client, "off", &locked);
    let message = status["feedback"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("locked"), "{message}");
    assert_suggests(&mut client, "locked database");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    // 4. Full: the database is already larger than its 1 MiB cap; writes fail with SQLITE_FULL
    //    once the free space in its existing pages is used up.
    let full = dir.0.join("full.sqlite3");
    let connection = ghostline::feedback::schema::open(&full, 1024).unwrap();
    connection
        .execute_batch("CREATE TABLE padding (data BLOB); INSERT INTO padding VALUES (zeroblob(2 * 1024 * 1024));")
        .unwrap();
    drop(connection);
    reconfigure(
        &mut client,
        json!({"feedbackPath": full.to_str().unwrap(), "feedbackMaxMb": 1}),
    );
    wait_feedback(&mut client, "on", &full);
    let mut turned_off = None;
    for n in 0..2000 {
        let answer = client.request(
            "workspace/executeCommand",
            json!({"command": "ghostline.accept", "arguments": [format!("gl-full-{n}-{}", "x".repeat(200))]}),
        );
        assert_eq!(
            answer,
            Ok(Value::Null),
            "commands are answered whatever the store does"
        );
        let status = client.stats()["feedback"]["status"].clone();
        if status["state"] == "off" {
            turned_off = Some(status);
            break;
        }
    }
    let status = turned_off.expect("the capped database never filled up");
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("full"), "{message}");
    assert_suggests(&mut client, "full database");
    assert_eq!(integrity(&full), "ok");

    // 5. Back to a healthy file: recording resumes.
    let healthy = dir.0.join("healthy.sqlite3");
    reconfigure(
        &mut client,
        json!({"feedbackPath": healthy.to_str().unwrap(), "feedbackMaxMb": 1024}),
    );
    wait_feedback(&mut client, "on", &healthy);
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "ghostline.accept", "arguments": ["gl-healthy"]}),
        )
        .unwrap();
    assert_eq!(
        stored_outcomes(&healthy)
            .get("gl-healthy")
            .map(String::as_str),
        Some("accepted")
    );

    let stderr = client.stderr();
    for needle in [
        "cannot create the feedback directory",
        "not a database",
        "locked",
        "full",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("feedback recording is OFF") && l.contains(needle)),
            "no clear error about {needle:?} in the log:\n{stderr}"
        );
    }
    client.shutdown();
}
