//! What of the file above the prefix window still matters: the file's imports and the headers of
//! the scopes enclosing the cursor (function signature, class/impl/trait header), as line ranges.

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
    let (Some(lang), Some(tree)) = (view.lang, view.tree) else {
        return Vec::new();
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
