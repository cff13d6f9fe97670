//! What of the file above the prefix window still matters: the file's imports and the headers of
//! the scopes enclosing the cursor (function signature, class/impl/trait header), as line ranges.
//!
//! With a tree, imports are the top-level import nodes. Without one (a reparse timed out, the
//! file is over the parse limit) the imports are still found line by line ([`import_lines`]), so
//! a huge file keeps its imports in the prompt; scope headers need the tree.

use ropey::Rope;

use std::ops::Range;

use tree_sitter::Node;

use crate::syntax::{Lang, SourceView};

/// Imports are looked for among the top-level items in the first this-many bytes only, so a
/// huge file costs no more than a small one.
const IMPORT_SCAN_BYTES: usize = 64 * 1024;
/// A scope header longer than this (a signature over many lines) is cut to its first lines.
const MAX_HEADER_LINES: usize = 6;

/// Lines (0-based, end exclusive) above `window_start_line` to keep: imports and enclosing scope
/// headers, sorted, merged, never reaching into the window.
pub fn kept_lines(
    view: &SourceView<'_>,
    cursor: usize,
    window_start_line: usize,
) -> Vec<Range<usize>> {
    let Some(lang) = view.lang else {
        return Vec::new();
    };
    let Some(tree) = view.tree else {
        return normalize(import_lines(lang, view.rope), window_start_line);
    };
    let mut ranges = Vec::new();
    let root = tree.root_node();
    let mut walker = root.walk();
    for child in root.named_children(&mut walker) {
        if child.start_byte() > IMPORT_SCAN_BYTES {
            break;
        }
        if is_import(lang, child.kind()) {
            ranges.push(child.start_position().row..child.end_position().row + 1);
        }
    }
    // The cursor after trailing whitespace (Python's last line of a block) is outside the block
    // node: the token before the cursor still is inside.
    for start in [view.node_at(cursor), view.token_before(cursor)] {
        push_scope_headers(start, &mut ranges);
    }
    normalize(ranges, window_start_line)
}

fn push_scope_headers(mut node: Option<Node<'_>>, ranges: &mut Vec<Range<usize>>) {
    while let Some(current) = node {
        if is_scope(current) {
            let start = current.start_position().row;
            // A braced body starts on the header's last line (keep that line); an indented
            // body (Python) starts on the line after the header.
            let end = match current.child_by_field_name("body") {
                Some(body) if body.child(0).is_some_and(|first| first.kind() == "{") => {
                    body.start_position().row + 1
                }
                Some(body) => body.start_position().row.max(start + 1),
                None => start + 1,
            };
            let end = end.min(start + MAX_HEADER_LINES);
            ranges.push(start..end);
            // A decorated Python definition keeps its decorators.
            if let Some(parent) = current
                .parent()
                .filter(|p| p.kind() == "decorated_definition")
            {
                ranges.push(parent.start_position().row..start);
            }
        }
        node = current.parent();
    }
}

fn normalize(mut ranges: Vec<Range<usize>>, limit: usize) -> Vec<Range<usize>> {
    ranges.retain_mut(|range| {
        range.end = range.end.min(limit);
        range.start < range.end
    });
    ranges.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn is_import(lang: Lang, kind: &str) -> bool {
    match lang {
        Lang::Rust => matches!(kind, "use_declaration" | "extern_crate_declaration"),
        Lang::Python => matches!(
            kind,
            "import_statement" | "import_from_statement" | "future_import_statement"
        ),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => kind == "import_statement",
        Lang::Go => matches!(kind, "package_clause" | "import_declaration"),
        Lang::C | Lang::Cpp => matches!(kind, "preproc_include" | "using_declaration"),
        Lang::Java => matches!(kind, "package_declaration" | "import_declaration"),
        Lang::Markdown | Lang::Json | Lang::Bash | Lang::Toml => false,
    }
}

/// The import statements among the first [`IMPORT_SCAN_BYTES`] of `rope`, found without a tree:
/// lines at column 0 that open an import (see [`opens_import`]), continued while brackets are
/// open (`use a::{`, `import (`, `from m import (`) or the line ends in a backslash.
fn import_lines(lang: Lang, rope: &Rope) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut line = 0;
    let mut bytes = 0;
    let lines = rope.len_lines();
    while line < lines && bytes <= IMPORT_SCAN_BYTES {
        let text = rope.line(line).to_string();
        bytes += text.len();
        if !opens_import(lang, &text) {
            line += 1;
            continue;
        }
        let start = line;
        let mut depth = bracket_depth(&text);
        let mut continued = text.trim_end().ends_with('\\');
        line += 1;
        // A statement longer than this is not an import we want whole in the prompt.
        while (depth > 0 || continued) && line < lines && line - start < 64 {
            let text = rope.line(line).to_string();
            bytes += text.len();
            depth += bracket_depth(&text);
            continued = text.trim_end().ends_with('\\');
            line += 1;
        }
        ranges.push(start..line);
    }
    ranges
}

/// Whether `line` (at column 0) starts an import statement in `lang`.
fn opens_import(lang: Lang, line: &str) -> bool {
    let words: &[&str] = match lang {
        Lang::Rust => &["use ", "pub use ", "pub(crate) use ", "extern crate "],
        Lang::Python => &["import ", "from "],
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &["import ", "import{"],
        Lang::Go => &["package ", "import ", "import("],
        Lang::C | Lang::Cpp => &["#include", "# include", "using "],
        Lang::Java => &["package ", "import "],
        Lang::Markdown | Lang::Json | Lang::Bash | Lang::Toml => &[],
    };
    // `from_here = 1` is not an import; `from a import b` and `from a \` are.
    let python_from_needs_import = lang != Lang::Python
        || !line.starts_with("from ")
        || line.contains(" import")
        || line.trim_end().ends_with('\\');
    words.iter().any(|word| line.starts_with(word)) && python_from_needs_import
}

/// Opening minus closing brackets on `line`.
fn bracket_depth(line: &str) -> i32 {
    line.chars()
        .map(|c| match c {
            '(' | '{' | '[' => 1,
            ')' | '}' | ']' => -1,
            _ => 0,
        })
        .sum()
}

/// A definition with a body whose header names what the cursor is inside.
fn is_scope(node: Node<'_>) -> bool {
    let kind = node.kind();
    let named_scope = [
        "function",
        "method",
        "class",
        "impl",
        "trait",
        "interface",
        "struct",
        "enum",
        "namespace",
        "mod_item",
        "constructor",
        "type_declaration",
        "object",
    ]
    .iter()
    .any(|word| kind.contains(word));
    let is_call_or_literal =
        kind.contains("call") || kind.contains("expression") && !kind.contains("function");
    named_scope && !is_call_or_literal && node.child_by_field_name("body").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_str;
    use ropey::Rope;

    fn kept(lang: Lang, fixture: &str, window_start_line: usize) -> Vec<String> {
        let cursor_byte = fixture.find("$0").unwrap();
        let text = fixture.replacen("$0", "", 1);
        let rope = Rope::from_str(&text);
        let tree = parse_str(lang, &text).unwrap();
        let view = SourceView {
            rope: &rope,
            lang: Some(lang),
            tree: Some(&tree),
        };
        kept_lines(&view, rope.byte_to_char(cursor_byte), window_start_line)
            .into_iter()
            .flat_map(|range| range.map(|line| rope.line(line).to_string().trim_end().to_string()))
            .collect()
    }

    /// Without a tree: the imports, as the tree would find them, and no scope headers.
    fn kept_without_tree(lang: Lang, text: &str, window_start_line: usize) -> Vec<String> {
        let rope = Rope::from_str(text);
        let view = SourceView {
            rope: &rope,
            lang: Some(lang),
            tree: None,
        };
        kept_lines(&view, rope.len_chars(), window_start_line)
            .into_iter()
            .flat_map(|range| range.map(|line| rope.line(line).to_string().trim_end().to_string()))
            .collect()
    }

    #[test]
    fn imports_are_found_without_a_tree() {
        let rust = "//! Docs.\nuse std::fmt;\npub use a::{\n    b,\n    c,\n};\n\nfn f() {\n    use inner::X;\n    let x = 1;\n}\n";
        assert_eq!(
            kept_without_tree(Lang::Rust, rust, 10),
            ["use std::fmt;", "pub use a::{", "    b,", "    c,", "};"]
        );
        // Never reaching into the window.
        assert_eq!(kept_without_tree(Lang::Rust, rust, 3), ["use std::fmt;", "pub use a::{"]);
        let python = "import os\nfrom a import (\n    b,\n)\nfrom_here = 1\nfrom x \\\n    import y\n\ndef f():\n    import z\n";
        assert_eq!(
            kept_without_tree(Lang::Python, python, 9),
            ["import os", "from a import (", "    b,", ")", "from x \\", "    import y"]
        );
        let go = "package main\n\nimport (\n\t\"fmt\"\n)\n\nfunc main() {}\n";
        assert_eq!(
            kept_without_tree(Lang::Go, go, 6),
            ["package main", "import (", "\t\"fmt\"", ")"]
        );
        let ts = "import { a,\n  b } from './x';\nimport y from 'y';\nconst z = 1;\n";
        assert_eq!(
            kept_without_tree(Lang::TypeScript, ts, 4),
            ["import { a,", "  b } from './x';", "import y from 'y';"]
        );
        let c = "#include <stdio.h>\n#define N 1\nint main(void) { return 0; }\n";
        assert_eq!(kept_without_tree(Lang::C, c, 3), ["#include <stdio.h>"]);
        assert!(kept_without_tree(Lang::Markdown, "import x\n", 1).is_empty());
    }

    #[test]
    fn without_a_tree_the_imports_match_the_trees() {
        let fixtures = [
            (Lang::Rust, "use std::fmt;\nuse a::{\n    b,\n};\nextern crate c;\n\nfn f() {}\n"),
            (Lang::Python, "import os\nfrom a import (\n    b,\n)\n\nx = 1\n"),
            (Lang::Java, "package p;\nimport java.util.List;\nclass A {}\n"),
            (Lang::JavaScript, "import a from 'a';\nimport {\n  b,\n} from 'b';\nlet c;\n"),
        ];
        for (lang, text) in fixtures {
            let rope = Rope::from_str(text);
            let tree = parse_str(lang, text).unwrap();
            let with_tree = SourceView { rope: &rope, lang: Some(lang), tree: Some(&tree) };
            let lines = rope.len_lines();
            // At offset 0 no scope encloses the cursor: only imports are kept.
            assert_eq!(
                kept_lines(&with_tree, 0, lines),
                normalize(import_lines(lang, &rope), lines),
                "{lang:?}"
            );
        }
    }

    #[test]
    fn imports_and_enclosing_headers_above_the_window() {
        let rust = "use std::fmt;\n\nstruct S;\n\nimpl S {\n    fn f(&self,\n         x: u32) -> u32 {\n        let a = 1;\n        let b = 2;\n        a + $0\n    }\n}\n";
        assert_eq!(
            kept(Lang::Rust, rust, 8),
            [
                "use std::fmt;",
                "impl S {",
                "    fn f(&self,",
                "         x: u32) -> u32 {"
            ]
        );
        // Lines inside the window are not repeated.
        assert_eq!(kept(Lang::Rust, rust, 5), ["use std::fmt;", "impl S {"]);
        let python = "import os\nfrom a import b\n\nclass A:\n    @property\n    def f(self):\n        x = 1\n        return $0\n";
        assert_eq!(
            kept(Lang::Python, python, 6),
            [
                "import os",
                "from a import b",
                "class A:",
                "    @property",
                "    def f(self):"
            ]
        );
        let java =
            "package p;\nimport java.util.List;\nclass A {\n  int f() {\n    return $0;\n  }\n}\n";
        assert_eq!(
            kept(Lang::Java, java, 4),
            [
                "package p;",
                "import java.util.List;",
                "class A {",
                "  int f() {"
            ]
        );
    }
}
