//! Open-tab and recent-edit snippets: the windows of other open documents (and around recent
//! edits) most similar to the text before the cursor, by Jaccard similarity over identifier sets.
//!
//! Each document is scanned once with a sliding window of `window_lines` lines that keeps token
//! counts up to date as lines enter and leave, so a document costs O(its identifiers), not
//! O(lines × window). Only documents of the current language family count (a Markdown window in a
//! Rust prompt would mislead the model). Each document lends at most its best window, plus
//! windows around its recent edits; windows of one document never overlap.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use ropey::Rope;

use super::{Snippet, SnippetKind, bounded_lines, language_family, tokens};

/// One document the snippets may come from.
#[derive(Clone, Copy, Debug)]
pub struct SnippetSource<'a> {
    /// Its path as shown to the model; also identifies the current document.
    pub path: &'a str,
    /// Its LSP language id.
    pub language_id: &'a str,
    /// Its text.
    pub rope: &'a Rope,
    /// 0-based lines of its most recent edits, most recent first.
    pub recent_edit_lines: &'a [usize],
}

/// Bounds of the selection.
#[derive(Clone, Debug, PartialEq)]
pub struct SnippetConfig {
    /// Lines per window (Copilot: 60).
    pub window_lines: usize,
    /// Lines above the cursor whose identifiers are compared with the windows.
    pub reference_lines: usize,
    /// Snippets returned at most (Copilot: 4).
    pub max_snippets: usize,
    /// Other documents considered at most (Copilot: 20); the rest are ignored.
    pub max_files: usize,
    /// Lines scanned per document at most (its first ones), which bounds the time on huge files.
    pub max_scan_lines: usize,
    /// Chars of one snippet at most (whole lines).
    pub max_snippet_chars: usize,
    /// Windows scoring at or below this are never chosen.
    pub min_score: f64,
}

impl Default for SnippetConfig {
    fn default() -> Self {
        SnippetConfig {
            window_lines: 60,
            reference_lines: 60,
            max_snippets: 4,
            max_files: 20,
            max_scan_lines: 20_000,
            max_snippet_chars: 2_000,
            min_score: 0.05,
        }
    }
}

/// The windows most similar to the text before `cursor` in `current`, best first, at most
/// `config.max_snippets`. `documents` may include `current` (matched by path): its own windows
/// count only around recent edits outside the lines near the cursor, which the prompt already has.
pub fn related(
    documents: &[SnippetSource],
    current: &SnippetSource,
    cursor: usize,
    config: &SnippetConfig,
) -> Vec<Snippet> {
    let rope = current.rope;
    let cursor = cursor.min(rope.len_chars());
    let cursor_line = rope.char_to_line(cursor);
    let reference_start = rope.line_to_char(cursor_line.saturating_sub(config.reference_lines));
    let reference_text = rope.slice(reference_start..cursor).to_string();
    let reference: HashSet<&str> = tokens::meaningful_identifiers(&reference_text).collect();
    if reference.is_empty() || config.window_lines == 0 {
        return Vec::new();
    }
    let family = language_family(current.language_id);

    let mut candidates: Vec<Snippet> = Vec::new();
    let others = documents
        .iter()
        .filter(|document| document.path != current.path)
        .filter(|document| language_family(document.language_id) == family)
        .take(config.max_files);
    for document in others {
        let lines = document_lines(document.rope, config.max_scan_lines);
        if let Some((window, score)) = best_window(&lines, &reference, config.window_lines) {
            candidates.push(snippet(
                document,
                window,
                score,
                SnippetKind::OpenDocument,
                config,
            ));
        }
        candidates.extend(recent_edit_windows(
            document, &lines, &reference, None, config,
        ));
    }
    // The current document: recent edits away from the cursor only.
    let near_cursor = cursor_line.saturating_sub(config.reference_lines)
        ..cursor_line + config.reference_lines / 2 + 1;
    let lines = document_lines(rope, config.max_scan_lines);
    candidates.extend(recent_edit_windows(
        current,
        &lines,
        &reference,
        Some(near_cursor),
        config,
    ));

    candidates.retain(|candidate| candidate.score > config.min_score);
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
            .then(a.start_line.cmp(&b.start_line))
    });
    let mut chosen: Vec<Snippet> = Vec::new();
    for candidate in candidates {
        if chosen.len() == config.max_snippets {
            break;
        }
        let lines = candidate.start_line..candidate.start_line + candidate.text.lines().count();
        let overlaps = chosen.iter().any(|other| {
            other.path == candidate.path
                && overlap(
                    &lines,
                    &(other.start_line..other.start_line + other.text.lines().count()),
                )
        });
        if !overlaps {
            chosen.push(candidate);
        }
    }
    chosen
}

/// The text of each line (at most `max_lines`), without the empty "line" ropey reports after
/// a final line break.
fn document_lines(rope: &Rope, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = rope
        .lines()
        .take(max_lines)
        .map(|line| line.to_string())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The best-scoring window of `window_lines` lines (the whole text when shorter); ties go to
/// the earliest window.
fn best_window(
    lines: &[String],
    reference: &HashSet<&str>,
    window_lines: usize,
) -> Option<(Range<usize>, f64)> {
    if lines.is_empty() {
        return None;
    }
    let line_tokens: Vec<Vec<&str>> = lines
        .iter()
        .map(|line| tokens::meaningful_identifiers(line).collect())
        .collect();
    let window = window_lines.min(lines.len());
    let mut counts: HashMap<&str, u32> = HashMap::new();
    let mut shared = 0usize; // distinct window tokens that are in the reference
    let mut best: Option<(Range<usize>, f64)> = None;
    for end in 0..lines.len() {
        for &word in &line_tokens[end] {
            let count = counts.entry(word).or_insert(0);
            *count += 1;
            if *count == 1 && reference.contains(word) {
                shared += 1;
            }
        }
        if end >= window {
            for &word in &line_tokens[end - window] {
                let count = counts.get_mut(word).expect("counted when it entered");
                *count -= 1;
                if *count == 0 {
                    counts.remove(word);
                    if reference.contains(word) {
                        shared -= 1;
                    }
                }
            }
        }
        if end + 1 >= window {
            let union = reference.len() + counts.len() - shared;
            let score = if union == 0 {
                0.0
            } else {
                shared as f64 / union as f64
            };
            if best
                .as_ref()
                .is_none_or(|(_, best_score)| score > *best_score)
            {
                best = Some((end + 1 - window..end + 1, score));
            }
        }
    }
    best
}

/// Windows centred on the document's recent edits (skipping those overlapping `exclude`).
fn recent_edit_windows(
    document: &SnippetSource,
    lines: &[String],
    reference: &HashSet<&str>,
    exclude: Option<Range<usize>>,
    config: &SnippetConfig,
) -> Vec<Snippet> {
    let mut windows: Vec<Snippet> = Vec::new();
    for &line in document.recent_edit_lines {
        if line >= lines.len() {
            continue;
        }
        let start = line.saturating_sub(config.window_lines / 2);
        let end = (start + config.window_lines).min(lines.len());
        let window = start..end;
        if exclude
            .as_ref()
            .is_some_and(|exclude| overlap(exclude, &window))
        {
            continue;
        }
        let words: HashSet<&str> = lines[window.clone()]
            .iter()
            .flat_map(|line| tokens::meaningful_identifiers(line))
            .collect();
        let score = jaccard(reference, &words);
        windows.push(snippet(
            document,
            window,
            score,
            SnippetKind::RecentEdit,
            config,
        ));
    }
    windows
}

fn jaccard(a: &HashSet<&str>, b: &HashSet<&str>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

fn overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn snippet(
    document: &SnippetSource,
    window: Range<usize>,
    score: f64,
    kind: SnippetKind,
    config: &SnippetConfig,
) -> Snippet {
    let rope = document.rope;
    let start = rope.line_to_char(window.start);
    let end = rope.line_to_char(window.end.min(rope.len_lines()));
    Snippet {
        path: document.path.to_string(),
        text: bounded_lines(
            &rope.slice(start..end).to_string(),
            config.max_snippet_chars,
        ),
        score,
        kind,
        start_line: window.start,
    }
}
