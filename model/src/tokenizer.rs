//! Hugging Face `tokenizers` wrapper: encoding without special-token parsing, FIM and stop tokens.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::ModelError;

/// Names of the FIM sentinels, in the spellings different model families use.
const FIM_SPELLINGS: [[&str; 3]; 3] = [
    // Qwen2.5-Coder and our own tokenizer.
    ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
    // StarCoder / StarCoder2 / SantaCoder (newer).
    ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    // SantaCoder (original).
    ["<fim-prefix>", "<fim-suffix>", "<fim-middle>"],
];

/// Tokens that end a completion when generated (looked up by name; absent ones are skipped).
const STOP_TOKEN_NAMES: [&str; 11] = [
    "<|endoftext|>",
    "<|file_sep|>",
    "<file_sep>",
    "<|fim_pad|>",
    "<fim_pad>",
    "<|im_end|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "</s>",
    "<|repo_name|>",
    "<reponame>",
];

/// The model's FIM sentinel token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FimTokens {
    /// Starts the prefix (`<|fim_prefix|>`).
    pub prefix: u32,
    /// Starts the suffix (`<|fim_suffix|>`).
    pub suffix: u32,
    /// Starts the middle, i.e. the text to generate (`<|fim_middle|>`).
    pub middle: u32,
}

/// A tokenizer plus the special tokens generation needs.
pub struct TextTokenizer {
    inner: Tokenizer,
    fim: Option<FimTokens>,
    stop_ids: Vec<u32>,
    /// Ids the tokenizer's post-processor puts in front of a sequence (e.g. BOS), possibly none.
    leading_ids: Vec<u32>,
    /// An id that may start an otherwise empty prompt (a document separator).
    document_start: Option<u32>,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab_size", &self.inner.get_vocab_size(true))
            .field("fim", &self.fim)
            .field("stop_ids", &self.stop_ids)
            .finish()
    }
}

impl TextTokenizer {
    /// Loads `tokenizer.json`; `extra_stop_ids` are the config's `eos_token_id`s.
    pub fn from_file(path: &Path, extra_stop_ids: &[u32]) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|err| ModelError::io(path, err))?;
        Self::from_bytes(&bytes, path, extra_stop_ids)
    }

    /// Parses `tokenizer.json` bytes; `path` labels errors.
    pub fn from_bytes(
        bytes: &[u8],
        path: &Path,
        extra_stop_ids: &[u32],
    ) -> Result<Self, ModelError> {
        let inner = Tokenizer::from_bytes(bytes)
            .map_err(|err| ModelError::tokenizer(path, err.to_string()))?;
        Self::from_tokenizer(inner, path, extra_stop_ids, None)
    }

    /// Wraps an already-built tokenizer (GGUF metadata builds one); `leading_ids` overrides the
    /// ids put in front of every prompt (default: whatever the post-processor adds to `""`).
    pub fn from_tokenizer(
        mut inner: Tokenizer,
        path: &Path,
        extra_stop_ids: &[u32],
        leading_ids: Option<Vec<u32>>,
    ) -> Result<Self, ModelError> {
        // User text that happens to contain "<|endoftext|>" must stay text.
        inner.set_encode_special_tokens(true);
        let id = |name: &str| inner.token_to_id(name);
        let fim = FIM_SPELLINGS.iter().find_map(|[p, s, m]| {
            Some(FimTokens {
                prefix: id(p)?,
                suffix: id(s)?,
                middle: id(m)?,
            })
        });
        let mut stop_ids: Vec<u32> = STOP_TOKEN_NAMES
            .iter()
            .filter_map(|name| id(name))
            .collect();
        stop_ids.extend_from_slice(extra_stop_ids);
        if let Some(fim) = fim {
            stop_ids.extend([fim.prefix, fim.suffix, fim.middle]);
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();
        let leading_ids = match leading_ids {
            Some(ids) => ids,
            None => inner
                .encode("", true)
                .map(|encoding| encoding.get_ids().to_vec())
                .map_err(|err| ModelError::tokenizer(path, err.to_string()))?,
        };
        let document_start = ["<|endoftext|>", "<s>", "<|begin_of_text|>", "</s>"]
            .iter()
            .find_map(|n| id(n));
        Ok(TextTokenizer {
            inner,
            fim,
            stop_ids,
            leading_ids,
            document_start,
        })
    }

    /// Token ids of `text`, with no special tokens added or parsed.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        if text.is_empty() {
            return Vec::new();
        }
        match self.inner.encode(text, false) {
            Ok(encoding) => encoding.get_ids().to_vec(),
            Err(err) => {
                tracing::warn!(%err, "tokenizer failed to encode text; using an empty encoding");
                Vec::new()
            }
        }
    }

    /// Text of `ids` (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, false).unwrap_or_default()
    }

    /// Ids of the special (control) tokens, sorted: never plain text.
    pub fn special_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, token)| token.special)
            .map(|(id, _)| id)
            .chain(self.stop_ids.iter().copied())
            .chain(self.leading_ids.iter().copied())
            .chain(self.fim.iter().flat_map(|f| [f.prefix, f.suffix, f.middle]))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// FIM sentinels, when the vocabulary has them.
    pub fn fim(&self) -> Option<FimTokens> {
        self.fim
    }

    /// Whether generating `id` ends a completion.
    pub fn is_stop(&self, id: u32) -> bool {
        self.stop_ids.binary_search(&id).is_ok()
    }

    /// Ids that end a completion, sorted.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Ids the tokenizer puts in front of every sequence (BOS), possibly none.
    pub fn leading_ids(&self) -> &[u32] {
        &self.leading_ids
    }

    /// A token to start an otherwise empty prompt with.
    pub fn document_start(&self) -> Option<u32> {
        self.leading_ids.first().copied().or(self.document_start)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The FIM sentinels' names, when the vocabulary has them (e.g. `<fim_prefix>`).
    pub fn fim_names(&self) -> Option<[&'static str; 3]> {
        FIM_SPELLINGS
            .iter()
            .find(|names| {
                names
                    .iter()
                    .all(|name| self.inner.token_to_id(name).is_some())
            })
            .copied()
    }

    /// Id of a token by its exact name.
    pub fn token_id(&self, name: &str) -> Option<u32> {
        self.inner.token_to_id(name)
    }
}

pub use crate::config::FimMode;

/// Builds the prompt ids for a completion request.
///
/// With a suffix and FIM tokens, a FIM prompt in `mode`; otherwise the prefix alone. The
/// tokenizer's leading ids (BOS) come first. An empty result gets the document-start token.
pub fn build_prompt(
    tokenizer: &TextTokenizer,
    prefix: &str,
    suffix: Option<&str>,
    mode: FimMode,
) -> Vec<u32> {
    build_prompt_parts(tokenizer, prefix, suffix, mode).0
}

/// [`build_prompt`], plus where the prefix's own ids (`prefix` encoded alone) sit in it.
pub(crate) fn build_prompt_parts(
    tokenizer: &TextTokenizer,
    prefix: &str,
    suffix: Option<&str>,
    mode: FimMode,
) -> (Vec<u32>, std::ops::Range<usize>) {
    let mut ids = tokenizer.leading_ids().to_vec();
    let push_prefix = |ids: &mut Vec<u32>| {
        let start = ids.len();
        ids.extend(tokenizer.encode(prefix));
        start..ids.len()
    };
    let prefix_range = match (suffix, tokenizer.fim()) {
        (Some(suffix), Some(fim)) => match mode {
            FimMode::PrefixSuffixMiddle => {
                ids.push(fim.prefix);
                let range = push_prefix(&mut ids);
                ids.push(fim.suffix);
                ids.extend(tokenizer.encode(suffix));
                ids.push(fim.middle);
                range
            }
            FimMode::SuffixPrefixMiddle => {
                ids.push(fim.prefix);
                ids.push(fim.suffix);
                ids.extend(tokenizer.encode(suffix));
                ids.push(fim.middle);
                push_prefix(&mut ids)
            }
        },
        _ => push_prefix(&mut ids),
    };
    if ids.is_empty() {
        ids.extend(tokenizer.document_start());
    }
    (ids, prefix_range)
}
