//! Definitions of one file: the [`DefinitionExtractor`] trait and the product's tree-sitter
//! implementation, one query per language (capture `@name` is the defined name, the other
//! capture is the whole definition and names its [`DefinitionKind`]).

use std::path::Path;
use std::sync::OnceLock;

use tree_sitter::{Query, QueryCursor, StreamingIterator};

use super::DefinitionKind;
use crate::syntax::{self, Lang};

/// A definition as found in a file, before the index bounds its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractedDefinition {
    /// The defined name.
    pub name: String,
    /// What it defines.
    pub kind: DefinitionKind,
    /// 0-based line where it starts.
    pub line: usize,
    /// Its text from the start of its first line (so indentation is kept).
    pub text: String,
}

/// Turns a file's text into definitions.
pub trait DefinitionExtractor: Send + Sync {
    /// Whether files like `path` are handled (the walker skips the others without reading them).
    fn handles(&self, path: &Path) -> bool;
    /// The definitions in `text` (the contents of `path`), in file order. Broken code gives
    /// what can be found; it never fails.
    fn extract(&self, path: &Path, text: &str) -> Vec<ExtractedDefinition>;
}

/// The product's extractor: tree-sitter queries for Rust, Python, JavaScript, TypeScript/TSX,
/// Go, C, C++, Java and Bash.
#[derive(Clone, Copy, Debug, Default)]
pub struct TreeSitterExtractor;

impl DefinitionExtractor for TreeSitterExtractor {
    fn handles(&self, path: &Path) -> bool {
        Lang::from_path(path).is_some_and(|lang| query_source(lang).is_some())
    }

    fn extract(&self, path: &Path, text: &str) -> Vec<ExtractedDefinition> {
        let Some(lang) = Lang::from_path(path) else {
            return Vec::new();
        };
        let Some(query) = query(lang) else {
            return Vec::new();
        };
        let Some(tree) = syntax::parse_str(lang, text) else {
            return Vec::new();
        };
        let name_index = query.capture_index_for_name("name");
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
        let mut definitions = Vec::new();
        while let Some(found) = matches.next() {
            let mut name = None;
            let mut definition = None;
            for capture in found.captures() {
                if Some(capture.index) == name_index {
                    name = Some(capture.node);
                } else {
                    let kind = kind_for(query.capture_names()[capture.index as usize]);
                    definition = kind.map(|kind| (kind, capture.node));
                }
            }
            let (Some(name), Some((kind, node))) = (name, definition) else {
                continue;
            };
            let Ok(name) = name.utf8_text(text.as_bytes()) else {
                continue;
            };
            let line_start = text[..node.start_byte()].rfind('\n').map_or(0, |i| i + 1);
            definitions.push(ExtractedDefinition {
                name: name.to_string(),
                kind,
                line: node.start_position().row,
                text: text[line_start..node.end_byte()].to_string(),
            });
        }
        definitions.sort_by_key(|definition| definition.line);
        definitions.dedup_by(|a, b| a.line == b.line && a.name == b.name);
        definitions
    }
}

fn kind_for(capture: &str) -> Option<DefinitionKind> {
    Some(match capture {
        "function" => DefinitionKind::Function,
        "type" => DefinitionKind::Type,
        "enum" => DefinitionKind::Enum,
        "trait" => DefinitionKind::Trait,
        "constant" => DefinitionKind::Constant,
        "macro" => DefinitionKind::Macro,
        "module" => DefinitionKind::Module,
        _ => return None,
    })
}

/// The compiled query of `lang` (compiled once per process), `None` for languages without
/// definitions worth indexing (Markdown, JSON, TOML).
fn query(lang: Lang) -> Option<&'static Query> {
    static QUERIES: OnceLock<Vec<(Lang, Query)>> = OnceLock::new();
    let queries = QUERIES.get_or_init(|| {
        Lang::ALL
            .iter()
            .filter_map(|&lang| {
                let source = query_source(lang)?;
                match Query::new(&lang.ts_language(), source) {
                    Ok(query) => Some((lang, query)),
                    Err(error) => {
                        tracing::error!(?lang, %error, "definition query does not compile");
                        None
                    }
                }
            })
            .collect()
    });
    queries
        .iter()
        .find(|(candidate, _)| *candidate == lang)
        .map(|(_, query)| query)
}

const RUST: &str = r#"
(function_item name: (identifier) @name) @function
(function_signature_item name: (identifier) @name) @function
(struct_item name: (type_identifier) @name) @type
(union_item name: (type_identifier) @name) @type
(type_item name: (type_identifier) @name) @type
(enum_item name: (type_identifier) @name) @enum
(trait_item name: (type_identifier) @name) @trait
(const_item name: (identifier) @name) @constant
(static_item name: (identifier) @name) @constant
(macro_definition name: (identifier) @name) @macro
"#;

const PYTHON: &str = r#"
(function_definition name: (identifier) @name) @function
(class_definition name: (identifier) @name) @type
"#;

const JAVASCRIPT: &str = r#"
(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(class_declaration name: (_) @name) @type
(method_definition name: (property_identifier) @name) @function
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @function
"#;

const TYPESCRIPT: &str = r#"
(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(function_signature name: (identifier) @name) @function
(class_declaration name: (_) @name) @type
(abstract_class_declaration name: (_) @name) @type
(method_definition name: (property_identifier) @name) @function
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @function
(interface_declaration name: (_) @name) @trait
(type_alias_declaration name: (_) @name) @type
(enum_declaration name: (_) @name) @enum
"#;

const GO: &str = r#"
(function_declaration name: (identifier) @name) @function
(method_declaration name: (field_identifier) @name) @function
(type_declaration (type_spec name: (type_identifier) @name)) @type
(const_declaration (const_spec name: (identifier) @name)) @constant
"#;

const C: &str = r#"
(function_definition declarator: (function_declarator declarator: (identifier) @name)) @function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @function
(declaration declarator: (function_declarator declarator: (identifier) @name)) @function
(struct_specifier name: (type_identifier) @name body: (_)) @type
(union_specifier name: (type_identifier) @name body: (_)) @type
(enum_specifier name: (type_identifier) @name body: (_)) @enum
(type_definition declarator: (type_identifier) @name) @type
(preproc_def name: (identifier) @name) @constant
(preproc_function_def name: (identifier) @name) @macro
"#;

const CPP: &str = r#"
(function_definition declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name)) @function
(function_definition declarator: (function_declarator declarator: (qualified_identifier name: (identifier) @name))) @function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @function
(declaration declarator: (function_declarator declarator: (identifier) @name)) @function
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @function
(class_specifier name: (type_identifier) @name body: (_)) @type
(struct_specifier name: (type_identifier) @name body: (_)) @type
(union_specifier name: (type_identifier) @name body: (_)) @type
(enum_specifier name: (type_identifier) @name body: (_)) @enum
(type_definition declarator: (type_identifier) @name) @type
(alias_declaration name: (type_identifier) @name) @type
(preproc_def name: (identifier) @name) @constant
(preproc_function_def name: (identifier) @name) @macro
"#;

const JAVA: &str = r#"
(class_declaration name: (identifier) @name) @type
(record_declaration name: (identifier) @name) @type
(interface_declaration name: (identifier) @name) @trait
(enum_declaration name: (identifier) @name) @enum
(method_declaration name: (identifier) @name) @function
"#;

const BASH: &str = r#"
(function_definition name: (word) @name) @function
"#;

fn query_source(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::JavaScript => JAVASCRIPT,
        Lang::TypeScript | Lang::Tsx => TYPESCRIPT,
        Lang::Go => GO,
        Lang::C => C,
        Lang::Cpp => CPP,
        Lang::Java => JAVA,
        Lang::Bash => BASH,
        Lang::Markdown | Lang::Json | Lang::Toml => return None,
    })
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(file_name: &str, text: &str, expected: Expect) {
        let definitions = TreeSitterExtractor.extract(Path::new(file_name), text);
        let described: Vec<String> = definitions
            .iter()
            .map(|d| {
                let first_line = d.text.lines().next().unwrap_or_default();
                format!(
                    "{:?} {} @{}: {}",
                    d.kind,
                    d.name,
                    d.line,
                    first_line.trim_end()
                )
            })
            .collect();
        expected.assert_eq(&described.join("\n"));
    }

    #[test]
    fn every_query_compiles() {
        for lang in Lang::ALL {
            assert_eq!(
                query(lang).is_some(),
                query_source(lang).is_some(),
                "{lang:?}"
            );
        }
    }

    #[test]
    fn rust() {
        check(
            "a.rs",
            "/// A point.\npub struct Point { x: f64 }\nimpl Point {\n    pub fn norm(&self) -> f64 { self.x }\n}\nenum Shape { Dot }\ntrait Area { fn area(&self) -> f64; }\nconst MAX: u32 = 3;\nstatic NAME: &str = \"n\";\ntype Alias = u8;\nmacro_rules! m { () => {} }\n",
            expect![[r#"
                Type Point @1: pub struct Point { x: f64 }
                Function norm @3:     pub fn norm(&self) -> f64 { self.x }
                Enum Shape @5: enum Shape { Dot }
                Trait Area @6: trait Area { fn area(&self) -> f64; }
                Function area @6: trait Area { fn area(&self) -> f64;
                Constant MAX @7: const MAX: u32 = 3;
                Constant NAME @8: static NAME: &str = "n";
                Type Alias @9: type Alias = u8;
                Macro m @10: macro_rules! m { () => {} }"#]],
        );
    }

    #[test]
    fn python() {
        check(
            "a.py",
            "class Parser:\n    def parse(self, text):\n        return text\n\n@cache\ndef helper():\n    pass\n",
            expect![[r#"
                Type Parser @0: class Parser:
                Function parse @1:     def parse(self, text):
                Function helper @5: def helper():"#]],
        );
    }

    #[test]
    fn javascript_and_typescript() {
        check(
            "a.js",
            "function add(a, b) { return a + b; }\nclass Stack { push(x) {} }\nconst twice = (x) => 2 * x;\nlet n = 3;\n",
            expect![[r#"
                Function add @0: function add(a, b) { return a + b; }
                Type Stack @1: class Stack { push(x) {} }
                Function push @1: class Stack { push(x) {}
                Function twice @2: const twice = (x) => 2 * x;"#]],
        );
        check(
            "a.ts",
            "interface Shape { area(): number }\ntype Id = string;\nenum Color { Red }\nexport class Circle implements Shape { area(): number { return 1; } }\nexport function make(id: Id): Circle { return new Circle(); }\n",
            expect![[r#"
                Trait Shape @0: interface Shape { area(): number }
                Type Id @1: type Id = string;
                Enum Color @2: enum Color { Red }
                Type Circle @3: export class Circle implements Shape { area(): number { return 1; } }
                Function area @3: export class Circle implements Shape { area(): number { return 1; }
                Function make @4: export function make(id: Id): Circle { return new Circle(); }"#]],
        );
        check(
            "a.tsx",
            "export const View = () => <div/>;\n",
            expect!["Function View @0: export const View = () => <div/>;"],
        );
    }

    #[test]
    fn go_c_cpp_java_bash() {
        check(
            "a.go",
            "package p\ntype Point struct { X int }\nfunc (p Point) Norm() int { return p.X }\nfunc New() Point { return Point{} }\nconst Max = 3\n",
            expect![[r#"
                Type Point @1: type Point struct { X int }
                Function Norm @2: func (p Point) Norm() int { return p.X }
                Function New @3: func New() Point { return Point{} }
                Constant Max @4: const Max = 3"#]],
        );
        check(
            "a.h",
            "#define LIMIT 10\nstruct buf { int len; };\ntypedef struct buf buf_t;\nint buf_len(const buf_t *b);\nchar *buf_data(buf_t *b) { return 0; }\n",
            expect![[r#"
                Constant LIMIT @0: #define LIMIT 10
                Type buf @1: struct buf { int len; }
                Type buf_t @2: typedef struct buf buf_t;
                Function buf_len @3: int buf_len(const buf_t *b);
                Function buf_data @4: char *buf_data(buf_t *b) { return 0; }"#]],
        );
        check(
            "a.cpp",
            "class Widget {\n public:\n  int size() const;\n};\nint Widget::size() const { return 1; }\nusing Id = int;\n",
            expect![[r#"
                Type Widget @0: class Widget {
                Function size @2:   int size() const;
                Function size @4: int Widget::size() const { return 1; }
                Type Id @5: using Id = int;"#]],
        );
        check(
            "A.java",
            "public class A implements B {\n  public int run(String s) { return 0; }\n}\ninterface B {}\nenum E { X }\n",
            expect![[r#"
                Type A @0: public class A implements B {
                Function run @1:   public int run(String s) { return 0; }
                Trait B @3: interface B {}
                Enum E @4: enum E { X }"#]],
        );
        check(
            "a.sh",
            "greet() {\n  echo hi\n}\n",
            expect!["Function greet @0: greet() {"],
        );
    }

    #[test]
    fn unsupported_and_broken_files_degrade() {
        assert!(
            TreeSitterExtractor
                .extract(Path::new("a.md"), "# Title\n")
                .is_empty()
        );
        assert!(!TreeSitterExtractor.handles(Path::new("notes.txt")));
        assert!(TreeSitterExtractor.handles(Path::new("src/lib.rs")));
        // A definition before broken code is still found.
        check(
            "b.rs",
            "fn ok() {}\nfn broken( {\n",
            expect!["Function ok @0: fn ok() {}"],
        );
    }
}
