//! Golden tests for snippet selection: fixtures of several files and a `$0` cursor in, the chosen
//! snippets out. A fixture is a list of files, each starting with
//! `//- PATH LANGUAGE [edits=LINE,LINE]` (0-based lines of recent edits, most recent first);
//! the file holding `$0` is the current one.

use expect_test::{Expect, expect};
use ropey::Rope;

use super::*;

struct FixtureFile {
    path: String,
    language_id: String,
    rope: Rope,
    edits: Vec<usize>,
}

fn parse_fixture(fixture: &str) -> (Vec<FixtureFile>, usize, usize) {
    let mut files: Vec<FixtureFile> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for line in fixture.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("//- ") {
            let mut parts = header.split_whitespace();
            let path = parts.next().expect("path").to_string();
            let language_id = parts.next().expect("language").to_string();
            let edits = parts
                .next()
                .and_then(|edits| edits.strip_prefix("edits="))
                .map(|edits| edits.split(',').map(|n| n.parse().expect("line")).collect())
                .unwrap_or_default();
            files.push(FixtureFile {
                path,
                language_id,
                rope: Rope::new(),
                edits,
            });
            texts.push(String::new());
        } else if let Some(text) = texts.last_mut() {
            text.push_str(line);
        } else {
            assert!(line.trim().is_empty(), "a header first, not {line:?}");
        }
    }
    let mut current = None;
    for (index, (file, text)) in files.iter_mut().zip(texts).enumerate() {
        if let Some(byte) = text.find("$0") {
            let text = text.replacen("$0", "", 1);
            file.rope = Rope::from_str(&text);
            current = Some((index, file.rope.byte_to_char(byte)));
        } else {
            file.rope = Rope::from_str(&text);
        }
    }
    let (index, cursor) = current.expect("one file has a $0 cursor");
    (files, index, cursor)
}

fn sources(files: &[FixtureFile]) -> Vec<SnippetSource<'_>> {
    files
        .iter()
        .map(|file| SnippetSource {
            path: &file.path,
            language_id: &file.language_id,
            rope: &file.rope,
            recent_edit_lines: &file.edits,
        })
        .collect()
}

fn describe(snippets: &[Snippet]) -> String {
    snippets
        .iter()
        .map(|snippet| {
            format!(
                "{:?} {}:{} score={:.3}\n{}",
                snippet.kind, snippet.path, snippet.start_line, snippet.score, snippet.text
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn check(fixture: &str, config: SnippetConfig, expected: Expect) {
    let (files, current, cursor) = parse_fixture(fixture);
    let sources = sources(&files);
    let chosen = related(&sources, &sources[current], cursor, &config);
    expected.assert_eq(&describe(&chosen));
}

fn small_windows() -> SnippetConfig {
    SnippetConfig {
        window_lines: 3,
        reference_lines: 3,
        max_snippets: 3,
        ..SnippetConfig::default()
    }
}

#[test]
fn picks_the_most_similar_window_of_each_open_document() {
    check(
        r#"
//- src/geometry.rs rust
use std::fmt;
pub struct Point { pub x: f64, pub y: f64 }
impl Point {
    pub fn distance(&self, other: &Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}
pub fn unrelated_logging(message: &str) { eprintln!("{message}"); }
//- src/io.rs rust
pub fn read_config(path: &str) -> String { std::fs::read_to_string(path).unwrap() }
pub fn write_config(path: &str, contents: &str) { std::fs::write(path, contents).unwrap() }
//- src/main.rs rust
fn nearest(points: &[Point], origin: &Point) -> Option<&Point> {
    points.iter().min_by(|a, b| a.distance(origin).total_cmp(&b.distance(origin)))
}
fn main() { let p = Point { x: 1.0, $0
"#,
        small_windows(),
        expect![[r#"
            OpenDocument src/geometry.rs:1 score=0.167
            pub struct Point { pub x: f64, pub y: f64 }
            impl Point {
                pub fn distance(&self, other: &Point) -> f64 {
        "#]],
    );
}

#[test]
fn other_languages_and_unrelated_documents_are_left_out() {
    check(
        r#"
//- README.md markdown
The parser reads tokens and builds a syntax tree of tokens.
//- tools/gen.py python
def parse_tokens(tokens): return tokens
//- src/other.rs rust
fn completely_different() { let zebra = giraffe(); }
//- src/parser.rs rust
fn parse(tokens: &[Token]) -> Tree {
    let tree = Tree::new();
    $0
"#,
        small_windows(),
        expect![[""]],
    );
}

#[test]
fn recent_edits_away_from_the_cursor_count_and_near_ones_do_not() {
    // Line 1 of the current file (the cache code) was edited recently and is far from the
    // cursor; line 12 was edited too but lies in the lines the prompt already holds.
    check(
        r#"
//- src/lib.rs rust edits=12,1
struct Cache { entries: Vec<Entry>, capacity: usize }
fn evict(cache: &mut Cache) { cache.entries.truncate(cache.capacity); }
fn filler_a() {}
fn filler_b() {}
fn filler_c() {}
fn filler_d() {}
fn filler_e() {}
fn filler_f() {}
fn filler_g() {}
fn filler_h() {}
fn filler_i() {}
fn insert(cache: &mut Cache, entry: Entry) {
    cache.entries.push(entry);
    if cache.entries.len() > cache.capacity { $0
"#,
        small_windows(),
        expect![[r#"
            RecentEdit src/lib.rs:0 score=0.385
            struct Cache { entries: Vec<Entry>, capacity: usize }
            fn evict(cache: &mut Cache) { cache.entries.truncate(cache.capacity); }
            fn filler_a() {}
        "#]],
    );
}

#[test]
fn windows_of_one_document_never_overlap_and_the_count_is_bounded() {
    let mut fixture = String::from("//- src/big.rs rust edits=2,3,40\n");
    for n in 0..60 {
        fixture.push_str(&format!(
            "fn shared_name_{}() {{ alpha(); beta(); gamma(); }}\n",
            n % 3
        ));
    }
    fixture
        .push_str("//- src/cur.rs rust\nfn go() { alpha(); beta(); gamma(); shared_name_1(); $0\n");
    let (files, current, cursor) = parse_fixture(&fixture);
    let sources = sources(&files);
    let config = SnippetConfig {
        window_lines: 4,
        max_snippets: 2,
        ..SnippetConfig::default()
    };
    let chosen = related(&sources, &sources[current], cursor, &config);
    assert_eq!(chosen.len(), 2, "{}", describe(&chosen));
    let ranges: Vec<_> = chosen
        .iter()
        .map(|s| s.start_line..s.start_line + s.text.lines().count())
        .collect();
    assert!(
        ranges[0].end <= ranges[1].start || ranges[1].end <= ranges[0].start,
        "{ranges:?}"
    );
}

#[test]
fn max_files_bounds_the_documents_considered() {
    let mut fixture = String::new();
    for n in 0..5 {
        fixture.push_str(&format!(
            "//- src/f{n}.rs rust\nfn helper() {{ widget(); gadget(); }}\n"
        ));
    }
    fixture.push_str("//- src/cur.rs rust\nfn go() { widget(); gadget(); $0\n");
    let (files, current, cursor) = parse_fixture(&fixture);
    let sources = sources(&files);
    let config = SnippetConfig {
        max_files: 2,
        max_snippets: 10,
        ..SnippetConfig::default()
    };
    let paths: Vec<String> = related(&sources, &sources[current], cursor, &config)
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(paths, ["src/f0.rs", "src/f1.rs"]);
}

#[test]
fn snippets_are_bounded_in_chars_at_line_boundaries() {
    assert_eq!(bounded_lines("abc\ndef\nghi\n", 8), "abc\ndef\n");
    assert_eq!(bounded_lines("abcdefghij\nx\n", 4), "abcd\n");
    assert_eq!(bounded_lines("日本語\n", 2), "日本\n");
}

fn sample(path: &str, score: f64, lines: usize) -> Snippet {
    Snippet {
        path: path.to_string(),
        text: (0..lines).map(|n| format!("line {n}\n")).collect(),
        score,
        kind: SnippetKind::OpenDocument,
        start_line: 0,
    }
}

#[test]
fn rendering_marks_each_file_in_the_languages_comment_and_puts_the_best_last() {
    let snippets = vec![
        sample("src/best.rs", 0.9, 1),
        sample("src/worse.rs", 0.2, 2),
    ];
    expect![[r#"
        // Path: src/worse.rs
        line 0
        line 1

        // Path: src/best.rs
        line 0

    "#]]
    .assert_eq(&render(&snippets, "rust"));
    expect![[r#"
        # Path: src/best.rs
        line 0

    "#]]
    .assert_eq(&render(&snippets[..1], "python"));
    expect![[r#"
        <!-- Path: src/best.rs -->
        line 0

    "#]]
    .assert_eq(&render(&snippets[..1], "markdown"));
    assert_eq!(render(&snippets, "json"), "", "JSON has no comments");
}

#[test]
fn the_budget_keeps_the_best_and_cuts_a_long_snippet_to_its_first_lines() {
    // One token per line of rendered text.
    let count = |text: &str| text.lines().count();
    let snippets = vec![
        sample("a.rs", 0.5, 40),
        sample("b.rs", 0.9, 5),
        sample("c.rs", 0.1, 3),
    ];
    let kept = fit_to_budget(snippets, "rust", 20, &count);
    let described: Vec<(String, usize)> = kept
        .iter()
        .map(|s| (s.path.clone(), s.text.lines().count()))
        .collect();
    // b (5 lines + header + blank = 7), a cut from 40 to 10 lines (12), c does not fit (5 > 1).
    assert_eq!(
        described,
        [("b.rs".to_string(), 5), ("a.rs".to_string(), 10)]
    );
    assert!(fit_to_budget(vec![sample("a.rs", 1.0, 3)], "json", 100, &count).is_empty());
}

#[test]
fn identifiers_near_the_cursor_come_nearest_first() {
    let fixture = "use crate::far_away;\nlet config = load_config();\nlet parsed = parse(config, &input);$0\nrender(parsed)\n";
    let rope = Rope::from_str(&fixture.replacen("$0", "", 1));
    let cursor = rope.byte_to_char(fixture.find("$0").unwrap());
    let names = identifiers_near(&rope, cursor, 1, 1);
    assert_eq!(
        names,
        [
            "parsed",
            "parse",
            "config",
            "input",
            "load_config",
            "render"
        ]
    );
}
