//! Prefill/decode throughput measurement, shared by `Engine::forward_timing` and `ghostline bench model`.

use std::time::Instant;

use burn::tensor::Device;

use crate::cache::KvCache;
use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::llama::Llama;

/// Result of one timing run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForwardTiming {
    /// Prompt positions run in one prefill.
    pub prompt_tokens: usize,
    /// Single-token decode steps run after it.
    pub decode_tokens: usize,
    /// Prefill wall time (including reading the logits back).
    pub prefill_ms: f64,
    /// Decode wall time for all steps.
    pub decode_ms: f64,
    /// `prompt_tokens / prefill seconds`.
    pub prefill_tokens_per_s: f64,
    /// `decode_tokens / decode seconds`.
    pub decode_tokens_per_s: f64,
}

/// Times a prefill of `prompt_len` tokens then `decode_len` cached single-token steps on a fresh
/// cache. Each step reads its logits back to the host, as generation does, so device work is
/// included. Token ids are a fixed pattern over the vocabulary.
pub fn time_forward(
    model: &Llama,
    config: &LlamaConfig,
    device: &Device,
    prompt_len: usize,
    decode_len: usize,
) -> Result<ForwardTiming, ModelError> {
    let prompt_len = prompt_len.max(1);
    let capacity = prompt_len + decode_len + 1;
    let mut cache = KvCache::new(config, 1, capacity, device);
    let vocab = config.vocab_size as u32;
    let ids: Vec<u32> = (0..prompt_len as u32)
        .map(|i| (i * 7919 + 13) % vocab)
        .collect();

    let started = Instant::now();
    let logits = model.forward_cached(Llama::tokens_tensor(&ids, device), &ids, &mut cache)?;
    let mut next = crate::sampling::argmax(&read(logits)?);
    let prefill_ms = started.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    for _ in 0..decode_len {
        let logits =
            model.forward_cached(Llama::tokens_tensor(&[next], device), &[next], &mut cache)?;
        next = crate::sampling::argmax(&read(logits)?);
    }
    let decode_ms = started.elapsed().as_secs_f64() * 1000.0;
    let per_s = |n: usize, ms: f64| {
        if ms > 0.0 {
            n as f64 / (ms / 1000.0)
        } else {
            0.0
        }
    };
    Ok(ForwardTiming {
        prompt_tokens: prompt_len,
        decode_tokens: decode_len,
        prefill_ms,
        decode_ms,
        prefill_tokens_per_s: per_s(prompt_len, prefill_ms),
        decode_tokens_per_s: per_s(decode_len, decode_ms),
    })
}

/// A ~135M-parameter Llama config (SmolLM2-135M's shape: 30 layers, d 576, 9/3 heads, FFN 1536,
/// vocab 49152) for speed comparisons with real small models.
pub fn config_135m() -> LlamaConfig {
    let mut config = LlamaConfig::new(49_152, 576, 1536, 30, 9, 3);
    config.tie_word_embeddings = true;
    config.rope_theta = 100_000.0;
    config.max_position_embeddings = 8192;
    config
}

fn read(logits: burn::tensor::Tensor<2>) -> Result<Vec<f32>, ModelError> {
    logits
        .into_data_as::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| ModelError::Backend {
            message: format!("reading logits: {err:?}"),
        })
}
