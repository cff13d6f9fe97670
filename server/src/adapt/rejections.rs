//! Rejection memory: a suggestion rejected at a place (the text right before the cursor) is not
//! offered there again, and alternatives whose first line was rejected often anywhere go last.

use std::collections::{HashMap, HashSet};

use crate::model::{Completion, FinishReason};

/// Chars before the cursor that identify a place.
pub const PLACE_CHARS: usize = 80;
/// Rejections of the same first line (anywhere) after which alternatives like it go last.
pub const OFTEN_REJECTED: u32 = 2;

/// What was rejected, where.
#[derive(Clone, Debug, Default)]
pub struct RejectionMemory {
    at_place: HashSet<(String, String)>,
    first_lines: HashMap<String, u32>,
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
