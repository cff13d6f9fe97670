//! Identifier tokens of source text, for similarity scoring and for finding the names used near
//! the cursor. Pure text: an identifier is a letter or `_` followed by letters, digits and `_`
//! (Unicode letters included, so `größe` and `名前` are identifiers).

/// Keywords and very common words of the supported languages: they say nothing about which
/// window is related, so they never count (Copilot's open-tab scoring drops them too).
const STOPWORDS: &[&str] = &[
    // Shared by many languages.
    "if",
    "else",
    "for",
    "while",
    "do",
    "return",
    "break",
    "continue",
    "switch",
    "case",
    "default",
    "true",
    "false",
    "null",
    "nil",
    "None",
    "True",
    "False",
    "new",
    "this",
    "self",
    "Self",
    "super",
    "class",
    "struct",
    "enum",
    "interface",
    "type",
    "const",
    "static",
    "let",
    "var",
    "function",
    "func",
    "fn",
    "def",
    "import",
    "from",
    "export",
    "package",
    "public",
    "private",
    "protected",
    "void",
    "int",
    "char",
    "bool",
    "float",
    "double",
    "long",
    "short",
    "unsigned",
    "signed",
    "string",
    "String",
    "str",
    "try",
    "catch",
    "finally",
    "throw",
    "throws",
    "async",
    "await",
    "yield",
    "in",
    "is",
    "not",
    "and",
    "or",
    "as",
    "with",
    "pass",
    "lambda",
    "use",
    "mod",
    "pub",
    "impl",
    "trait",
    "where",
    "match",
    "mut",
    "ref",
    "crate",
    "loop",
    "dyn",
    "unsafe",
    "extern",
    "go",
    "defer",
    "chan",
    "range",
    "map",
    "include",
    "define",
    "ifdef",
    "endif",
    "ifndef",
    "typedef",
    "sizeof",
    "namespace",
    "template",
    "typename",
    "virtual",
    "override",
    "final",
    "extends",
    "implements",
    "instanceof",
    "typeof",
    "undefined",
    "of",
    "the",
    "a",
    "an",
    "to",
    "it",
    "at",
    "on",
    "by",
    "be",
    "i",
    "j",
    "k",
    "x",
    "y",
    "n",
    "s",
    "e",
    "_",
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i32",
    "i64",
    "f32",
    "f64",
    "Ok",
    "Err",
    "Some",
    "Vec",
    "Option",
    "Result",
    "Box",
];

/// Whether `word` is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// The identifiers of `text` in order of appearance, stopwords included.
pub fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some((start, c)) = chars.next() {
            let starts_word = c.is_alphabetic() || c == '_';
            if !starts_word && !c.is_numeric() {
                continue;
            }
            let mut end = start + c.len_utf8();
            while let Some(&(offset, next)) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_') {
                    break;
                }
                end = offset + next.len_utf8();
                chars.next();
            }
            // A number such as `0x1f` or `1e10` is not an identifier.
            if starts_word {
                return Some(&text[start..end]);
            }
        }
        None
    })
}

/// The identifiers of `text` that count for similarity: not stopwords.
pub fn meaningful_identifiers(text: &str) -> impl Iterator<Item = &str> {
    identifiers(text).filter(|word| !is_stopword(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_skip_numbers_punctuation_and_non_ascii() {
        let words: Vec<&str> =
            identifiers("let x1 = foo_bar(0x1f, 2.5e3) + Ünïcode::λ_name; // ok").collect();
        assert_eq!(words, ["let", "x1", "foo_bar", "Ünïcode", "λ_name", "ok"]);
        let meaningful: Vec<&str> = meaningful_identifiers("fn parse(self, input: &str)").collect();
        assert_eq!(meaningful, ["parse", "input"]);
    }
}
