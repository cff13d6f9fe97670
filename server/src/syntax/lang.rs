//! The language registry: which tree-sitter grammar serves a document, chosen from the LSP
//! `languageId` and falling back to the file extension. Unknown languages are `None` (plain text).

use std::path::Path;

use tree_sitter::Language;

/// A language with a tree-sitter grammar. `Option<Lang>::None` means plain text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Rust.
    Rust,
    /// Python.
    Python,
    /// JavaScript (also JSX: the grammar parses it).
    JavaScript,
    /// TypeScript without JSX.
    TypeScript,
    /// TypeScript with JSX.
    Tsx,
    /// Go.
    Go,
    /// C.
    C,
    /// C++.
    Cpp,
    /// Java.
    Java,
    /// Markdown (the block grammar; inline text is prose).
    Markdown,
    /// JSON (also JSON with comments).
    Json,
    /// Bash and POSIX shell.
    Bash,
    /// TOML.
    Toml,
}

/// How a language writes comments; used to render extra snippets in the target language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommentStyle {
    /// The line comment marker (`//`, `#`), if the language has one.
    pub line: Option<&'static str>,
    /// The block comment delimiters, if the language has them.
    pub block: Option<(&'static str, &'static str)>,
}

impl Lang {
    /// Every supported language, in declaration order.
    pub const ALL: [Lang; 13] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::C,
        Lang::Cpp,
        Lang::Java,
        Lang::Markdown,
        Lang::Json,
        Lang::Bash,
        Lang::Toml,
    ];

    /// The language for an LSP `languageId` (case-insensitive), or `None` when unknown.
    pub fn from_language_id(language_id: &str) -> Option<Lang> {
        let id = language_id.trim().to_ascii_lowercase();
        Some(match id.as_str() {
            "rust" => Lang::Rust,
            "python" => Lang::Python,
            "javascript" | "javascriptreact" | "jsx" => Lang::JavaScript,
            "typescript" => Lang::TypeScript,
            "typescriptreact" | "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "c" => Lang::C,
            "cpp" | "c++" | "cuda-cpp" => Lang::Cpp,
            "java" => Lang::Java,
            "markdown" => Lang::Markdown,
            "json" | "jsonc" | "json5" => Lang::Json,
            "shellscript" | "bash" | "sh" | "zsh" => Lang::Bash,
            "toml" => Lang::Toml,
            _ => return None,
        })
    }

    /// The language for a file path, from its extension (or a few well-known file names).
    pub fn from_path(path: &Path) -> Option<Lang> {
        let file_name = path.file_name()?.to_str()?;
        match file_name {
            "Cargo.lock" | "Pipfile" | "poetry.lock" | "uv.lock" => return Some(Lang::Toml),
            ".bashrc" | ".bash_profile" | ".profile" | ".zshrc" | "PKGBUILD" => {
                return Some(Lang::Bash);
            }
            _ => {}
        }
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "rs" => Lang::Rust,
            "py" | "pyi" | "pyw" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "c" | "h" => Lang::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "inl" => {
                Lang::Cpp
            }
            "java" => Lang::Java,
            "md" | "markdown" | "mdx" => Lang::Markdown,
            "json" | "jsonc" | "json5" => Lang::Json,
            "sh" | "bash" | "zsh" | "ksh" => Lang::Bash,
            "toml" => Lang::Toml,
            _ => return None,
        })
    }

    /// The language for a document URI (`file:///a/b.rs`) or path, from its extension.
    pub fn from_uri(uri: &str) -> Option<Lang> {
        let path = uri.split(['?', '#']).next().unwrap_or(uri);
        let path = path.rsplit('/').next().unwrap_or(path);
        Lang::from_path(Path::new(path))
    }

    /// The language from the LSP `languageId`, falling back to the URI's extension when the id
    /// is unknown (`plaintext`, empty, or a language without a grammar here).
    pub fn detect(language_id: &str, uri: &str) -> Option<Lang> {
        Lang::from_language_id(language_id).or_else(|| Lang::from_uri(uri))
    }

    /// The canonical LSP language id.
    pub fn language_id(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "typescriptreact",
            Lang::Go => "go",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Java => "java",
            Lang::Markdown => "markdown",
            Lang::Json => "json",
            Lang::Bash => "shellscript",
            Lang::Toml => "toml",
        }
    }

    /// The tree-sitter grammar.
    pub fn ts_language(self) -> Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::Markdown => tree_sitter_md::LANGUAGE.into(),
            Lang::Json => tree_sitter_json::LANGUAGE.into(),
            Lang::Bash => tree_sitter_bash::LANGUAGE.into(),
            Lang::Toml => tree_sitter_toml_ng::LANGUAGE.into(),
        }
    }

    /// How the language writes comments.
    pub fn comment_style(self) -> CommentStyle {
        let c_like = CommentStyle {
            line: Some("//"),
            block: Some(("/*", "*/")),
        };
        match self {
            Lang::Rust
            | Lang::JavaScript
            | Lang::TypeScript
            | Lang::Tsx
            | Lang::Go
            | Lang::C
            | Lang::Cpp
            | Lang::Java => c_like,
            Lang::Python | Lang::Bash | Lang::Toml => CommentStyle {
                line: Some("#"),
                block: None,
            },
            Lang::Markdown => CommentStyle {
                line: None,
                block: Some(("<!--", "-->")),
            },
            // JSON has no comments; JSONC's `//` is the closest a model has seen.
            Lang::Json => CommentStyle {
                line: Some("//"),
                block: None,
            },
        }
    }
}

/// The inline Markdown grammar (emphasis, links, code spans) for the block grammar's `inline`
/// nodes. The block tree alone decides prose vs code, so documents keep only the block tree.
pub fn markdown_inline_language() -> Language {
    tree_sitter_md::INLINE_LANGUAGE.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_id_wins_and_the_extension_is_the_fallback() {
        assert_eq!(Lang::from_language_id("Rust"), Some(Lang::Rust));
        assert_eq!(Lang::from_language_id("typescriptreact"), Some(Lang::Tsx));
        assert_eq!(Lang::from_language_id("shellscript"), Some(Lang::Bash));
        assert_eq!(Lang::from_language_id("plaintext"), None);
        assert_eq!(
            Lang::detect("plaintext", "file:///x/main.py"),
            Some(Lang::Python)
        );
        assert_eq!(
            Lang::detect("python", "file:///x/main.rs"),
            Some(Lang::Python)
        );
        assert_eq!(Lang::detect("", "file:///x/Cargo.lock"), Some(Lang::Toml));
        assert_eq!(Lang::detect("cobol", "file:///x/README"), None);
        assert_eq!(Lang::from_path(Path::new("a/b.HPP")), Some(Lang::Cpp));
        assert_eq!(Lang::from_uri("untitled:Untitled-1"), None);
    }

    #[test]
    fn every_language_id_round_trips() {
        for lang in Lang::ALL {
            assert_eq!(Lang::from_language_id(lang.language_id()), Some(lang));
        }
    }
}
