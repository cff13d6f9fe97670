//! Preferences from accept / reject (DPO, Rafailov et al. 2023) for workspace tuning: a pair is
//! the text before a suggestion, the line the user wrote there (chosen) and the suggestion they
//! turned down (rejected). The loss raises the chosen line's log-probability relative to the
//! rejected one's, each measured against a frozen reference (the model when the phase starts):
//! `-log σ(β · ((log π(w) − log π_ref(w)) − (log π(l) − log π_ref(l))))`.
//!
//! Sequences are laid out as the server prompts: the FIM prompt with an empty suffix and the
//! context as prefix (`ghostline_model::tokenizer::build_prompt`), then the line.

use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Int, Tensor, TensorData};
use ghostline_model::tokenizer::build_prompt;
use ghostline_model::{FimMode, Llama, TextTokenizer};

/// One preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferencePair {
    /// The text before the suggestion (its tail is the prompt).
    pub context: String,
    /// What the user wrote there (the rest of the line).
    pub chosen: String,
    /// The suggestion's first line, rejected.
    pub rejected: String,
}

/// A pair as token ids: the prompt, then each continuation.
#[derive(Debug, Clone)]
pub struct EncodedPair {
    prompt: Vec<u32>,
    chosen: Vec<u32>,
    rejected: Vec<u32>,
}

/// Chars of context kept per pair (the prompt's tail).
pub const CONTEXT_CHARS: usize = 600;

/// Encodes the usable pairs: both lines non-empty, different, neither a prefix of the other
/// (a partial accept is not a preference between them).
pub fn encode_pairs(
    tokenizer: &TextTokenizer,
    mode: FimMode,
    pairs: &[PreferencePair],
    max_positions: usize,
) -> Vec<EncodedPair> {
    pairs
        .iter()
        .filter(|p| {
            let (w, l) = (p.chosen.trim_end(), p.rejected.trim_end());
            !w.is_empty() && !l.is_empty() && !w.starts_with(l) && !l.starts_with(w)
        })
        .filter_map(|p| {
            let start = p
                .context
                .char_indices()
                .rev()
                .nth(CONTEXT_CHARS - 1)
                .map_or(0, |(i, _)| i);
            let prompt = build_prompt(tokenizer, &p.context[start..], Some(""), mode);
            let chosen = tokenizer.encode(&p.chosen);
            let rejected = tokenizer.encode(&p.rejected);
            let longest = prompt.len() + chosen.len().max(rejected.len());
            (!chosen.is_empty() && !rejected.is_empty() && longest <= max_positions).then_some(
                EncodedPair {
                    prompt,
                    chosen,
                    rejected,
                },
            )
        })
        .collect()
}

/// Sum of log-probabilities of `continuation` after `prompt` under `model`: `[1]`.
fn sequence_logprob(model: &Llama, prompt: &[u32], continuation: &[u32]) -> Tensor<1> {
    let device = model.embedding_weight().device();
    let ids: Vec<i64> = prompt
        .iter()
        .chain(continuation)
        .map(|&t| i64::from(t))
        .collect();
    let n = ids.len();
    let inputs =
        Tensor::<2, Int>::from_data(TensorData::new(ids[..n - 1].to_vec(), [1, n - 1]), &device);
    let logits = model.forward(inputs); // [1, n-1, vocab]
    let start = prompt.len() - 1;
    let len = continuation.len();
    let logits = logits.narrow(1, start, len);
    let targets: Vec<i64> = ids[prompt.len()..].to_vec();
    let targets = Tensor::<3, Int>::from_data(TensorData::new(targets, [1, len, 1]), &device);
    log_softmax(logits, 2).gather(2, targets).sum().reshape([1])
}

/// The reference log-probabilities (chosen, rejected) of each pair under `model` (no gradient).
pub fn reference_logprobs(model: &Llama, pairs: &[EncodedPair]) -> Vec<(f32, f32)> {
    pairs
        .iter()
        .map(|p| {
            (
                sequence_logprob(model, &p.prompt, &p.chosen).into_scalar::<f32>(),
                sequence_logprob(model, &p.prompt, &p.rejected).into_scalar::<f32>(),
            )
        })
        .collect()
}

/// The DPO loss over `batch` (indices into `pairs` / `reference`), mean, plus `nll_weight` ×
/// the chosen line's negative log-likelihood per token (keeps the chosen line likely in absolute
/// terms; DPO alone can lower both lines and the rest of the language model with them): `[1]`.
pub fn dpo_loss(
    model: &Llama,
    pairs: &[EncodedPair],
    reference: &[(f32, f32)],
    batch: &[usize],
    beta: f32,
    nll_weight: f32,
) -> Tensor<1> {
    let mut total: Option<Tensor<1>> = None;
    for &i in batch {
        let p = &pairs[i];
        let (ref_w, ref_l) = reference[i];
        let w = sequence_logprob(model, &p.prompt, &p.chosen);
        let l = sequence_logprob(model, &p.prompt, &p.rejected);
        let nll = w.clone().neg().div_scalar(p.chosen.len() as f32);
        let margin = (w - l).sub_scalar(ref_w - ref_l).mul_scalar(beta);
        let loss = log_sigmoid(margin).neg() + nll.mul_scalar(nll_weight);
        total = Some(match total {
            Some(t) => t + loss,
            None => loss,
        });
    }
    total
        .expect("a batch has at least one pair")
        .div_scalar(batch.len() as f32)
}

/// Over the pairs: the fraction whose chosen line is more likely than the rejected one under
/// `model`, and the mean log-probability margin `log p(chosen) − log p(rejected)` (nats).
pub fn preference_stats(model: &Llama, pairs: &[EncodedPair]) -> (f64, f64) {
    stats_of(&reference_logprobs(model, pairs))
}

/// [`preference_stats`] from log-probabilities already computed.
pub fn stats_of(logprobs: &[(f32, f32)]) -> (f64, f64) {
    if logprobs.is_empty() {
        return (0.0, 0.0);
    }
    let n = logprobs.len() as f64;
    let right = logprobs.iter().filter(|(w, l)| w > l).count() as f64;
    let margin: f64 = logprobs.iter().map(|(w, l)| f64::from(w - l)).sum();
    (right / n, margin / n)
}
