//! Training our byte-level BPE tokenizer, and encoding transformed documents into token ids.
//!
//! The tokenizer is byte-level (every byte sequence round-trips), splits with the GPT-2 regex,
//! which keeps runs of spaces, tabs and newlines together so BPE learns indentation tokens, and
//! has five special tokens with ids 0..5 in [`SpecialToken::ALL`] order.

use std::path::Path;

use anyhow::{Result, anyhow, ensure};
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder, TokenizerImpl};

use crate::fim::{Piece, SpecialToken};

/// Trains a byte-level BPE with `vocab_size` entries (special tokens included) on `texts`.
pub fn train_tokenizer<'a>(
    texts: impl Iterator<Item = &'a str> + Send,
    vocab_size: usize,
) -> Result<Tokenizer> {
    let special: Vec<AddedToken> = SpecialToken::ALL
        .iter()
        .map(|t| AddedToken::from(t.as_str(), true))
        .collect();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .max_token_length(Some(24))
        .special_tokens(special)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let byte_level = ByteLevel::new(false, true, true);
    let mut tokenizer: TokenizerImpl<
        BPE,
        NormalizerWrapper,
        ByteLevel,
        PostProcessorWrapper,
        ByteLevel,
    > = TokenizerBuilder::new()
        .with_model(BPE::default())
        .with_normalizer(None)
        .with_pre_tokenizer(Some(byte_level))
        .with_post_processor(None)
        .with_decoder(Some(byte_level))
        .build()
        .map_err(|e| anyhow!("building the tokenizer: {e}"))?;
    tokenizer
        .train(&mut trainer, texts)
        .map_err(|e| anyhow!("training the tokenizer: {e}"))?;
    let tokenizer: Tokenizer = tokenizer.into();
    check_special_ids(&tokenizer)?;
    Ok(tokenizer)
}

/// Loads a `tokenizer.json` and checks that its special tokens have the ids we train with.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    let tokenizer =
        Tokenizer::from_file(path).map_err(|e| anyhow!("loading {}: {e}", path.display()))?;
    check_special_ids(&tokenizer)?;
    Ok(tokenizer)
}

fn check_special_ids(tokenizer: &Tokenizer) -> Result<()> {
    for (expected, token) in SpecialToken::ALL.iter().enumerate() {
        let id = tokenizer.token_to_id(token.as_str());
        ensure!(
            id == Some(expected as u32),
            "special token {} has id {id:?}, expected {expected}",
            token.as_str()
        );
    }
    Ok(())
}

/// The id of a special token (fixed by [`SpecialToken::ALL`]'s order).
pub fn special_id(token: SpecialToken) -> u32 {
    SpecialToken::ALL
        .iter()
        .position(|t| *t == token)
        .expect("in ALL") as u32
}

/// Encodes ordinary text: special-token strings inside it are NOT turned into special tokens
/// (source files do contain `<|endoftext|>` literally).
pub struct TextEncoder {
    tokenizer: Tokenizer,
}

impl TextEncoder {
    /// Wraps a tokenizer, switching off special-token matching for ordinary text.
    pub fn new(mut tokenizer: Tokenizer) -> Self {
        tokenizer.set_encode_special_tokens(true);
        TextEncoder { tokenizer }
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let encoding = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| anyhow!("encoding: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids of transformed pieces: text encoded piece by piece, special tokens by id.
    pub fn encode_pieces(&self, pieces: &[Piece<'_>], out: &mut Vec<u32>) -> Result<()> {
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.extend(self.encode(text)?),
                Piece::Special(token) => out.push(special_id(*token)),
            }
        }
        Ok(())
    }

    /// Text of `ids`, special tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| anyhow!("decoding: {e}"))
    }

    /// The wrapped tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}
