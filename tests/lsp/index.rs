//! End-to-end: the workspace index and cross-file snippets through the real binary. A
//! definition from a file that is never opened reaches the prompt (seen in `ghostline/stats`'
//! `last.promptSnippets`, the snippets actually put above the prefix); a gitignored file's does
//! not; a changed file's new definition replaces the old one, and a deleted file's drops out.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{LspClient, TempDir};

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The prompt snippets of the last completion, as `kind path: first line`.
fn prompt_snippets(client: &mut LspClient) -> Vec<String> {
    let stats = client.stats();
    let last = &stats["last"];
    assert_eq!(last["modelCalled"], json!(true), "the model ran: {last}");
    last["promptSnippets"]
        .as_array()
        .expect("promptSnippets")
        .iter()
        .map(|snippet| {
            format!(
                "{} {}: {}",
                snippet["kind"].as_str().unwrap(),
                snippet["path"].as_str().unwrap(),
                snippet["text"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap_or("")
            )
        })
        .collect()
}

/// Asks for a completion at the end of `main.rs` after appending `typed` (a fresh text each time,
/// so the cache never answers) and returns the prompt snippets.
fn complete_after(
    client: &mut LspClient,
    uri: &str,
    text: &mut String,
    version: &mut i32,
    typed: &str,
) -> Vec<String> {
    let (line, character) = support::end_position_utf16(text);
    *version += 1;
    client.change(
        uri,
        *version,
        support::range(line, character, line, character),
        typed,
    );
    text.push_str(typed);
    let (line, character) = support::end_position_utf16(text);
    client
        .inline_completion(uri, line, character, true)
        .expect("inline completion");
    prompt_snippets(client)
}

#[test]
fn definitions_from_unopened_files_reach_the_prompt_and_follow_file_changes() {
    let workspace = TempDir::new("index-e2e");
    let root = workspace.0.canonicalize().unwrap();
    let write = |relative: &str, contents: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    };
    write(".gitignore", "vendor/\n");
    let gears = write(
        "src/gears.rs",
        "/// Gears.\npub struct Frobnicator {\n    pub gear_ratio: u32,\n}\n\npub fn spin(frob: &Frobnicator) -> u32 {\n    frob.gear_ratio * 2\n}\n",
    );
    write(
        "vendor/hidden.rs",
        "pub struct HiddenGadget {\n    pub secret: u8,\n}\n",
    );
    let main = write("src/main.rs", "");

    let mut client = LspClient::spawn(&[], &[]);
    client
        .request(
            "initialize",
            json!({"processId": null, "rootUri": file_uri(&root),
                   "capabilities": {"window": {"workDoneProgress": true},
                                    "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}}}),
        )
        .expect("initialize");
    client.notify("initialized", json!({}));
    let end = client.notification("$/progress", |params| {
        params["value"]["kind"] == "end"
            && params["value"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("indexed"))
    });
    let message = end["value"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // src/gears.rs (2 definitions) and the empty src/main.rs; vendor/ is gitignored.
    assert!(
        message.starts_with("indexed 2 definitions in 2 files"),
        "{message}"
    );
    client.wait_ready();

    let uri = file_uri(&main);
    let mut text = String::from(
        "fn main() {\n    let frob = Frobnicator { gear_ratio: 3 };\n    let hidden: HiddenGadget = todo!();\n",
    );
    let mut version = 1;
    client.open(&uri, "rust", &text);
    let snippets = complete_after(
        &mut client,
        &uri,
        &mut text,
        &mut version,
        "    let turns = spin(",
    );
    assert!(
        snippets.contains(&"definition src/gears.rs: pub struct Frobnicator {".to_string())
            && snippets.contains(
                &"definition src/gears.rs: pub fn spin(frob: &Frobnicator) -> u32 {".to_string()
            ),
        "{snippets:?}"
    );
    assert!(
        !snippets.iter().any(|s| s.contains("HiddenGadget")),
        "{snippets:?}"
    );

    // The file changes on disk (a watched-file event): the new definition replaces the old.
    std::fs::write(&gears, "pub struct Frobnicator {\n    pub teeth: u64,\n}\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&gears), "type": 2}]}),
    );
    let mut found = Vec::new();
    let mut updated = false;
    for attempt in 0..50 {
        found = complete_after(
            &mut client,
            &uri,
            &mut text,
            &mut version,
            &format!("{attempt}"),
        );
        let struct_text = client.stats()["last"]["promptSnippets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == "src/gears.rs" && s["text"].as_str().unwrap().contains("struct"))
            .map(|s| s["text"].as_str().unwrap().to_string());
        if struct_text.as_deref().is_some_and(|t| t.contains("teeth")) {
            updated = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        updated,
        "the changed definition never reached the prompt: {found:?}"
    );
    assert!(
        !found.iter().any(|s| s.contains("fn spin")),
        "spin is gone: {found:?}"
    );
    assert!(
        found.iter().any(|s| s.contains("struct Frobnicator")),
        "{found:?}"
    );

    // Deleted: the definition drops out of the prompt.
    std::fs::remove_file(&gears).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&gears), "type": 3}]}),
    );
    let mut after_delete: Vec<String> = vec!["not asked yet".to_string()];
    for attempt in 0..50 {
        after_delete = complete_after(
            &mut client,
            &uri,
            &mut text,
            &mut version,
            &format!(" {attempt}"),
        );
        if !after_delete.iter().any(|s| s.contains("src/gears.rs")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !after_delete.iter().any(|s| s.contains("src/gears.rs")),
        "{after_delete:?}"
    );
    let _: Value = client.stats();
    client.shutdown();
}
