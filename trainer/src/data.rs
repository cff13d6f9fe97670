//! Turning corpus documents into packed token streams, and reading training batches from them.
//!
//! `prepare` writes `train.tokens` (FIM-transformed documents) and `heldout.tokens` (plain held-out
//! documents), little-endian `u16` ids back to back. A batch is a pure function of the step
//! number, so the data position in a checkpoint is simply the step.

use std::path::Path;

use anyhow::{Context, Result, ensure};

use crate::corpus::Document;
use crate::fim::{Piece, SpecialToken, TransformOptions, transform_document};
use crate::rng::SplitMix64;
use crate::tokenizer::TextEncoder;

/// Per-document RNG: depends only on the seed and the document's index, so the transform is the
/// same however the work is split between threads.
pub fn document_rng(seed: u64, document_idx: usize) -> SplitMix64 {
    let mut rng = SplitMix64::new(seed ^ (document_idx as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    rng.next_u64();
    rng
}

/// Encodes documents into one token stream. `options: None` writes plain documents
/// (`text<|endoftext|>`), otherwise the FIM transform is applied.
pub fn encode_documents(
    encoder: &TextEncoder,
    documents: &[Document],
    options: Option<&TransformOptions>,
    seed: u64,
    n_threads: usize,
) -> Result<Vec<u32>> {
    let n_threads = n_threads.max(1);
    let chunk = documents.len().div_ceil(n_threads).max(1);
    let parts: Vec<Result<Vec<u32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = documents
            .chunks(chunk)
            .enumerate()
            .map(|(part_idx, part)| {
                scope.spawn(move || -> Result<Vec<u32>> {
                    let mut out = Vec::new();
                    for (offset, document) in part.iter().enumerate() {
                        let document_idx = part_idx * chunk + offset;
                        let pieces = match options {
                            Some(options) => {
                                let mut rng = document_rng(seed, document_idx);
                                transform_document(
                                    &document.path,
                                    &document.text,
                                    options,
                                    &mut rng,
                                )
                            }
                            None => vec![
                                Piece::Text(&document.text),
                                Piece::Special(SpecialToken::EndOfText),
                            ],
                        };
                        encoder.encode_pieces(&pieces, &mut out)?;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("encoder thread panicked"))
            .collect()
    });
    let mut tokens = Vec::new();
    for part in parts {
        tokens.extend(part?);
    }
    Ok(tokens)
}

/// Writes token ids as little-endian `u16`.
pub fn write_tokens(path: &Path, tokens: &[u32]) -> Result<()> {
    let mut bytes = Vec::with_capacity(tokens.len() * 2);
    for &t in tokens {
        ensure!(t <= u16::MAX as u32, "token id {t} does not fit u16");
        bytes.extend_from_slice(&(t as u16).to_le_bytes());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Reads a token file written by [`write_tokens`].
pub fn read_tokens(path: &Path) -> Result<Vec<u16>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.len() % 2 == 0,
        "{}: odd length, not a u16 token file",
        path.display()
    );
    Ok(bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// Fixed-length training windows over a token stream.
///
/// Invariant: `tokens.len() > seq_len`. Window `k` is `tokens[k*seq_len .. k*seq_len + seq_len + 1]`
/// (inputs are the first `seq_len` tokens, targets the last `seq_len`); windows wrap around for
/// further epochs.
pub struct TokenWindows {
    tokens: Vec<u16>,
    seq_len: usize,
}

impl TokenWindows {
    /// Windows of `seq_len` over `tokens`.
    pub fn new(tokens: Vec<u16>, seq_len: usize) -> Result<Self> {
        ensure!(
            tokens.len() > seq_len,
            "only {} tokens, need more than seq_len {seq_len}",
            tokens.len()
        );
        Ok(TokenWindows { tokens, seq_len })
    }

    /// Number of distinct windows (one epoch).
    pub fn n_windows(&self) -> usize {
        (self.tokens.len() - 1) / self.seq_len
    }

    /// Total tokens in the stream.
    pub fn n_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Inputs and targets of window `window_idx` (modulo one epoch), as `i64` ids.
    pub fn window(&self, window_idx: usize) -> (Vec<i64>, Vec<i64>) {
        let start = (window_idx % self.n_windows()) * self.seq_len;
        let slice = &self.tokens[start..start + self.seq_len + 1];
        let inputs = slice[..self.seq_len].iter().map(|&t| t as i64).collect();
        let targets = slice[1..].iter().map(|&t| t as i64).collect();
        (inputs, targets)
    }

    /// The batch of training `step`: windows `step*batch .. (step+1)*batch`, flattened row-major.
    pub fn batch(&self, step: usize, batch_size: usize) -> (Vec<i64>, Vec<i64>) {
        self.batch_from(step * batch_size, batch_size)
    }

    /// Windows `first .. first + batch_size` (modulo one epoch), flattened row-major.
    pub fn batch_from(&self, first: usize, batch_size: usize) -> (Vec<i64>, Vec<i64>) {
        let mut inputs = Vec::with_capacity(batch_size * self.seq_len);
        let mut targets = Vec::with_capacity(batch_size * self.seq_len);
        for row in 0..batch_size {
            let (i, t) = self.window(first + row);
            inputs.extend(i);
            targets.extend(t);
        }
        (inputs, targets)
    }
}
