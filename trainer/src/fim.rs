//! Fill-in-the-middle transformation at the character level, and the document chunking around it.
//!
//! Follows "Efficient Training of Language Models to Fill in the Middle" (Bavarian et al. 2022):
//! a document is cut at two uniformly random character positions into prefix, middle and suffix,
//! then written either prefix-suffix-middle (PSM) or suffix-prefix-middle (SPM). Cuts always fall
//! on `char` boundaries, so every piece is valid UTF-8 and the pieces reassemble to the original.

use crate::rng::SplitMix64;

/// How a FIM example is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FimMode {
    /// `<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>M<|endoftext|>`.
    Psm,
    /// `<|fim_prefix|><|fim_suffix|>S<|fim_middle|>P M<|endoftext|>` (the paper's SPM variant).
    Spm,
}

/// A document cut into three pieces. Invariant: `prefix + middle + suffix` is the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimSplit<'a> {
    /// Text before the hole.
    pub prefix: &'a str,
    /// The hole the model learns to fill.
    pub middle: &'a str,
    /// Text after the hole.
    pub suffix: &'a str,
}

impl<'a> FimSplit<'a> {
    /// Cuts `text` at two uniformly random character boundaries (sorted), as in the FIM paper.
    pub fn random(text: &'a str, rng: &mut SplitMix64) -> FimSplit<'a> {
        let n_chars = text.chars().count();
        let a = rng.below(n_chars as u64 + 1) as usize;
        let b = rng.below(n_chars as u64 + 1) as usize;
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let lo_byte = char_to_byte(text, lo);
        let hi_byte = char_to_byte(text, hi);
        FimSplit {
            prefix: &text[..lo_byte],
            middle: &text[lo_byte..hi_byte],
            suffix: &text[hi_byte..],
        }
    }
}

/// Byte offset of the `char_idx`-th character (or `text.len()` past the end).
fn char_to_byte(text: &str, char_idx: usize) -> usize {
    text.char_indices()
        .nth(char_idx)
        .map_or(text.len(), |(byte, _)| byte)
}

/// One piece of a training document after the transform: text or a special token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Ordinary text, tokenized as-is (special-token strings inside it stay ordinary text).
    Text(&'a str),
    /// A special token, by role.
    Special(SpecialToken),
}

/// The special tokens of our tokenizer, by role (ids come from the tokenizer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialToken {
    /// `<|endoftext|>`: end of a document, and end of a FIM middle.
    EndOfText,
    /// `<|fim_prefix|>`.
    FimPrefix,
    /// `<|fim_suffix|>`.
    FimSuffix,
    /// `<|fim_middle|>`.
    FimMiddle,
    /// `<|file_sep|>`: starts a `path\ncontent` file record.
    FileSep,
}

impl SpecialToken {
    /// All special tokens in id order (the tokenizer assigns ids 0..5 in this order).
    pub const ALL: [SpecialToken; 5] = [
        SpecialToken::EndOfText,
        SpecialToken::FimPrefix,
        SpecialToken::FimSuffix,
        SpecialToken::FimMiddle,
        SpecialToken::FileSep,
    ];

    /// The token's text in `tokenizer.json` (Qwen2.5-Coder names).
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialToken::EndOfText => "<|endoftext|>",
            SpecialToken::FimPrefix => "<|fim_prefix|>",
            SpecialToken::FimSuffix => "<|fim_suffix|>",
            SpecialToken::FimMiddle => "<|fim_middle|>",
            SpecialToken::FileSep => "<|file_sep|>",
        }
    }
}

/// Lays a split out as FIM pieces, ending with `<|endoftext|>` (the model's "middle is done").
pub fn fim_pieces<'a>(split: &FimSplit<'a>, mode: FimMode) -> Vec<Piece<'a>> {
    use SpecialToken::*;
    let mut pieces = match mode {
        FimMode::Psm => vec![
            Piece::Special(FimPrefix),
            Piece::Text(split.prefix),
            Piece::Special(FimSuffix),
            Piece::Text(split.suffix),
            Piece::Special(FimMiddle),
            Piece::Text(split.middle),
        ],
        FimMode::Spm => vec![
            Piece::Special(FimPrefix),
            Piece::Special(FimSuffix),
            Piece::Text(split.suffix),
            Piece::Special(FimMiddle),
            Piece::Text(split.prefix),
            Piece::Text(split.middle),
        ],
    };
    pieces.retain(|p| !matches!(p, Piece::Text("")));
    pieces.push(Piece::Special(EndOfText));
    pieces
}

/// Recovers the original text from FIM pieces (the inverse of [`fim_pieces`]); `None` if the
/// pieces are not a well-formed FIM example.
pub fn reassemble(pieces: &[Piece<'_>]) -> Option<String> {
    use SpecialToken::*;
    let mut sections: Vec<String> = vec![String::new()];
    let mut markers = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => sections.last_mut()?.push_str(t),
            Piece::Special(EndOfText) => break,
            Piece::Special(s) => {
                markers.push(*s);
                sections.push(String::new());
            }
        }
    }
    // PSM: ["", P, S, M]; SPM: ["", "", S, P+M]. Both read back as sections 1 + 3 + 2.
    match markers.as_slice() {
        [FimPrefix, FimSuffix, FimMiddle] if sections[0].is_empty() => {
            Some(format!("{}{}{}", sections[1], sections[3], sections[2]))
        }
        _ => None,
    }
}

/// Options of the document transform used to build training sequences.
#[derive(Debug, Clone, Copy)]
pub struct TransformOptions {
    /// Probability that a chunk becomes a FIM example.
    pub fim_rate: f64,
    /// Among FIM examples, probability of the SPM layout (else PSM).
    pub spm_rate: f64,
    /// Chunks are cut at line ends once they reach about this many bytes, so that a FIM example
    /// fits the training context.
    pub chunk_bytes: usize,
    /// Probability that a plain document starts with `<|file_sep|>path\n`.
    pub file_sep_rate: f64,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            fim_rate: 0.5,
            spm_rate: 0.5,
            chunk_bytes: 1600,
            file_sep_rate: 0.2,
        }
    }
}

/// Cuts `text` into chunks of about `chunk_bytes` at line ends. Invariant: the chunks
/// concatenate to `text`; none is empty.
pub fn chunk_lines(text: &str, chunk_bytes: usize) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        pos += line.len();
        if pos - start >= chunk_bytes {
            chunks.push(&text[start..pos]);
            start = pos;
        }
    }
    if start < text.len() {
        chunks.push(&text[start..]);
    }
    chunks
}

/// The whole transform for one document: chunking, then per chunk a FIM example (ending with
/// `<|endoftext|>`) or plain text; plain chunks of a document follow each other directly and the
/// document ends with `<|endoftext|>`.
pub fn transform_document<'a>(
    path: &'a str,
    text: &'a str,
    options: &TransformOptions,
    rng: &mut SplitMix64,
) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    if rng.unit() < options.file_sep_rate {
        pieces.push(Piece::Special(SpecialToken::FileSep));
        pieces.push(Piece::Text(path));
        pieces.push(Piece::Text("\n"));
    }
    let mut open_plain = false;
    for chunk in chunk_lines(text, options.chunk_bytes) {
        if rng.unit() < options.fim_rate {
            if open_plain {
                pieces.push(Piece::Special(SpecialToken::EndOfText));
                open_plain = false;
            }
            let split = FimSplit::random(chunk, rng);
            let mode = if rng.unit() < options.spm_rate {
                FimMode::Spm
            } else {
                FimMode::Psm
            };
            pieces.extend(fim_pieces(&split, mode));
        } else {
            pieces.push(Piece::Text(chunk));
            open_plain = true;
        }
    }
    if open_plain || pieces.is_empty() {
        pieces.push(Piece::Special(SpecialToken::EndOfText));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_concatenate_to_the_text() {
        let text = "fn a() {}\n".repeat(50) + "tail without newline";
        let chunks = chunk_lines(&text, 64);
        assert!(chunks.len() > 5);
        assert_eq!(chunks.concat(), text);
        assert!(chunks.iter().all(|c| !c.is_empty()));
    }
}
