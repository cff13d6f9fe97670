//! `.gitignore` / `.ignore` rules, enough of git's semantics for choosing what to index: comments
//! and blank lines, `!` negation (the last matching rule of a file wins), a trailing `/` for
//! folders only, rules with an inner `/` anchored to their file's folder (others match a name at
//! any depth), and the globs `*`, `?`, `[...]` (with `!`/`^` negation and ranges) and `**`.
//! A deeper file's rules override a shallower one's; a path inside an ignored folder is ignored.
//!
//! Hand-written rather than the `ignore` crate, whose regex features would change the feature
//! set of crates burn shares (a full rebuild of burn; see scripts/check-features.sh).

use std::path::Path;

/// One rule of an ignore file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// The glob, without `!`, the leading `/` and the trailing `/`.
    glob: String,
    /// `!rule`: re-includes what an earlier rule excluded.
    negated: bool,
    /// `rule/`: matches folders only.
    folders_only: bool,
    /// Contains a `/` before its end: matched against the whole path relative to the file's
    /// folder; otherwise against the last path component.
    anchored: bool,
}

/// The rules of one ignore file, relative to the folder holding it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    rules: Vec<Rule>,
}

/// What one ignore file says about a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matched.
    Unmatched,
    /// The last matching rule excludes it.
    Ignored,
    /// The last matching rule is a negation.
    Included,
}

impl IgnoreFile {
    /// Parses the text of a `.gitignore`.
    pub fn parse(text: &str) -> IgnoreFile {
        let rules = text.lines().filter_map(parse_rule).collect();
        IgnoreFile { rules }
    }

    /// Reads and parses `path`; a missing or unreadable file has no rules.
    pub fn read(path: &Path) -> IgnoreFile {
        std::fs::read_to_string(path)
            .map(|text| IgnoreFile::parse(&text))
            .unwrap_or_default()
    }

    /// Whether this file has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The verdict for `relative` (components joined by `/`, relative to this file's folder).
    pub fn verdict(&self, relative: &str, is_folder: bool) -> Verdict {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let mut verdict = Verdict::Unmatched;
        for rule in &self.rules {
            if rule.folders_only && !is_folder {
                continue;
            }
            let subject = if rule.anchored { relative } else { name };
            if glob_match(rule.glob.as_bytes(), subject.as_bytes()) {
                verdict = if rule.negated {
                    Verdict::Included
                } else {
                    Verdict::Ignored
                };
            }
        }
        verdict
    }
}

fn parse_rule(line: &str) -> Option<Rule> {
    let line = line.trim_end_matches(['\r', ' ', '\t']);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (negated, line) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line.strip_prefix('\\').unwrap_or(line)),
    };
    let (folders_only, line) = match line.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let anchored = line.contains('/');
    let glob = line.strip_prefix('/').unwrap_or(line);
    // `**/name` matches `name` at any depth, which is what an unanchored rule does.
    let (glob, anchored) = match glob.strip_prefix("**/") {
        Some(rest) if !rest.contains('/') => (rest, false),
        _ => (glob, anchored),
    };
    if glob.is_empty() {
        return None;
    }
    Some(Rule {
        glob: glob.to_string(),
        negated,
        folders_only,
        anchored,
    })
}

/// Glob matching on bytes: `*` and `?` never cross a `/`, `**` crosses any number of folders
/// (`a/**/b` also matches `a/b`), `[...]` is a byte class.
pub fn glob_match(glob: &[u8], text: &[u8]) -> bool {
    if glob.is_empty() {
        return text.is_empty();
    }
    if glob.starts_with(b"**") {
        let rest = &glob[2..];
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        // Any prefix ending at a folder boundary (including none).
        if glob_match(rest, text) {
            return true;
        }
        return text
            .iter()
            .enumerate()
            .any(|(index, &byte)| byte == b'/' && glob_match(rest, &text[index + 1..]))
            || (rest.is_empty() && !text.is_empty());
    }
    match glob[0] {
        b'*' => {
            let rest = &glob[1..];
            for end in 0..=text.len() {
                if glob_match(rest, &text[end..]) {
                    return true;
                }
                if end < text.len() && text[end] == b'/' {
                    break;
                }
            }
            false
        }
        b'?' => !text.is_empty() && text[0] != b'/' && glob_match(&glob[1..], &text[1..]),
        b'[' => match class_match(&glob[1..], text.first().copied()) {
            Some((true, consumed)) => glob_match(&glob[1 + consumed..], &text[1..]),
            Some((false, _)) => false,
            // No closing `]`: a literal `[`.
            None => text.first() == Some(&b'[') && glob_match(&glob[1..], &text[1..]),
        },
        b'\\' if glob.len() > 1 => text.first() == Some(&glob[1]) && glob_match(&glob[2..], &text[1..]),
        byte => text.first() == Some(&byte) && glob_match(&glob[1..], &text[1..]),
    }
}

/// Matches one byte against the class after `[`; returns (matched, bytes of the class including
/// the closing `]`), or `None` when the class is not closed.
fn class_match(class: &[u8], byte: Option<u8>) -> Option<(bool, usize)> {
    let (negated, start) = match class.first() {
        Some(b'!') | Some(b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut index = start;
    let mut matched = false;
    loop {
        let &current = class.get(index)?;
        if current == b']' && index > start {
            break;
        }
        if class.get(index + 1) == Some(&b'-') && class.get(index + 2).is_some_and(|&b| b != b']') {
            let high = class[index + 2];
            if byte.is_some_and(|b| current <= b && b <= high) {
                matched = true;
            }
            index += 3;
        } else {
            if byte == Some(current) {
                matched = true;
            }
            index += 1;
        }
    }
    let matched = byte.is_some_and(|b| b != b'/') && matched != negated;
    Some((matched, index + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.log", "debug.log", true),
            ("*.log", "logs/debug.log", false),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("[!a-c]x", "dx", true),
            ("src/**/gen.rs", "src/gen.rs", true),
            ("src/**/gen.rs", "src/a/b/gen.rs", true),
            ("src/**", "src/a/b", true),
            ("src/**", "src", false),
            ("**/x", "a/x", true),
            ("build", "build", true),
            ("build", "builds", false),
        ];
        for &(glob, text, expected) in cases {
            assert_eq!(glob_match(glob.as_bytes(), text.as_bytes()), expected, "{glob} vs {text}");
        }
    }

    #[test]
    fn rules_negation_anchoring_and_folders() {
        let file = IgnoreFile::parse("# comment\n\n*.log\n!keep.log\n/target\nout/\ndocs/*.tmp\n");
        assert_eq!(file.verdict("a/b/x.log", false), Verdict::Ignored);
        assert_eq!(file.verdict("a/keep.log", false), Verdict::Included);
        assert_eq!(file.verdict("target", true), Verdict::Ignored);
        assert_eq!(file.verdict("sub/target", true), Verdict::Unmatched);
        assert_eq!(file.verdict("sub/out", true), Verdict::Ignored);
        assert_eq!(file.verdict("sub/out", false), Verdict::Unmatched);
        assert_eq!(file.verdict("docs/a.tmp", false), Verdict::Ignored);
        assert_eq!(file.verdict("x/docs/a.tmp", false), Verdict::Unmatched);
        assert_eq!(file.verdict("main.rs", false), Verdict::Unmatched);
    }
}
