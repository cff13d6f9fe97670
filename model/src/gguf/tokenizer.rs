//! The tokenizer stored in GGUF metadata (`tokenizer.ggml.*`), rebuilt as a Hugging Face
//! `tokenizers` byte-level BPE.
//!
//! Keys read: `tokenizer.ggml.model` (only `gpt2`, i.e. byte-level BPE, is supported),
//! `tokens`, `merges` (`"a b"` strings, in rank order), `token_type` (3 = control and
//! 4 = user-defined become added tokens), `pre` (which pre-tokenizer regexes llama.cpp applies),
//! `bos_token_id`, `eos_token_id`, `add_bos_token`.
//!
//! The pre-tokenizer is rebuilt from the same regular expressions llama.cpp's `llama-vocab.cpp`
//! uses for each `pre` name, applied in order (each splits the pieces of the previous one,
//! keeping the matches and the text between them), followed by the byte-to-unicode mapping.

use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::GgufError;
use super::file::{GgufFile, MetaValue};

/// GPT-2's split: contractions, letters, digits, other symbols, whitespace runs.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Qwen2 (and StableLM2): case-insensitive contractions, a leading non-letter glued to words,
/// single digits, newlines grouped.
const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3: like Qwen2 but digits in groups of up to three.
const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regexes llama.cpp applies for a `tokenizer.ggml.pre` name (`None`: not supported here).
pub fn pre_tokenizer_regexes(pre: &str) -> Option<Vec<&'static str>> {
    Some(match pre {
        // Every digit on its own, then GPT-2's split (SmolLM, StarCoder, Refact, ...).
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva" => {
            vec![r"\p{N}", GPT2]
        }
        "gpt-2" | "gpt2" | "mpt" | "olmo" | "jais" => vec![GPT2],
        "qwen2" | "stablelm2" => vec![QWEN2],
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" | "dbrx" | "falcon3" => vec![LLAMA3],
        _ => return None,
    })
}

/// What the GGUF says about its tokenizer, besides the tokenizer itself.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTokenizerInfo {
    /// `tokenizer.ggml.model`.
    pub model: String,
    /// `tokenizer.ggml.pre`.
    pub pre: String,
    /// Number of tokens.
    pub vocab_size: usize,
    /// BOS id.
    pub bos: Option<u32>,
    /// EOS id.
    pub eos: Option<u32>,
    /// Whether prompts start with BOS.
    pub add_bos: bool,
}

/// Reads the tokenizer metadata and builds the tokenizer.
pub fn build_tokenizer(file: &GgufFile) -> Result<(Tokenizer, GgufTokenizerInfo), GgufError> {
    let info = tokenizer_info(file)?;
    if info.model != "gpt2" {
        return Err(GgufError::Tokenizer(format!(
            "tokenizer.ggml.model `{}` is unsupported (only `gpt2`, byte-level BPE)",
            info.model
        )));
    }
    let regexes = pre_tokenizer_regexes(&info.pre).ok_or_else(|| {
        GgufError::Tokenizer(format!(
            "tokenizer.ggml.pre `{}` is unsupported (known: smollm, starcoder, refact, gpt2, qwen2, llama-bpe, ...)",
            info.pre
        ))
    })?;
    let tokens = string_array(file, "tokenizer.ggml.tokens")?;
    let merges = string_array(file, "tokenizer.ggml.merges")?;
    let types: Vec<u64> = match file.get("tokenizer.ggml.token_type") {
        None => vec![1; tokens.len()],
        Some(value) => value
            .as_array()
            .and_then(|items| items.iter().map(MetaValue::as_u64).collect::<Option<_>>())
            .ok_or_else(|| bad_key("tokenizer.ggml.token_type", "not an array of integers"))?,
    };
    if types.len() != tokens.len() {
        return Err(bad_key(
            "tokenizer.ggml.token_type",
            &format!("{} entries for {} tokens", types.len(), tokens.len()),
        ));
    }

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.to_string(), id as u32))
        .collect();
    if vocab.len() != tokens.len() {
        return Err(bad_key(
            "tokenizer.ggml.tokens",
            "contains duplicate tokens",
        ));
    }
    let merges = merges
        .iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    bad_key(
                        "tokenizer.ggml.merges",
                        &format!("merge {merge:?} has no space"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|err| GgufError::Tokenizer(format!("building BPE: {err}")))?;

    let mut pre_tokenizers = Vec::new();
    for regex in regexes {
        let split = Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|err| GgufError::Tokenizer(format!("pre-tokenizer regex: {err}")))?;
        pre_tokenizers.push(PreTokenizerWrapper::Split(split));
    }
    pre_tokenizers.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(
        false, true, false,
    )));
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(
        pre_tokenizers,
    ))));
    tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
    // Control tokens are special (never parsed from user text); user-defined ones are matched in
    // text like llama.cpp does even without special-token parsing.
    let control: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, kind)| **kind == 3)
        .map(|(token, _)| AddedToken::from(token.to_string(), true))
        .collect();
    let user: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, kind)| **kind == 4)
        .map(|(token, _)| AddedToken::from(token.to_string(), false))
        .collect();
    tokenizer
        .add_special_tokens(control)
        .map_err(|err| GgufError::Tokenizer(err.to_string()))?;
    tokenizer
        .add_tokens(user)
        .map_err(|err| GgufError::Tokenizer(err.to_string()))?;
    Ok((tokenizer, info))
}

/// The tokenizer's description without building it (for `model info`).
pub fn tokenizer_info(file: &GgufFile) -> Result<GgufTokenizerInfo, GgufError> {
    let text = |key: &str| -> Result<Option<String>, GgufError> {
        match file.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| bad_key(key, "not a string")),
        }
    };
    let id = |key: &str| -> Result<Option<u32>, GgufError> {
        match file.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| bad_key(key, "not a token id")),
        }
    };
    let model = text("tokenizer.ggml.model")?
        .ok_or_else(|| GgufError::MissingKey("tokenizer.ggml.model".into()))?;
    let vocab_size = file
        .get("tokenizer.ggml.tokens")
        .and_then(MetaValue::as_array)
        .map(<[MetaValue]>::len)
        .ok_or_else(|| GgufError::MissingKey("tokenizer.ggml.tokens".into()))?;
    let check = |id: Option<u32>, key: &str| match id {
        Some(id) if id as usize >= vocab_size => Err(bad_key(
            key,
            &format!("id {id} is outside the vocabulary of {vocab_size}"),
        )),
        other => Ok(other),
    };
    Ok(GgufTokenizerInfo {
        model,
        pre: text("tokenizer.ggml.pre")?.unwrap_or_else(|| "default".into()),
        vocab_size,
        bos: check(
            id("tokenizer.ggml.bos_token_id")?,
            "tokenizer.ggml.bos_token_id",
        )?,
        eos: check(
            id("tokenizer.ggml.eos_token_id")?,
            "tokenizer.ggml.eos_token_id",
        )?,
        add_bos: file
            .get("tokenizer.ggml.add_bos_token")
            .and_then(MetaValue::as_bool)
            .unwrap_or(false),
    })
}

fn string_array<'f>(file: &'f GgufFile, key: &str) -> Result<Vec<&'f str>, GgufError> {
    file.get(key)
        .ok_or_else(|| GgufError::MissingKey(key.to_string()))?
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(MetaValue::as_str)
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| bad_key(key, "not an array of strings"))
}

fn bad_key(key: &str, message: &str) -> GgufError {
    GgufError::BadKey {
        key: key.to_string(),
        message: message.to_string(),
    }
}
