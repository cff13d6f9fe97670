//! Evaluation during training: held-out perplexity and single-line FIM exact match.
//!
//! The FIM task cuts a held-out line at a random column after its indentation; the model gets
//! `<|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>` and greedily generates until
//! `<|endoftext|>` or a newline. A hit is a generated line equal to the rest of the original line.

use anyhow::{Result, anyhow};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ghostline_model::{KvCache, Llama, LlamaConfig};

use crate::corpus::Document;
use crate::data::TokenWindows;
use crate::fim::SpecialToken;
use crate::rng::SplitMix64;
use crate::tokenizer::{TextEncoder, special_id};

/// The device `model`'s parameters live on (flex for an empty model).
fn model_device(model: &Llama) -> Device {
    use burn::module::Module;
    model.devices().into_iter().next().unwrap_or_else(Device::flex)
}

/// Mean cross-entropy (nats/token) of `model` over the first `n_windows` held-out windows.
pub fn heldout_loss(
    model: &Llama,
    windows: &TokenWindows,
    n_windows: usize,
    seq_len: usize,
) -> f64 {
    let device = model_device(model);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let n_windows = n_windows.min(windows.n_windows()).max(1);
    let batch = 4;
    let mut total = 0.0;
    let mut count = 0usize;
    let mut window_idx = 0;
    while window_idx < n_windows {
        let rows = batch.min(n_windows - window_idx);
        let mut inputs = Vec::with_capacity(rows * seq_len);
        let mut targets = Vec::with_capacity(rows * seq_len);
        for row in 0..rows {
            let (i, t) = windows.window(window_idx + row);
            inputs.extend(i);
            targets.extend(t);
        }
        let inputs = Tensor::<2, Int>::from_data(TensorData::new(inputs, [rows, seq_len]), &device);
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(targets, [rows * seq_len]), &device);
        let logits = model.forward(inputs);
        let vocab = logits.dims()[2];
        let loss = loss_fn
            .forward(logits.reshape([rows * seq_len, vocab]), targets)
            .into_scalar::<f32>();
        total += loss as f64 * rows as f64;
        count += rows;
        window_idx += rows;
    }
    total / count as f64
}

/// One FIM exact-match task.
#[derive(Debug, Clone)]
pub struct FimTask {
    /// Text before the cursor.
    pub prefix: String,
    /// Text after the hole (starts with the line's newline).
    pub suffix: String,
    /// The rest of the line: what the model should produce.
    pub middle: String,
}

/// Builds `n` single-line FIM tasks from held-out documents, deterministically from `seed`.
pub fn fim_tasks(documents: &[Document], n: usize, seed: u64) -> Vec<FimTask> {
    let mut rng = SplitMix64::new(seed);
    let mut tasks = Vec::new();
    let mut attempts = 0;
    while tasks.len() < n && attempts < n * 50 && !documents.is_empty() {
        attempts += 1;
        let document = &documents[rng.below(documents.len() as u64) as usize];
        let lines: Vec<(usize, &str)> = line_starts(&document.text)
            .into_iter()
            .filter(|(_, line)| line.trim().chars().count() >= 6)
            .collect();
        if lines.is_empty() {
            continue;
        }
        let (start, line) = lines[rng.below(lines.len() as u64) as usize];
        let indent = line.len() - line.trim_start().len();
        let content: Vec<(usize, char)> = line[indent..].char_indices().collect();
        // Leave at least two characters to predict.
        let cut_char = rng.below((content.len() - 1) as u64) as usize;
        let cut = start + indent + content[cut_char].0;
        let end = start + line.len();
        let prefix_start = floor_char_boundary(&document.text, cut.saturating_sub(1200));
        let suffix_end = floor_char_boundary(&document.text, (end + 600).min(document.text.len()));
        tasks.push(FimTask {
            prefix: document.text[prefix_start..cut].to_string(),
            suffix: document.text[end..suffix_end].to_string(),
            middle: document.text[cut..end].to_string(),
        });
    }
    tasks
}

fn line_starts(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        out.push((start, line.trim_end_matches('\n').trim_end_matches('\r')));
        start += line.len();
    }
    out
}

fn floor_char_boundary(text: &str, mut idx: usize) -> usize {
    while !text.is_char_boundary(idx) {
        idx -= 1;
    }
    idx
}

/// Greedy single-line FIM completion with the KV cache; returns the generated middle.
pub fn complete_fim(
    model: &Llama,
    config: &LlamaConfig,
    encoder: &TextEncoder,
    task: &FimTask,
    max_new_tokens: usize,
) -> Result<String> {
    let device = model_device(model);
    let mut prefix = encoder.encode(&task.prefix)?;
    let mut suffix = encoder.encode(&task.suffix)?;
    let context = config
        .max_position_embeddings
        .saturating_sub(max_new_tokens + 3);
    let suffix_budget = (context / 4).min(suffix.len());
    suffix.truncate(suffix_budget);
    if prefix.len() + suffix.len() > context {
        prefix.drain(..prefix.len() + suffix.len() - context);
    }
    let mut prompt = vec![special_id(SpecialToken::FimPrefix)];
    prompt.extend(prefix);
    prompt.push(special_id(SpecialToken::FimSuffix));
    prompt.extend(suffix);
    prompt.push(special_id(SpecialToken::FimMiddle));
    let mut cache = KvCache::new(config, 1, prompt.len() + max_new_tokens, &device);
    let mut logits = model
        .forward_cached(Llama::tokens_tensor(&prompt, &device), &prompt, &mut cache)
        .map_err(|e| anyhow!("FIM prefill: {e}"))?;
    let mut generated = Vec::new();
    let end_of_text = special_id(SpecialToken::EndOfText);
    for _ in 0..max_new_tokens {
        let next = logits
            .argmax(1)
            .into_data()
            .iter::<i64>()
            .next()
            .unwrap_or(0) as u32;
        if next == end_of_text || next < SpecialToken::ALL.len() as u32 {
            break;
        }
        generated.push(next);
        if encoder.decode(&generated)?.contains('\n') {
            break;
        }
        logits = model
            .forward_cached(Llama::tokens_tensor(&[next], &device), &[next], &mut cache)
            .map_err(|e| anyhow!("FIM decode: {e}"))?;
    }
    let text = encoder.decode(&generated)?;
    Ok(text.split('\n').next().unwrap_or("").to_string())
}

/// Fraction of `tasks` whose generated line equals the expected one (trailing spaces ignored).
pub fn fim_exact_match(
    model: &Llama,
    config: &LlamaConfig,
    encoder: &TextEncoder,
    tasks: &[FimTask],
) -> Result<f64> {
    let mut hits = 0;
    for task in tasks {
        let generated = complete_fim(model, config, encoder, task, 32)?;
        if generated.trim_end() == task.middle.trim_end() {
            hits += 1;
        }
    }
    Ok(hits as f64 / tasks.len().max(1) as f64)
}
