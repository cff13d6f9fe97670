//! A char-level cache of the text the user wrote and accepted: the longest recent stretch of the
//! context (48, 24, 12 or 8 chars) that occurs in the cache is looked up, and what followed each of
//! its latest occurrences votes for the longest vocabulary token that starts it. Working on text
//! rather than token ids makes it immune to the tokenizer splitting the same code differently at
//! the cursor (a prefix ending in spaces, half a word).
//!
//! λ = [`LAMBDA_MAX`] · n / (n + 0.5) · w(len), with `n` the occurrences that voted and
//! w(48) = 1, w(24) = 0.9, w(12) = 0.7, w(8) = 0.5 (the 8-char level, added in session 4, lets
//! the cache propose where only a short stretch recurs, with less weight: the replay gained on
//! all three held-out repositories with it); interpolation as in [`super::ngram::mix`].

use std::collections::HashMap;

use ghostline_model::{AdjustInput, LogitsAdjuster};

use super::ngram::mix;

/// Largest weight of the cache.
pub const LAMBDA_MAX: f32 = 0.9;
/// Context lengths tried, longest first, with their weights.
pub const MATCH_LENGTHS: [(usize, f32); 4] = [(48, 1.0), (24, 0.9), (12, 0.7), (8, 0.5)];
/// Latest occurrences that vote.
pub const MAX_OCCURRENCES: usize = 64;
/// Bytes kept; past it the oldest half is dropped.
pub const MAX_BYTES: usize = 8 << 20;

/// Ends a piece added with [`TextCache::add_piece`]: no token starts with it and no context
/// contains it, so nothing is predicted across it.
pub const PIECE_END: &str = "\u{0}";

/// `(λ, (token, votes) pairs, total votes)`.
pub type Prediction = (f32, Vec<(u32, u32)>, u32);

/// Text of each token id, for matching continuations to tokens.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    by_text: HashMap<String, u32>,
    longest: usize,
}

impl Vocabulary {
    /// From the text of each id (index = id); empty texts, broken UTF-8 and [`PIECE_END`] are
    /// skipped, the first id of a text wins.
    pub fn new(texts: Vec<String>) -> Vocabulary {
        let mut by_text = HashMap::new();
        let mut longest = 0;
        for (id, text) in texts.into_iter().enumerate() {
            if text.is_empty() || text.contains(['\u{fffd}', '\u{0}']) {
                continue;
            }
            longest = longest.max(text.chars().count());
            by_text.entry(text).or_insert(id as u32);
        }
        Vocabulary { by_text, longest }
    }

    /// Ids of the tokens `text` starts with (shortest first).
    pub fn prefix_tokens<'t>(&'t self, text: &'t str) -> impl Iterator<Item = u32> + 't {
        text.char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain([text.len()])
            .take(self.longest)
            .filter_map(|end| self.by_text.get(&text[..end]).copied())
    }

    /// The longest token that `text` starts with.
    pub fn longest_prefix(&self, text: &str) -> Option<u32> {
        let ends: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain([text.len()])
            .take(self.longest)
            .collect();
        ends.iter()
            .rev()
            .find_map(|&end| self.by_text.get(&text[..end]).copied())
    }
}

/// The text written so far.
#[derive(Clone, Debug, Default)]
pub struct TextCache {
    corpus: String,
    vocabulary: Option<Vocabulary>,
}

impl TextCache {
    /// Appends text (a contiguous piece of what the user wrote).
    pub fn add(&mut self, text: &str) {
        self.corpus.push_str(text);
        if self.corpus.len() > MAX_BYTES {
            let mut cut = self.corpus.len() / 2;
            while !self.corpus.is_char_boundary(cut) {
                cut += 1;
            }
            self.corpus.drain(..cut);
        }
    }

    /// Appends a piece cut out of its surroundings (an accepted suggestion with the text before
    /// it), followed by [`PIECE_END`]: nothing after the piece is predicted as its continuation.
    pub fn add_piece(&mut self, text: &str) {
        self.add(text);
        self.add(PIECE_END);
    }

    /// Forgets the text (the vocabulary stays).
    pub fn clear(&mut self) {
        self.corpus = String::new();
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.corpus.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.corpus.is_empty()
    }

    /// Whether the vocabulary is known.
    pub fn has_vocabulary(&self) -> bool {
        self.vocabulary.is_some()
    }

    /// The model's vocabulary, once known.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        self.vocabulary.as_ref()
    }

    /// Sets the model's vocabulary (without it the cache predicts nothing).
    pub fn set_vocabulary(&mut self, vocabulary: Vocabulary) {
        self.vocabulary = Some(vocabulary);
    }

    /// `(λ, (token, votes) pairs, total votes)` after `context`, or `None`. One scan for the
    /// shortest context; each occurrence's match is then extended backwards to rank it.
    pub fn predict(&self, context: &str) -> Option<Prediction> {
        self.predict_with(&[], context)
    }

    /// [`TextCache::predict`] also searching `recent` (texts newer than the cache's, newest
    /// first, e.g. the current document before the cursor; their occurrences count as the latest).
    pub fn predict_with(&self, recent: &[&str], context: &str) -> Option<Prediction> {
        let vocabulary = self.vocabulary.as_ref()?;
        let (shortest, _) = MATCH_LENGTHS[MATCH_LENGTHS.len() - 1];
        let longest = MATCH_LENGTHS[0].0;
        let chars: Vec<(usize, char)> = context.char_indices().collect();
        if chars.len() < shortest {
            return None;
        }
        let needle = &context.as_bytes()[chars[chars.len() - shortest].0..];
        let window: Vec<char> = chars[chars.len().saturating_sub(longest)..]
            .iter()
            .map(|&(_, c)| c)
            .collect();
        // Occurrence ends, latest first, with how many chars of context they match (capped).
        let mut matches: Vec<(&str, usize, usize)> = Vec::new();
        for text in recent.iter().copied().chain([self.corpus.as_str()]) {
            let found = memchr::memmem::find_iter(text.as_bytes(), needle).map(|start| {
                let end = start + needle.len();
                let before = text[..end].chars().rev().take(longest);
                let len = before
                    .zip(window.iter().rev())
                    .take_while(|(a, b)| a == *b)
                    .count();
                (text, end, len)
            });
            let at = matches.len();
            matches.extend(found);
            matches[at..].reverse();
        }
        for (len, weight) in MATCH_LENGTHS {
            let mut votes: HashMap<u32, u32> = HashMap::new();
            for &(text, end, _) in matches
                .iter()
                .filter(|&&(_, _, matched)| matched >= len)
                .take(MAX_OCCURRENCES)
            {
                if let Some(token) = vocabulary.longest_prefix(&text[end..]) {
                    *votes.entry(token).or_default() += 1;
                }
            }
            let total: u32 = votes.values().sum();
            if total > 0 {
                let mut next: Vec<(u32, u32)> = votes.into_iter().collect();
                next.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let n = total as f32;
                return Some((LAMBDA_MAX * n / (n + 0.5) * weight, next, total));
            }
        }
        None
    }

    /// Interpolates the prediction after `context` (searching `recent` too) into `logits`;
    /// false when there is none.
    pub fn adjust_with(&self, recent: &[&str], context: &str, logits: &mut [f32]) -> bool {
        match self.predict_with(recent, context) {
            Some((lambda, next, total)) => {
                mix(logits, lambda, &next, total);
                true
            }
            None => false,
        }
    }

    /// Interpolates the prediction after `context` into `logits`; false when there is none.
    pub fn adjust_text(&self, context: &str, logits: &mut [f32]) -> bool {
        match self.predict(context) {
            Some((lambda, next, total)) => {
                mix(logits, lambda, &next, total);
                true
            }
            None => false,
        }
    }
}

impl LogitsAdjuster for TextCache {
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]) {
        let tail_start = input.prefix.len().saturating_sub(256);
        let mut start = tail_start;
        while !input.prefix.is_char_boundary(start) {
            start += 1;
        }
        let context = format!("{}{}", &input.prefix[start..], input.generated_text);
        self.adjust_text(&context, logits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary::new(
            ["r", "e", "t", "u", "n", "ret", "return", " ", "    ", "x"]
                .map(String::from)
                .to_vec(),
        )
    }

    #[test]
    fn the_longest_token_starting_the_continuation_is_chosen() {
        let v = vocabulary();
        assert_eq!(v.longest_prefix("return x"), Some(6));
        assert_eq!(v.longest_prefix("retx"), Some(5));
        assert_eq!(v.longest_prefix("    return"), Some(8));
        assert_eq!(v.longest_prefix("zzz"), None);
    }

    #[test]
    fn what_followed_the_context_gets_the_mass_whatever_the_token_split_at_the_cursor() {
        let mut cache = TextCache::default();
        cache.add("def double(x):\n    return x * 2\n");
        // No vocabulary, no prediction.
        assert_eq!(cache.predict("def double(x):\n    "), None);
        cache.set_vocabulary(vocabulary());
        // 12+ chars of context ending in the indentation: "return" follows.
        let (lambda, next, total) = cache.predict("def double(x):\n    ").unwrap();
        assert_eq!((next, total), (vec![(6, 1)], 1));
        assert!(
            (lambda - LAMBDA_MAX * (1.0 / 1.5) * 0.7).abs() < 1e-6,
            "{lambda}"
        );
        assert_eq!(cache.predict("something never written"), None);
        // More occurrences, more votes; the latest 64 vote.
        cache.add("def triple(x):\n    return x * 3\n");
        let (_, next, total) = cache.predict("(x):\n    return ").unwrap();
        assert_eq!((next, total), (vec![(9, 2)], 2));
        let mut logits = vec![0.0; 10];
        logits[1] = 3.0;
        assert!(cache.adjust_text("(x):\n    return ", &mut logits));
        let best = (0..10)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        assert_eq!(best, 9, "{logits:?}");
    }

    #[test]
    fn a_short_recurring_stretch_predicts_with_less_weight() {
        let mut cache = TextCache::default();
        cache.set_vocabulary(vocabulary());
        cache.add("y = f(a, x):\n    return x\n");
        // Only the last 8 chars ("x):\n    ") recur: the 8-char level, weight 0.5.
        let (lambda, next, total) = cache.predict("def g(b, x):\n    ").unwrap();
        assert_eq!((next, total), (vec![(6, 1)], 1));
        assert!(
            (lambda - LAMBDA_MAX * (1.0 / 1.5) * 0.5).abs() < 1e-6,
            "{lambda}"
        );
        // Fewer than 8 chars in common: nothing.
        assert_eq!(cache.predict("def g(b, z):\n    "), None);
    }

    #[test]
    fn the_text_before_the_cursor_and_other_open_documents_are_searched() {
        let mut cache = TextCache::default();
        cache.set_vocabulary(vocabulary());
        // Nothing fed yet: the document's own earlier lines still predict.
        let recent = "def double(x):\n    return x * 2\ndef trouble(x):\n    ";
        let (_, next, total) = cache.predict_with(&[recent], recent).unwrap();
        assert_eq!(
            (next, total),
            (vec![(6, 1)], 1),
            "\"return\" as after double(x)"
        );
        // The context's own occurrence at the very end of `recent` votes for nothing.
        assert_eq!(
            cache.predict_with(&["abcdefghijklmnop"], "abcdefghijklmnop"),
            None
        );
        // The cache's text and the recent text both vote.
        cache.add("def bubble(x):\n    x\n");
        let (_, next, total) = cache.predict_with(&[recent], recent).unwrap();
        assert_eq!((next, total), (vec![(6, 1), (9, 1)], 2), "return, x");
        // Another open document's text votes too.
        let other = "def rumble(x):\n    x\n";
        let (_, _, total) = cache.predict_with(&[recent, other], recent).unwrap();
        assert_eq!(total, 3);
    }

    #[test]
    fn nothing_is_predicted_across_the_end_of_an_added_piece() {
        let mut cache = TextCache::default();
        cache.set_vocabulary(vocabulary());
        cache.add_piece("let total = ");
        cache.add("return x\n");
        assert_eq!(cache.predict("fn f() { let total = "), None);
        // Without the piece end, the next text would read as its continuation.
        let mut glued = TextCache::default();
        glued.set_vocabulary(vocabulary());
        glued.add("let total = ");
        glued.add("return x\n");
        assert!(glued.predict("fn f() { let total = ").is_some());
    }
}
