//! Data-driven golden tests of the whole context engine on fixture files.
//!
//! Each `tests/context/<name>.<ext>` holds a document with a `$0` cursor (the extension picks
//! the language; a name containing `.crlf.` is tested with CRLF line breaks), `<name>.<ext>.raw`
//! a raw model output, and `<name>.<ext>.expected` what the engine makes of them: the trigger
//! decision, the mode, the prompt pieces and the post-processed suggestion. Refresh the
//! expectations with `UPDATE_EXPECT=1 cargo test -p ghostline --lib context::golden_tests`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ropey::Rope;

use super::{ContextBudget, ContextMode, build_prompt};
use crate::completion::postprocess::{PostprocessContext, postprocess};
use crate::completion::trigger::{Shape, Trigger, TriggerDecision, decide_in};
use crate::syntax::{self, Lang, SourceView};

/// A deterministic stand-in for a tokenizer: one token per 4 chars, rounded up.
fn count_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

fn budget(total_tokens: usize) -> ContextBudget {
    ContextBudget {
        total_tokens,
        prefix_percent: 35,
        suffix_percent: 15,
        prefix_chars: 3000,
        suffix_chars: 800,
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/context")
}

fn visible(text: &str) -> String {
    text.replace('\r', "\\r").replace('\t', "\\t")
}

/// The fixture documents' file names, sorted.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("tests/context exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            !name.ends_with(".raw") && !name.ends_with(".expected") && !name.ends_with(".md.txt")
        })
        .filter(|name| name != "README.md")
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures found: {names:?}");
    names
}

/// Runs the engine on one fixture and renders what it decided.
fn run_fixture(name: &str, source: &str, raw: &str) -> String {
    let mut source = source.to_string();
    let mut raw = raw.to_string();
    if name.contains(".crlf.") {
        source = source.replace('\n', "\r\n");
        raw = raw.replace('\n', "\r\n");
    }
    let cursor_byte = source.find("$0").expect("fixture has a $0 cursor");
    let text = source.replacen("$0", "", 1);
    let rope = Rope::from_str(&text);
    let cursor = rope.byte_to_char(cursor_byte);
    let lang = Lang::from_path(Path::new(name));
    let tree = lang.and_then(|lang| syntax::parse_str(lang, &text));
    let view = SourceView {
        rope: &rope,
        lang,
        tree: tree.as_ref(),
    };
    let decision = decide_in(&view, cursor, Trigger::Invoked);
    let prompt = build_prompt(&view, cursor, budget(120), &count_tokens, Vec::new());
    let shape = match decision {
        TriggerDecision::Suggest(shape) => shape,
        TriggerDecision::Skip { .. } => Shape::SingleLine,
    };
    let mut context =
        PostprocessContext::new(&rope, cursor, shape, 8).with_syntax(&view, prompt.mode);
    context.reject_parse_worse = false;
    let suggestion = match postprocess(&raw, &context) {
        Some(s) => format!(
            "=== suggestion (covers {}, parse worse: {})\n{}",
            s.covers_after_chars,
            s.parse_worse,
            visible(&s.insert_text)
        ),
        None => "=== suggestion\n<nothing>".to_string(),
    };
    format!(
        "language: {lang:?}, tree: {}, decision: {decision:?}, mode: {:?}\n=== preamble\n{}=== prefix\n{}\n=== suffix\n{}\n{suggestion}\n",
        tree.is_some(),
        prompt.mode,
        visible(&prompt.preamble),
        visible(&prompt.prefix),
        visible(&prompt.suffix),
    )
}

#[test]
fn fixtures() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let names = fixture_names();
    let mut languages = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for name in &names {
        let dir = fixture_dir();
        let source = std::fs::read_to_string(dir.join(name)).unwrap();
        let raw = std::fs::read_to_string(dir.join(format!("{name}.raw"))).unwrap_or_default();
        let actual = run_fixture(name, &source, &raw);
        if let Some(lang) = Lang::from_path(Path::new(name)) {
            languages.insert(lang);
        }
        let expected_path = dir.join(format!("{name}.expected"));
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            if update {
                std::fs::write(&expected_path, &actual).unwrap();
            } else {
                failures.push(format!(
                    "--- {name}: expected\n{expected}--- actual\n{actual}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ (UPDATE_EXPECT=1 refreshes):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        languages.len(),
        Lang::ALL.len(),
        "every language has a fixture: {languages:?}"
    );
}

/// Past `WHOLE_FILE_BYTES` the tree rules look at a window of top-level items around the cursor:
/// on every fixture made big (well-formed text first, the fixture with its cursor last) the
/// window decides what the whole file decides, for both shapes. The text put first is copies of
/// the fixture when it parses without errors, else line comments: a big file's bulk parses, and
/// a broken copy would change how everything after it parses.
#[test]
fn a_window_of_a_big_file_post_processes_like_the_whole_file() {
    use crate::completion::postprocess::{SyntaxSnapshot, WHOLE_FILE_BYTES};
    let mut windowed = 0;
    for name in fixture_names() {
        let Some(lang) = Lang::from_path(Path::new(&name)) else {
            continue;
        };
        let dir = fixture_dir();
        let mut source = std::fs::read_to_string(dir.join(&name)).unwrap();
        let mut raw = std::fs::read_to_string(dir.join(format!("{name}.raw"))).unwrap_or_default();
        if name.contains(".crlf.") {
            source = source.replace('\n', "\r\n");
            raw = raw.replace('\n', "\r\n");
        }
        let copy = format!("{}\n", source.replacen("$0", "", 1));
        let copy_parses = syntax::parse_str(lang, &copy).is_some_and(|t| !t.root_node().has_error());
        let copy = match lang.comment_style().line {
            Some(marker) if !copy_parses => format!("{marker} a line before the fixture\n"),
            _ => copy,
        };
        let copies = copy.repeat(WHOLE_FILE_BYTES / copy.len() + 1);
        let cursor_byte = copies.len() + source.find("$0").unwrap();
        let text = copies + &source.replacen("$0", "", 1);
        let rope = Rope::from_str(&text);
        let cursor = rope.byte_to_char(cursor_byte);
        let tree = syntax::parse_str(lang, &text).unwrap();
        let view = SourceView { rope: &rope, lang: Some(lang), tree: Some(&tree) };
        for shape in [Shape::SingleLine, Shape::MultiLine] {
            let mut context =
                PostprocessContext::new(&rope, cursor, shape, 8).with_syntax(&view, ContextMode::Code);
            context.reject_parse_worse = false;
            let Some(snapshot) = &context.syntax else {
                continue; // Markdown: no tree rules
            };
            if snapshot.rope.len_bytes() < rope.len_bytes() {
                windowed += 1;
            }
            let from_window = postprocess(&raw, &context);
            context.syntax = Some(SyntaxSnapshot::whole(lang, &rope, &tree, cursor));
            let from_whole = postprocess(&raw, &context);
            assert_eq!(from_window, from_whole, "{name}, {shape:?}");
        }
    }
    assert!(windowed >= 30, "the window was used {windowed} times");
}

/// A 5 MB file: parse, trigger, context and post-processing stay bounded (they look at the lines
/// near the cursor, the first 64 KiB for imports, and reparse incrementally). The bound is
/// generous (a debug build on a loaded 2-core machine); it catches quadratic behaviour, not
/// regressions of a few percent — the numbers are in docs/benchmarks.md.
#[test]
fn a_five_megabyte_file_in_bounded_time() {
    let unit = "fn item_NUM(values: &[u32]) -> u32 {\n    let mut total = 0; // é 😀\n    for v in values {\n        total += v;\n    }\n    total\n}\n\n";
    let mut text = String::from("use std::fmt;\n\n");
    let mut index = 0;
    while text.len() < 5_000_000 {
        text.push_str(&unit.replace("NUM", &index.to_string()));
        index += 1;
    }
    let middle = text.len() / 2;
    let line_start = text[..middle].rfind("    let mut total = 0;").unwrap();
    let cursor_byte = line_start + "    let mut total = ".len();
    let rope = Rope::from_str(&text);
    let cursor = rope.byte_to_char(cursor_byte);

    let started = Instant::now();
    let mut document = crate::documents::Document::new(&text, 1, "rust");
    document.reparse(); // a big document's parse is deferred until asked for
    let parse_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        document.tree().is_some(),
        "5 MB is under the parse size limit"
    );
    let started = Instant::now();
    document.apply(&crate::documents::TextEdit {
        range: Some(cursor..cursor + 1),
        text: "1 + ".into(),
    });
    let reparse_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Under load the reparse may time out: that version is plain text, and the imports still
    // reach the prompt (found line by line).
    let reparsed = document.tree().is_some();
    let cursor = cursor + 4;
    let view = document.view();
    let started = Instant::now();
    let decision = decide_in(&view, cursor, Trigger::Invoked);
    let prompt = build_prompt(&view, cursor, budget(1500), &count_tokens, Vec::new());
    let context = PostprocessContext::new(view.rope, cursor, Shape::SingleLine, 8)
        .with_syntax(&view, prompt.mode);
    let suggestion = postprocess("2", &context);
    let pipeline_ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "5 MB: first parse {parse_ms:.0} ms, incremental reparse {reparse_ms:.1} ms (tree kept: {reparsed}), trigger+context+postprocess {pipeline_ms:.1} ms"
    );
    assert_eq!(decision, TriggerDecision::Suggest(Shape::SingleLine));
    assert!(
        prompt.preamble.starts_with("use std::fmt;"),
        "{:?}",
        prompt.preamble
    );
    assert!(prompt.prefix.ends_with("let mut total = 1 + "));
    assert_eq!(suggestion.map(|s| s.insert_text), Some("2".to_string()));
    assert!(pipeline_ms < 5_000.0, "{pipeline_ms} ms");
    assert!(reparse_ms < 5_000.0, "{reparse_ms} ms");
}
