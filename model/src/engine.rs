//! `Engine`: model + tokenizer + device + KV cache behind the generation API the server uses.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::adjust::{AdjustInput, LogitsAdjuster};
use crate::cache::KvCache;
use crate::config::LlamaConfig;
use crate::device::{DevicePreference, select_device};
use crate::error::ModelError;
use crate::heal::{self, Healing, VocabText};
use crate::llama::Llama;
use crate::rng::SeededRng;
use crate::sampling::{Sampling, pick};
use crate::stream::TextStream;
use crate::tokenizer::{FimMode, TextTokenizer, build_prompt, build_prompt_parts};

mod weights;

/// Most KV-cache positions an engine allocates, whatever the model's context length.
pub const MAX_CACHE_POSITIONS: usize = 4096;

/// Longest prompt piece run in one forward pass.
pub const PREFILL_CHUNK: usize = 256;

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Which backend to run on (`GHOSTLINE_DEVICE` overrides it).
    pub device: DevicePreference,
}

/// What a loaded model is, for logs and status.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Model name (directory name, or `embedded-default`).
    pub name: String,
    /// Number of parameters.
    pub n_params: usize,
    /// The device in words, e.g. `cpu (flex)`.
    pub device: String,
    /// Positions the engine can hold (prompt + completion).
    pub context_length: usize,
    /// Whether the tokenizer has FIM tokens (suffix-aware completion).
    pub fim: bool,
}

/// A completion request.
#[derive(Debug, Clone, Default)]
pub struct GenerateRequest {
    /// Text before the cursor.
    pub prefix: String,
    /// Text after the cursor; used with FIM-capable models.
    pub suffix: Option<String>,
    /// Most tokens per completion.
    pub max_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Number of alternatives (deterministic sampling returns one).
    pub n: usize,
    /// Strings that end a completion (not included in it).
    pub stop: Vec<String>,
    /// End a completion once it has this many complete lines (cut before the line break that
    /// would start the next); `None`: no limit.
    pub max_lines: Option<usize>,
    /// Wall-clock budget for the whole call.
    pub time_budget: Option<Duration>,
}

/// Why a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop string was produced.
    Stop,
    /// `max_tokens` reached (or the cache is full).
    MaxTokens,
    /// The model produced an end-of-text / FIM end token.
    EndOfText,
    /// The time budget ran out.
    TimeBudget,
    /// The cancel flag was set.
    Cancelled,
}

/// One alternative.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Generated text, cut before any stop string.
    pub text: String,
    /// Generated token ids (excluding the end token; including the one that completed a stop string).
    pub tokens: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerateTimings {
    /// Building prompt ids.
    pub tokenize_ms: f64,
    /// Running the uncached prompt positions.
    pub prefill_ms: f64,
    /// Generating tokens (all alternatives).
    pub decode_ms: f64,
}

/// Result of [`Engine::generate`].
#[derive(Debug, Clone)]
pub struct GenerateOutput {
    /// The alternatives, in order.
    pub completions: Vec<Completion>,
    /// Timings.
    pub timings: GenerateTimings,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys/values were reused from the previous call.
    pub reused_prefix_tokens: usize,
    /// Positions actually run during prefill (`prompt_tokens - reused_prefix_tokens`).
    pub prefill_tokens: usize,
    /// Tokens decoded across all alternatives (forward passes after prefill).
    pub decoded_tokens: usize,
}

/// Cooperative cancellation, checked between tokens.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        CancelFlag::default()
    }
    /// Sets the flag; a running generation stops before its next token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Model, tokenizer, device and KV cache. `Send`; use it from one dedicated thread.
#[derive(Debug)]
pub struct Engine {
    model: Llama,
    config: LlamaConfig,
    tokenizer: TextTokenizer,
    device: Device,
    cache: KvCache,
    /// Rows for decoding several sampled alternatives at once (allocated on first use).
    batch_cache: Option<KvCache>,
    info: ModelInfo,
    fim_mode: FimMode,
    /// Token healing of prompts that end with the prefix (see [`crate::heal`]); on by default.
    token_healing: bool,
    /// Every id's text, built on the first healed request.
    vocab_text: Option<VocabText>,
    /// The model came with its own quantized blocks (GGUF).
    gguf_blocks: bool,
}

const EMBEDDED_CONFIG: &str = include_str!("../weights/default/config.json");
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../weights/default/model.safetensors");
const EMBEDDED_TOKENIZER: &[u8] = include_bytes!("../weights/default/tokenizer.json");

impl Engine {
    /// Loads a model from `path`: a `.gguf` file (see [`crate::gguf`]) or a directory with
    /// `config.json`, `model.safetensors` and `tokenizer.json`.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Engine, ModelError> {
        if !path.is_dir() && crate::gguf::is_gguf_path(path) {
            return Engine::load_gguf(path, opts);
        }
        Engine::load_dir(path, opts)
    }

    /// Loads a GGUF checkpoint (weights dequantized to f32, tokenizer from its metadata).
    pub fn load_gguf(path: &Path, opts: &LoadOptions) -> Result<Engine, ModelError> {
        let selected = select_device(opts.device)?;
        let loaded = guard(|| crate::gguf::load_gguf(path, &selected.device))?;
        let name = loaded.name.clone().unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        });
        Engine::assemble(
            name,
            loaded.config,
            loaded.model,
            loaded.tokenizer,
            selected.device,
            selected.description,
        )
    }

    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn load_dir(dir: &Path, opts: &LoadOptions) -> Result<Engine, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "model directory not found"),
            ));
        }
        let selected = select_device(opts.device)?;
        let (config, model) = guard(|| Llama::load_dir(dir, &selected.device))?;
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"), &config.eos_ids())?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Engine::assemble(
            name,
            config,
            model,
            tokenizer,
            selected.device,
            selected.description,
        )
    }

    /// Loads the model shipped inside the binary (`model/weights/default`).
    pub fn load_embedded(opts: &LoadOptions) -> Result<Engine, ModelError> {
        let selected = select_device(opts.device)?;
        let label = PathBuf::from("<embedded>");
        let (config, model) = guard(|| {
            Llama::load_bytes(EMBEDDED_CONFIG, EMBEDDED_WEIGHTS, &label, &selected.device)
        })?;
        let tokenizer = TextTokenizer::from_bytes(
            EMBEDDED_TOKENIZER,
            &label.join("tokenizer.json"),
            &config.eos_ids(),
        )?;
        Engine::assemble(
            "embedded-default".into(),
            config,
            model,
            tokenizer,
            selected.device,
            selected.description,
        )
    }

    /// Wraps an already-built model (tests, benchmarks, training evaluation).
    pub fn from_parts(
        name: String,
        config: LlamaConfig,
        model: Llama,
        tokenizer: TextTokenizer,
        device: Device,
    ) -> Result<Engine, ModelError> {
        let description = format!("{device:?}");
        Engine::assemble(name, config, model, tokenizer, device, description)
    }

    fn assemble(
        name: String,
        config: LlamaConfig,
        mut model: Llama,
        tokenizer: TextTokenizer,
        device: Device,
        description: String,
    ) -> Result<Engine, ModelError> {
        // Ids past the embedding would fail (or panic in the backend) on every request: files
        // that do not belong together are a load error that says so.
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(ModelError::tokenizer(
                format!("{name}/tokenizer.json"),
                format!(
                    "the tokenizer has {} tokens but the model's vocabulary has {} (vocab_size in config.json): the files do not belong together",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            ));
        }
        guard(|| {
            model.prepare_for_inference();
            Ok(())
        })?;
        let gguf_blocks = model.has_quantized_decode();
        let fim_mode = config.fim_order.unwrap_or_default();
        let context_length = config.max_position_embeddings.min(MAX_CACHE_POSITIONS);
        let cache = guard(|| Ok(KvCache::new(&config, 1, context_length, &device)))?;
        let info = ModelInfo {
            name,
            n_params: config.n_params(),
            device: description,
            context_length,
            fim: tokenizer.fim().is_some(),
        };
        tracing::info!(?info, "model loaded");
        Ok(Engine {
            model,
            config,
            tokenizer,
            device,
            cache,
            batch_cache: None,
            info,
            fim_mode,
            token_healing: true,
            vocab_text: None,
            gguf_blocks,
        })
    }

    /// Name, size, device, context length, FIM support.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Number of tokens `text` encodes to.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.encode(text).len()
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The module (for benchmarks and tests).
    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Turns token healing on or off (on by default; see [`crate::heal`]).
    pub fn set_token_healing(&mut self, on: bool) {
        self.token_healing = on;
    }

    /// Drops all cached keys/values (the next call prefills from scratch).
    pub fn reset_cache(&mut self) {
        self.cache.reset();
    }

    /// Prompt ids `generate` would use for `prefix`/`suffix`.
    pub fn prompt_ids(&self, prefix: &str, suffix: Option<&str>) -> Vec<u32> {
        build_prompt(&self.tokenizer, prefix, suffix, self.fim_mode)
    }

    /// Generates completions; `on_token` receives the first alternative's text as it grows
    /// (never a partial UTF-8 character, never a possible stop-string prefix).
    pub fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelError> {
        self.generate_adjusted(req, None, cancel, on_token)
    }

    /// [`Engine::generate`] with `adjuster` changing each step's logits before the pick.
    pub fn generate_adjusted(
        &mut self,
        req: &GenerateRequest,
        adjuster: Option<&dyn LogitsAdjuster>,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelError> {
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.generate_inner(req, adjuster, cancel, on_token)
        }));
        match result {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(err)) => {
                self.cache.reset();
                Err(err)
            }
            Err(panic) => {
                self.cache.reset();
                Err(ModelError::Backend {
                    message: panic_message(panic),
                })
            }
        }
    }

    fn generate_inner(
        &mut self,
        req: &GenerateRequest,
        adjuster: Option<&dyn LogitsAdjuster>,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelError> {
        let started = Instant::now();
        let (mut prompt, prefix_range) = build_prompt_parts(
            &self.tokenizer,
            &req.prefix,
            req.suffix.as_deref(),
            self.fim_mode,
        );
        let mut prefix_ids = prompt[prefix_range.clone()].to_vec();
        let prefix_last = prefix_range.end == prompt.len();
        let forced = self.heal_prompt(prefix_last, &mut prompt, &mut prefix_ids);
        if prompt.is_empty() {
            return Err(ModelError::InvalidRequest {
                message: "empty prompt and the tokenizer has no start token".into(),
            });
        }
        let mut timings = GenerateTimings {
            tokenize_ms: ms(started.elapsed()),
            ..Default::default()
        };
        if prompt.len() >= self.cache.capacity() {
            return Err(ModelError::CacheOverflow {
                needed: prompt.len() + 1,
                capacity: self.cache.capacity(),
            });
        }
        // Spelling out the healed text does not count against `max_tokens` (at worst a token
        // per byte of it).
        let max_tokens = (req.max_tokens + forced.len()).min(self.cache.capacity() - prompt.len());
        let out_of_time = |now: Instant| {
            req.time_budget
                .is_some_and(|budget| now.duration_since(started) >= budget)
        };
        let mut output = GenerateOutput {
            completions: Vec::new(),
            timings,
            prompt_tokens: prompt.len(),
            reused_prefix_tokens: 0,
            prefill_tokens: 0,
            decoded_tokens: 0,
        };
        if cancel.is_cancelled() {
            output.completions.push(Completion {
                text: String::new(),
                tokens: Vec::new(),
                finish: FinishReason::Cancelled,
            });
            return Ok(output);
        }

        // Prefill only what the cache does not already hold (at least one position, for logits).
        let reused = self.cache.shared_prefix(&prompt).min(prompt.len() - 1);
        self.cache.truncate(reused);
        let prefill_started = Instant::now();
        let new_ids = &prompt[reused..];
        output.reused_prefix_tokens = reused;
        output.prefill_tokens = new_ids.len();
        // Chunks bound activation memory and let a cancel or the budget stop a long prefill.
        let mut prompt_logits = Vec::new();
        for chunk in new_ids.chunks(PREFILL_CHUNK) {
            if cancel.is_cancelled() || out_of_time(Instant::now()) {
                timings.prefill_ms = ms(prefill_started.elapsed());
                output.timings = timings;
                let finish = if cancel.is_cancelled() {
                    FinishReason::Cancelled
                } else {
                    FinishReason::TimeBudget
                };
                output.completions.push(Completion {
                    text: String::new(),
                    tokens: Vec::new(),
                    finish,
                });
                return Ok(output);
            }
            prompt_logits = self.step(chunk)?;
        }
        timings.prefill_ms = ms(prefill_started.elapsed());

        let decode_started = Instant::now();
        let n_alternatives = if req.sampling.is_deterministic() {
            1
        } else {
            req.n.max(1)
        };
        let seed = match req.sampling {
            Sampling::TopP { seed, .. } => seed,
            Sampling::Greedy => 0,
        };
        let mut alternatives: Vec<Alternative> = (0..n_alternatives)
            .map(|index| Alternative {
                index,
                rng: SeededRng::derived(seed, &format!("alternative-{index}")),
                stream: TextStream::new(&req.stop, req.max_lines),
                tokens: Vec::new(),
                decoded: String::new(),
                healing: Healing::new(&forced),
                finish: None,
            })
            .collect();
        if n_alternatives > 1 {
            self.fork_batch_cache(n_alternatives)?;
        }
        let vocab = self.config.vocab_size;
        let mut adjusted = Vec::new();
        let mut logits: Vec<f32> = prompt_logits.repeat(n_alternatives);
        loop {
            let interrupt = if cancel.is_cancelled() {
                Some(FinishReason::Cancelled)
            } else if out_of_time(Instant::now()) {
                Some(FinishReason::TimeBudget)
            } else if max_tokens == 0 {
                Some(FinishReason::MaxTokens)
            } else {
                None
            };
            let mut feed = Vec::with_capacity(n_alternatives);
            for (row, alternative) in alternatives.iter_mut().enumerate() {
                if alternative.finish.is_none() {
                    if let Some(reason) = interrupt {
                        alternative.finish = Some(reason);
                    } else {
                        let mut row_logits = &logits[row * vocab..(row + 1) * vocab];
                        let healing = &alternative.healing;
                        let remaining = healing.remaining(&alternative.decoded);
                        let keep_indent = healing.keeps_indentation(&alternative.decoded);
                        let table = self.vocab_text.as_ref();
                        let constrained = table.is_some() && (remaining.is_some() || keep_indent);
                        let changed = adjuster.is_some() || constrained;
                        if changed {
                            adjusted.clear();
                            adjusted.extend_from_slice(row_logits);
                        }
                        if let Some(adjuster) = adjuster {
                            // The text before the first generated token (the prefix less what
                            // healing took back) and everything generated, healed text included:
                            // one consistent text and tokenization.
                            let input = AdjustInput {
                                prefix: &req.prefix[..req.prefix.len() - forced.len()],
                                prefix_ids: &prefix_ids,
                                generated: &alternative.tokens,
                                generated_text: &alternative.decoded,
                            };
                            adjuster.adjust(&input, &mut adjusted);
                        }
                        if let Some(table) = table {
                            // Spelling out the taken-back prompt text: only tokens that fit it.
                            if let Some(remaining) = remaining {
                                table.mask(remaining, &mut adjusted);
                            } else if keep_indent {
                                table.mask_leading_blank(&mut adjusted);
                            }
                        }
                        if changed {
                            row_logits = &adjusted;
                        }
                        alternative.choose(
                            row_logits,
                            &req.sampling,
                            &self.tokenizer,
                            max_tokens,
                            on_token,
                        );
                    }
                }
                // Finished rows still occupy their batch slot; feed them a harmless repeat.
                feed.push(alternative.tokens.last().copied().unwrap_or(0));
            }
            if alternatives.iter().all(|a| a.finish.is_some()) {
                break;
            }
            if cancel.is_cancelled() {
                continue; // marks every unfinished alternative Cancelled on the next turn
            }
            logits = if n_alternatives == 1 {
                self.step(&feed)?
            } else {
                self.step_batch(&feed)?
            };
            output.decoded_tokens += alternatives.iter().filter(|a| a.finish.is_none()).count();
        }
        output.completions = alternatives
            .into_iter()
            .map(|alternative| {
                let first = alternative.index == 0;
                let finish = alternative.finish.unwrap_or(FinishReason::MaxTokens);
                let text = alternative.stream.finish(first, on_token);
                Completion {
                    text,
                    tokens: alternative.tokens,
                    finish,
                }
            })
            .collect();
        timings.decode_ms = ms(decode_started.elapsed());
        output.timings = timings;
        Ok(output)
    }

    /// Token healing (see [`crate::heal`]): when the prompt ends with the prefix's ids, takes
    /// the last of them back (from `prompt` and `prefix_ids`) and returns the text the first
    /// generated tokens must spell out; empty when nothing is healed.
    fn heal_prompt(
        &mut self,
        prefix_last: bool,
        prompt: &mut Vec<u32>,
        prefix_ids: &mut Vec<u32>,
    ) -> String {
        if !self.token_healing || !prefix_last {
            return String::new();
        }
        let tokenizer = &self.tokenizer;
        let table = self
            .vocab_text
            .get_or_insert_with(|| VocabText::new(tokenizer));
        match heal::plan(table, tokenizer, prefix_ids) {
            Some(plan) => {
                prompt.truncate(prompt.len() - plan.removed);
                prefix_ids.truncate(prefix_ids.len() - plan.removed);
                plan.forced
            }
            None => String::new(),
        }
    }

    /// Copies the prompt's keys/values from the batch-1 cache into every row of the batch cache.
    fn fork_batch_cache(&mut self, batch: usize) -> Result<(), ModelError> {
        let reusable = self
            .batch_cache
            .as_ref()
            .is_some_and(|cache| cache.batch() == batch);
        if !reusable {
            self.batch_cache = Some(KvCache::new(
                &self.config,
                batch,
                self.cache.capacity(),
                &self.device,
            ));
        }
        if let Some(batch_cache) = self.batch_cache.as_mut() {
            self.cache.copy_into_rows(batch_cache);
        }
        Ok(())
    }

    /// One decode step for every row of the batch cache; returns `[rows * vocab]` logits.
    fn step_batch(&mut self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        let cache = self
            .batch_cache
            .as_mut()
            .ok_or_else(|| ModelError::Backend {
                message: "batch cache missing".into(),
            })?;
        let data: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        let tokens =
            Tensor::<2, Int>::from_data(TensorData::new(data, [ids.len(), 1]), &self.device);
        let logits = self.model.forward_cached(tokens, &[], cache)?;
        logits
            .into_data_as::<f32>()
            .try_into_vec::<f32>()
            .map_err(|err| ModelError::Backend {
                message: format!("reading logits: {err:?}"),
            })
    }

    /// Runs `ids` through the model at the cache's current position; returns the last logits.
    fn step(&mut self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        let tokens = Llama::tokens_tensor(ids, &self.device);
        let logits = self.model.forward_cached(tokens, ids, &mut self.cache)?;
        let data = logits.into_data_as::<f32>();
        data.try_into_vec::<f32>()
            .map_err(|err| ModelError::Backend {
                message: format!("reading logits: {err:?}"),
            })
    }

    /// Measures one prefill of `prompt_len` tokens and `decode_len` single-token steps on a
    /// fresh cache (token ids cycle through the vocabulary; no sampling). For benchmarks.
    pub fn forward_timing(
        &mut self,
        prompt_len: usize,
        decode_len: usize,
    ) -> Result<ForwardTiming, ModelError> {
        crate::bench::time_forward(
            &self.model,
            &self.config,
            &self.device,
            prompt_len,
            decode_len,
        )
    }
}

pub use crate::bench::ForwardTiming;

/// One alternative's progress during decoding.
struct Alternative<'a> {
    index: usize,
    rng: SeededRng,
    stream: TextStream<'a>,
    tokens: Vec<u32>,
    /// `tokens` decoded, healed prompt text included.
    decoded: String,
    healing: Healing,
    finish: Option<FinishReason>,
}

impl Alternative<'_> {
    /// Picks the next token from `logits`, appends it, and records a finish reason if it ended
    /// the completion (end token, stop string, or `max_tokens`). Only alternative 0 streams.
    fn choose(
        &mut self,
        logits: &[f32],
        sampling: &Sampling,
        tokenizer: &TextTokenizer,
        max_tokens: usize,
        on_token: &mut dyn FnMut(&str),
    ) {
        let token = pick(logits, sampling, &mut self.rng);
        if tokenizer.is_stop(token) {
            self.finish = Some(FinishReason::EndOfText);
            return;
        }
        self.tokens.push(token);
        self.decoded = tokenizer.decode(&self.tokens);
        let text = self.healing.strip(&self.decoded);
        if self.stream.update(text, self.index == 0, on_token) {
            self.finish = Some(FinishReason::Stop);
        } else if self.tokens.len() >= max_tokens {
            self.finish = Some(FinishReason::MaxTokens);
        }
    }
}

/// Runs `f`, turning a backend panic into [`ModelError::Backend`].
fn guard<T>(f: impl FnOnce() -> Result<T, ModelError>) -> Result<T, ModelError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(ModelError::Backend {
            message: panic_message(panic),
        })
    })
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[allow(dead_code)]
fn assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Engine>();
}
