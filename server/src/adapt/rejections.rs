//! Rejection memory: a suggestion rejected at a place (the text right before the cursor) is not
//! offered there again, and alternatives whose first line was rejected often anywhere go last.
//!
//! While decoding ([`RejectionMemory::steering`]), a first line this user turns down much more
//! often than suggestions in general is steered away from: with `r` rejections and `a`
//! acceptances of the line, and `p0 = (A + 1) / (A + R + 2)` this user's acceptance rate over all
//! decided suggestions, the line's rate is estimated as `p = (a + PRIOR·p0) / (a + r + PRIOR)`;
//! when `r ≥ OFTEN_REJECTED` and `p ≤ p0 / 2`, each token that continues the line generated so
//! far towards it has its probability multiplied by `p / p0`, so the model's next choice comes
//! instead. A line that is often right (say `#[inline]` in a Rust crate) is not steered away
//! from even when it is also often rejected.

use std::collections::{HashMap, HashSet};

use super::text_cache::Vocabulary;
use crate::model::{Completion, FinishReason};

/// Chars before the cursor that identify a place.
pub const PLACE_CHARS: usize = 80;
/// Rejections of the same first line (anywhere) after which alternatives like it go last.
pub const OFTEN_REJECTED: u32 = 2;
/// Weight, in decisions, of this user's overall acceptance rate in a line's estimated rate.
pub const PRIOR: f32 = 2.0;

/// What was rejected, where.
#[derive(Clone, Debug, Default)]
pub struct RejectionMemory {
    at_place: HashSet<(String, String)>,
    first_lines: HashMap<String, u32>,
    accepted_lines: HashMap<String, u32>,
    /// Rejections and acceptances of all lines.
    rejected_total: u32,
    accepted_total: u32,
}

fn place(before: &str) -> String {
    let count = before.chars().count();
    before
        .chars()
        .skip(count.saturating_sub(PLACE_CHARS))
        .collect()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

impl RejectionMemory {
    /// Remembers that `text` was rejected after `before`.
    pub fn reject(&mut self, before: &str, text: &str) {
        let line = first_line(text);
        if line.is_empty() {
            return;
        }
        self.at_place.insert((place(before), line.clone()));
        *self.first_lines.entry(line).or_default() += 1;
        self.rejected_total += 1;
    }

    /// Remembers that `text` was accepted (its first line counts against its rejections).
    pub fn accept(&mut self, text: &str) {
        let line = first_line(text);
        if !line.is_empty() {
            *self.accepted_lines.entry(line).or_default() += 1;
            self.accepted_total += 1;
        }
    }

    /// How often a suggestion with `text`'s first line was accepted.
    pub fn acceptances_of(&self, text: &str) -> u32 {
        self.accepted_lines
            .get(&first_line(text))
            .copied()
            .unwrap_or(0)
    }

    /// This user's acceptance rate over all decided suggestions (Laplace-smoothed).
    pub fn acceptance_rate(&self) -> f32 {
        (self.accepted_total + 1) as f32 / (self.accepted_total + self.rejected_total + 2) as f32
    }

    /// The factor a token leading to `line` is multiplied by while decoding: `None` unless the
    /// line was rejected at least [`OFTEN_REJECTED`] times and its estimated acceptance rate is
    /// at most half this user's overall rate (see the module documentation).
    pub fn keep_factor(&self, line: &str) -> Option<f32> {
        let rejected = self.first_lines.get(line).copied().unwrap_or(0);
        if rejected < OFTEN_REJECTED {
            return None;
        }
        let accepted = self.accepted_lines.get(line).copied().unwrap_or(0) as f32;
        let overall = self.acceptance_rate();
        let rate = (accepted + PRIOR * overall) / (accepted + rejected as f32 + PRIOR);
        (rate <= overall / 2.0).then_some(rate / overall)
    }

    /// The lines decoding steers away from now, with their factors.
    pub fn steering(&self) -> Steering<'_> {
        Steering {
            lines: self
                .first_lines
                .keys()
                .filter_map(|line| Some((line.as_str(), self.keep_factor(line)?)))
                .collect(),
        }
    }

    /// Whether `text` was rejected right after `before`.
    pub fn rejected_here(&self, before: &str, text: &str) -> bool {
        self.at_place.contains(&(place(before), first_line(text)))
    }

    /// How often a suggestion with `text`'s first line was rejected anywhere.
    pub fn rejections_of(&self, text: &str) -> u32 {
        self.first_lines
            .get(&first_line(text))
            .copied()
            .unwrap_or(0)
    }

    /// Drops completions rejected at this place (their text becomes empty, so the pipeline
    /// offers nothing for them) and moves often-rejected ones after the others (stable).
    pub fn filter(&self, before: &str, completions: &mut [Completion]) {
        for completion in completions.iter_mut() {
            if self.rejected_here(before, &completion.text) {
                completion.text.clear();
                completion.tokens.clear();
                completion.finish = FinishReason::Stop;
            }
        }
        completions.sort_by_key(|c| self.rejections_of(&c.text) >= OFTEN_REJECTED);
    }
}

/// Lines decoding steers away from (see [`RejectionMemory::steering`]).
#[derive(Clone, Debug, Default)]
pub struct Steering<'a> {
    lines: Vec<(&'a str, f32)>,
}

impl Steering<'_> {
    /// Whether no line is steered away from.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lowers, in `logits`, the tokens that continue `generated` (the alternative's text so
    /// far, still on its first line) towards a steered line (by its factor).
    pub fn penalize(&self, generated: &str, vocabulary: &Vocabulary, logits: &mut [f32]) {
        if generated.contains('\n') {
            return;
        }
        let typed = generated.trim_start();
        for &(line, keep) in &self.lines {
            let Some(rest) = line.strip_prefix(typed).filter(|rest| !rest.is_empty()) else {
                continue;
            };
            let spaced = format!(" {rest}");
            let mut tokens: Vec<u32> = vocabulary.prefix_tokens(rest).collect();
            if typed.is_empty() {
                tokens.extend(vocabulary.prefix_tokens(&spaced));
            }
            for token in tokens {
                if let Some(logit) = logits.get_mut(token as usize) {
                    *logit += keep.ln();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(text: &str) -> Completion {
        Completion {
            text: text.to_string(),
            tokens: vec![1],
            finish: FinishReason::Stop,
        }
    }

    #[test]
    fn a_rejected_suggestion_is_not_offered_again_at_the_same_place() {
        let mut memory = RejectionMemory::default();
        memory.reject("fn main() {\n    let x = ", "compute();\n");
        let mut here = vec![completion("compute();"), completion("other();")];
        memory.filter("fn main() {\n    let x = ", &mut here);
        assert_eq!(here[0].text, "");
        assert_eq!(here[1].text, "other();");
        // Elsewhere it is still offered.
        let mut elsewhere = vec![completion("compute();")];
        memory.filter("fn other() {\n    let y = ", &mut elsewhere);
        assert_eq!(elsewhere[0].text, "compute();");
    }

    #[test]
    fn decoding_steers_away_from_lines_accepted_far_less_often_than_this_users_suggestions() {
        let vocabulary = Vocabulary::new(
            ["t", "t)", " {", ")", "this", " t", "x"]
                .map(String::from)
                .to_vec(),
        );
        let mut memory = RejectionMemory::default();
        let penalized = |memory: &RejectionMemory, generated: &str| {
            let mut logits = vec![0.0f32; 7];
            memory
                .steering()
                .penalize(generated, &vocabulary, &mut logits);
            logits
                .iter()
                .enumerate()
                .filter(|(_, l)| **l < 0.0)
                .map(|(i, l)| (i, (l.exp() * 100.0).round() / 100.0))
                .collect::<Vec<_>>()
        };
        memory.reject("a(", "t) {");
        assert!(
            penalized(&memory, "").is_empty(),
            "one rejection: no steering"
        );
        memory.reject("b(", "t) {\n  body");
        // Overall rate (0 + 1) / (2 + 2) = 0.25; the line's (0 + 2·0.25) / (2 + 2) = 0.125.
        assert_eq!(memory.acceptance_rate(), 0.25);
        assert_eq!(memory.keep_factor("t) {"), Some(0.5));
        // At the start: "t", "t)" and " t" lead to "t) {"; "this" and "x" do not.
        assert_eq!(penalized(&memory, ""), [(0, 0.5), (1, 0.5), (5, 0.5)]);
        // Part of the line generated: the tokens continuing it.
        assert_eq!(penalized(&memory, "t"), [(3, 0.5)], "\")\" continues it");
        // Another line, or past the first line: nothing.
        assert!(penalized(&memory, "x").is_empty());
        assert!(penalized(&memory, "t) {\n").is_empty());
        // Other suggestions accepted often: this line is below the user's usual rate by more.
        for _ in 0..4 {
            memory.accept("x");
        }
        // Overall (4 + 1) / (6 + 2) = 0.625; the line's 1.25 / 4 = 0.3125: half of it.
        assert_eq!(memory.keep_factor("t) {"), Some(0.5));
        memory.reject("c(", "t) {");
        // Overall 5 / 9; the line's (2·5/9) / 5 = 2/9: factor 0.4.
        assert!((memory.keep_factor("t) {").unwrap() - 0.4).abs() < 1e-6);
        // A line often right is not steered away from, however often rejected too.
        for _ in 0..3 {
            memory.accept("t) {");
        }
        assert_eq!(memory.keep_factor("t) {"), None);
        assert!(memory.steering().is_empty());
    }

    #[test]
    fn often_rejected_alternatives_go_last() {
        let mut memory = RejectionMemory::default();
        memory.reject("a = ", "unwrap()");
        assert_eq!(memory.rejections_of("unwrap()\nmore"), 1);
        let mut once = vec![completion("unwrap()"), completion("ok()")];
        memory.filter("zzz", &mut once);
        assert_eq!(once[0].text, "unwrap()", "one rejection does not reorder");
        memory.reject("b = ", "unwrap()");
        let mut twice = vec![completion("unwrap()"), completion("ok()"), completion("x")];
        memory.filter("zzz", &mut twice);
        let texts: Vec<&str> = twice.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["ok()", "x", "unwrap()"]);
    }
}
