//! Token healing: a prompt that ends where the cursor is usually ends at a token boundary the
//! tokenizer would never produce in running text. `"def f(n):\n    "` encodes as `…):`, `\n`,
//! `"    "`, but in training data the same characters are always `\n   ` followed by a token
//! that starts with a space (`" return"`); after a lone `\n` token the model expects code, not
//! indentation, and writes nonsense. The cure (as in Microsoft's *guidance* library): take the
//! prompt's last token back, plus any whitespace-only tokens before it, and make the first
//! generated tokens spell out the removed text again (each must be a prefix of what is left of
//! it, or start with all of it). The model then picks its own tokenization across the cursor.
//! The removed text is already in the document, so it is cut from the completion.
//!
//! Only for prompts whose last piece is the prefix (prefix-only prompts and suffix-prefix-middle
//! FIM); in prefix-suffix-middle FIM the generation follows `<fim_middle>`, and FIM training
//! splits documents at arbitrary characters, so any boundary there is in distribution.

use crate::tokenizer::TextTokenizer;

/// At most this many prompt tokens are taken back.
pub const MAX_HEALED_TOKENS: usize = 4;
/// At most this many bytes of prompt text are taken back.
pub const MAX_HEALED_BYTES: usize = 64;

/// Each vocabulary id's text when it is a plain piece of text: `None` for special/added tokens,
/// tokens that decode to nothing, and tokens that are part of a UTF-8 character (they decode to
/// U+FFFD alone). Only plain tokens may be chosen while healing.
#[derive(Debug, Clone)]
pub struct VocabText {
    texts: Vec<Option<Box<str>>>,
}

impl VocabText {
    /// Decodes every id of `tokenizer` once.
    pub fn new(tokenizer: &TextTokenizer) -> VocabText {
        let special = tokenizer.special_ids();
        let texts = (0..tokenizer.vocab_size() as u32)
            .map(|id| {
                if special.binary_search(&id).is_ok() {
                    return None;
                }
                let text = tokenizer.decode(&[id]);
                (!text.is_empty() && !text.contains('\u{FFFD}')).then(|| text.into_boxed_str())
            })
            .collect();
        VocabText { texts }
    }

    /// The text of `id`, when it is a plain piece of text.
    pub fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).and_then(|t| t.as_deref())
    }

    /// Sets to −∞ the logits of every id whose text is not consistent with `remaining` (neither
    /// a prefix of it nor starting with it). Ids past the table (padding rows) are masked too.
    ///
    /// Indentation the user typed is final: when `remaining` ends with spaces or tabs, a token
    /// that goes past it may not go on with more of them. Once all of it is spelled out, the
    /// next token may not start with one either ([`VocabText::mask_leading_blank`]).
    pub fn mask(&self, remaining: &str, logits: &mut [f32]) {
        let ends_blank = remaining.ends_with(blank);
        for (id, logit) in logits.iter_mut().enumerate() {
            let allowed = self.texts.get(id).and_then(|t| t.as_deref()).is_some_and(|text| {
                remaining.starts_with(text)
                    || text
                        .strip_prefix(remaining)
                        .is_some_and(|rest| !(ends_blank && rest.starts_with(blank)))
            });
            if !allowed {
                *logit = f32::NEG_INFINITY;
            }
        }
    }

    /// Sets to −∞ the logits of every id whose text starts with a space or a tab (special
    /// tokens, an end of text among them, stay allowed).
    pub fn mask_leading_blank(&self, logits: &mut [f32]) {
        for (id, logit) in logits.iter_mut().enumerate() {
            if self.text(id as u32).is_some_and(|text| text.starts_with(blank)) {
                *logit = f32::NEG_INFINITY;
            }
        }
    }
}

fn blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// What to take back from the end of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealPlan {
    /// How many ids to remove from the end of the prompt.
    pub removed: usize,
    /// Their text, which the first generated tokens must spell out.
    pub forced: String,
}

/// Plans healing for a prompt ending in `prefix_ids` (the prefix's own encoding, the prompt's
/// last ids). Takes back the last token and the whitespace-only tokens before it, within
/// [`MAX_HEALED_TOKENS`] / [`MAX_HEALED_BYTES`], keeping at least one prefix token. `None` when
/// nothing can be healed: a special or partial-character token at the end, or a tokenizer whose
/// single-token texts do not add up to the text (not byte-level).
pub fn plan(vocab: &VocabText, tokenizer: &TextTokenizer, prefix_ids: &[u32]) -> Option<HealPlan> {
    if prefix_ids.len() < 2 {
        return None;
    }
    let mut removed = 0;
    let mut pieces: Vec<&str> = Vec::new();
    let mut bytes = 0;
    for &id in prefix_ids.iter().rev() {
        if removed == MAX_HEALED_TOKENS || removed + 1 == prefix_ids.len() {
            break;
        }
        let Some(text) = vocab.text(id) else { break };
        let whitespace = text.chars().all(char::is_whitespace);
        if removed > 0 && !whitespace {
            break;
        }
        if bytes + text.len() > MAX_HEALED_BYTES {
            break;
        }
        bytes += text.len();
        pieces.push(text);
        removed += 1;
    }
    if removed == 0 {
        return None;
    }
    pieces.reverse();
    let forced: String = pieces.concat();
    // Byte-level tokenizers decode to the concatenation of their tokens' texts; others (e.g.
    // SentencePiece decoders that drop a leading space) do not, and healing would garble text.
    let tail = &prefix_ids[prefix_ids.len() - removed..];
    if tokenizer.decode(tail) != forced {
        return None;
    }
    Some(HealPlan { removed, forced })
}

/// One alternative's progress through the forced text.
#[derive(Debug, Clone, Default)]
pub struct Healing {
    forced: String,
}

impl Healing {
    /// Starts with all of `forced` to spell out (empty: no healing).
    pub fn new(forced: &str) -> Healing {
        Healing {
            forced: forced.to_owned(),
        }
    }

    /// Length in bytes of the forced text (cut from the front of the decoded completion).
    pub fn forced_len(&self) -> usize {
        self.forced.len()
    }

    /// The forced text not yet spelled out by `generated_text` (the decoded tokens so far), or
    /// `None` once it is all there.
    pub fn remaining<'a>(&'a self, generated_text: &str) -> Option<&'a str> {
        if generated_text.len() >= self.forced.len() {
            return None;
        }
        Some(&self.forced[generated_text.len()..])
    }

    /// Whether the next token must not start with a space or tab: the forced text is exactly
    /// spelled out and ends with indentation the user typed.
    pub fn keeps_indentation(&self, generated_text: &str) -> bool {
        generated_text.len() == self.forced.len() && self.forced.ends_with(blank)
    }

    /// The completion's own text: `decoded` without the forced text at its front (empty while
    /// the forced text is not complete).
    pub fn strip<'a>(&self, decoded: &'a str) -> &'a str {
        match decoded.strip_prefix(self.forced.as_str()) {
            Some(rest) => rest,
            None if decoded.len() < self.forced.len() => "",
            // Cannot happen with the mask; never lose text if it does.
            None => decoded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_keeps_tokens_that_spell_the_text_and_never_deepen_typed_indentation() {
        let vocab = VocabText {
            texts: ["\n", "\n ", "\n  ", "\n   ", " ", " return", "  return", "x", ""]
                .iter()
                .map(|t| (!t.is_empty()).then(|| Box::<str>::from(*t)))
                .collect(),
        };
        let allowed = |remaining: &str| {
            let mut logits = vec![0.0f32; 10];
            vocab.mask(remaining, &mut logits);
            (0..10)
                .filter(|&id| logits[id].is_finite())
                .map(|id| vocab.text(id as u32).unwrap_or("<pad>").to_string())
                .collect::<Vec<_>>()
        };
        // "\n  " typed: spelled out by "\n", "\n ", "\n  ", not by "\n   " (one more space).
        assert_eq!(allowed("\n  "), ["\n", "\n ", "\n  "]);
        // After the newline the two spaces may be followed by a word, not by a third space.
        assert_eq!(allowed("  "), [" ", "  return"]);
        assert_eq!(allowed(" "), [" ", " return"]);
        // A newline typed last: indentation may follow (the user has not chosen one).
        assert_eq!(allowed("\n"), ["\n", "\n ", "\n  ", "\n   "]);
        // All spelled out: no token that starts with a blank.
        let mut logits = vec![0.0f32; 10];
        vocab.mask_leading_blank(&mut logits);
        let left: Vec<usize> = (0..10).filter(|&id| logits[id].is_finite()).collect();
        assert_eq!(left, [0, 1, 2, 3, 7, 8, 9], "newlines, `x`, specials and padding stay");
        let healing = Healing::new("\n  ");
        assert!(!healing.keeps_indentation("\n "));
        assert!(healing.keeps_indentation("\n  "));
        assert!(!healing.keeps_indentation("\n  x"));
        assert!(!Healing::new("\n").keeps_indentation("\n"));
    }

    #[test]
    fn remaining_and_strip_follow_the_generated_text() {
        let healing = Healing::new("\n    ");
        assert_eq!(healing.remaining(""), Some("\n    "));
        assert_eq!(healing.remaining("\n   "), Some(" "));
        assert_eq!(healing.remaining("\n    return"), None);
        assert_eq!(healing.strip("\n   "), "");
        assert_eq!(healing.strip("\n    return n"), "return n");
        assert_eq!(Healing::default().strip("abc"), "abc");
        assert_eq!(Healing::default().remaining(""), None);
    }
}
