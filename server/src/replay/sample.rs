//! Which files the replay walks, in which order, and where it asks for suggestions.
//!
//! Files: every file under the repository with a known source extension, skipping hidden
//! directories, `target`, `node_modules`, `vendor` and files over [`MAX_FILE_BYTES`], sorted by
//! path (byte order). Positions, per file, in text order:
//! - `partial_line`: inside a line of at least [`MIN_LINE_CHARS`] non-blank chars, at a seeded
//!   token boundary with at least 1 char typed after the indentation and 3 chars left;
//! - `empty_body`: at the start of the first line of a block, after its indentation, when the line
//!   before opens a block (ends with `{` or `:`);
//! - `after_comment`: at the start of a code line, after its indentation, right below a comment line.
//!
//! A position's target is the rest of the file from the cursor; only the text before it is
//! "written so far".

use std::path::{Path, PathBuf};

/// Files larger than this are skipped.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;
/// Shortest line (non-blank chars) a partial-line position is taken in.
pub const MIN_LINE_CHARS: usize = 8;

/// Source extensions the replay reads.
const EXTENSIONS: &[&str] = &[
    "rs", "py", "go", "c", "h", "cc", "cpp", "hpp", "js", "mjs", "cjs", "ts", "tsx", "java",
];
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "vendor", "__pycache__"];

/// Why a position was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionKind {
    /// Inside a line that is partly typed.
    PartialLine,
    /// First line of a block that was just opened.
    EmptyBody,
    /// First code line below a comment.
    AfterComment,
}

/// One place the replay asks for a suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Index of the file in the walk.
    pub file: usize,
    /// Char offset of the cursor in the file.
    pub cursor: usize,
    /// Char offset of the start of the cursor's line.
    pub line_start: usize,
    /// Why.
    pub kind: PositionKind,
}

/// The source files of `repo`, in walk order.
pub fn walk(repo: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![repo.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let kind = entry.file_type()?;
            if name.starts_with('.') {
                continue;
            }
            if kind.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    dirs.push(entry.path());
                }
            } else if kind.is_file()
                && Path::new(&name)
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e))
                && entry.metadata()?.len() <= MAX_FILE_BYTES
            {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// splitmix64: a tiny deterministic generator for the seeded choices.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed ^ 0x6a09_e667_f3bc_c909)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//")
        || t.starts_with('#')
        || t.starts_with("/*")
        || t.starts_with('*')
        || t.starts_with("\"\"\"")
}

/// Every candidate position of one file's text, in text order.
pub fn positions(file: usize, text: &str, rng: &mut SplitMix) -> Vec<Position> {
    let mut out = Vec::new();
    let mut line_start = 0usize;
    let mut previous: Option<&str> = None;
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|c| c.is_whitespace()).count();
        let content = line.trim();
        if !content.is_empty() {
            if let Some(prev) = previous {
                let prev_t = prev.trim_end();
                let kind = if !is_comment(line) && is_comment(prev) {
                    Some(PositionKind::AfterComment)
                } else if !is_comment(prev) && (prev_t.ends_with('{') || prev_t.ends_with(':')) {
                    Some(PositionKind::EmptyBody)
                } else {
                    None
                };
                if let Some(kind) = kind {
                    out.push(Position {
                        file,
                        cursor: line_start + indent,
                        line_start,
                        kind,
                    });
                }
            }
            let end = chars.len() - chars.iter().rev().take_while(|c| c.is_whitespace()).count();
            if !is_comment(line) && end - indent >= MIN_LINE_CHARS {
                // Token boundaries with >= 1 char typed and >= 3 left.
                let cuts: Vec<usize> = (indent + 1..end.saturating_sub(2))
                    .filter(|&i| !(is_word(chars[i - 1]) && is_word(chars[i])))
                    .collect();
                if !cuts.is_empty() {
                    let cut = cuts[rng.below(cuts.len())];
                    out.push(Position {
                        file,
                        cursor: line_start + cut,
                        line_start,
                        kind: PositionKind::PartialLine,
                    });
                }
            }
        }
        previous = Some(line);
        line_start += chars.len() + 1;
    }
    out
}

/// At most `max` of `candidates`, evenly spread over the walk with a seeded offset, in order.
pub fn spread(candidates: Vec<Position>, max: usize, rng: &mut SplitMix) -> Vec<Position> {
    let n = candidates.len();
    if n <= max {
        return candidates;
    }
    if max == 0 {
        return Vec::new();
    }
    let offset = rng.below(n / max);
    let mut out = Vec::with_capacity(max);
    let mut next = 0;
    for (index, position) in candidates.into_iter().enumerate() {
        if out.len() < max && index == offset + next * n / max {
            out.push(position);
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn show(text: &str, positions: &[Position]) -> String {
        let chars: Vec<char> = text.chars().collect();
        positions
            .iter()
            .map(|p| {
                let line_end = chars[p.cursor..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |i| p.cursor + i);
                let typed: String = chars[p.line_start..p.cursor].iter().collect();
                let rest: String = chars[p.cursor..line_end].iter().collect();
                format!("{:?}: {typed:?} | {rest:?}\n", p.kind)
            })
            .collect()
    }

    #[test]
    fn positions_cover_partial_lines_block_starts_and_lines_after_comments() {
        let text = "// Adds numbers.\nfn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n\ndef f(x):\n    # double it\n    return x * 2\n";
        let positions = positions(0, text, &mut SplitMix::new(7));
        expect![[r##"
            AfterComment: "" | "fn add(a: u32, b: u32) -> u32 {"
            PartialLine: "fn" | " add(a: u32, b: u32) -> u32 {"
            EmptyBody: "    " | "a + b"
            PartialLine: "def" | " f(x):"
            EmptyBody: "    " | "# double it"
            AfterComment: "    " | "return x * 2"
            PartialLine: "    return " | "x * 2"
        "##]]
        .assert_eq(&show(text, &positions));
        // Same seed, same positions.
        assert_eq!(positions, super::positions(0, text, &mut SplitMix::new(7)));
    }

    #[test]
    fn spreading_keeps_order_and_the_cap() {
        let all: Vec<Position> = (0..10)
            .map(|i| Position {
                file: 0,
                cursor: i,
                line_start: 0,
                kind: PositionKind::PartialLine,
            })
            .collect();
        let picked = spread(all.clone(), 3, &mut SplitMix::new(1));
        let cursors: Vec<usize> = picked.iter().map(|p| p.cursor).collect();
        assert_eq!(cursors.len(), 3);
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
        assert!(cursors[2] >= 6, "spread over the whole walk: {cursors:?}");
        assert_eq!(spread(all.clone(), 20, &mut SplitMix::new(1)).len(), 10);
    }

    #[test]
    fn the_walk_is_sorted_and_skips_hidden_and_build_directories() {
        let dir = std::env::temp_dir().join(format!("ghostline-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for path in [
            "b.rs",
            "a/z.py",
            "a/b.go",
            ".git/x.rs",
            "target/y.rs",
            "notes.txt",
        ] {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let files: Vec<String> = walk(&dir)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(files, ["a/b.go", "a/z.py", "b.rs"]);
    }
}
