//! The Llama-family decoder module: embedding → N decoder layers → RMSNorm → tied or separate head.

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::module::{embedding, linear};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::cache::{KvCache, native_gqa};
use crate::config::LlamaConfig;
use crate::error::ModelError;
use crate::import::{Slot, TensorSpec, hf_tensor_specs};
use crate::layers::{
    AttentionConfig, DecoderLayer, DecoderLayerConfig, MlpConfig, QuantSlot, RmsNorm,
    RmsNormConfig, RopeTables, TensorFetch, host, param, split_transposed,
};
use crate::rng::SeededRng;
use crate::weights;

/// Standard deviation of random weights (Hugging Face's `initializer_range` default).
pub const INIT_STD: f64 = 0.02;

/// A Llama-family causal language model.
///
/// # Shapes
/// - tokens: `[batch, seq]` (Int) → logits `[batch, seq, vocab]`
#[derive(Module, Debug)]
pub struct Llama {
    /// `[vocab, d_model]`
    pub(crate) embed: Param<Tensor<2>>,
    pub(crate) layers: Vec<DecoderLayer>,
    pub(crate) norm: RmsNorm,
    /// `[d_model, vocab]` when untied; tied models multiply by `embedᵀ`.
    pub(crate) lm_head: Option<Param<Tensor<2>>>,
    pub(crate) rope: RopeTables,
    /// Inference-only contiguous `embedᵀ` `[d_model, vocab]` for tied models (see
    /// [`Llama::prepare_for_inference`]); multiplying by a transposed view copies the whole
    /// embedding on every call on flex (~0.2 s per token for a 49k vocabulary).
    tied_head: Option<Tensor<2>>,
    /// Round activations as llama.cpp does (diagnostic; see [`crate::rounding`]).
    llama_cpp_rounding: bool,
    /// The head (`[vocab, d_model]` rows) in GGUF blocks, for decode (see [`crate::quant`]).
    #[module(skip)]
    pub(crate) quant_head: QuantSlot,
}

impl LlamaConfig {
    /// Random init (normal, std [`INIT_STD`]; norms 1, biases 0) with seed 0, trainable when
    /// `device` is an autodiff device.
    pub fn init(&self, device: &Device) -> Llama {
        self.init_seeded(device, 0)
    }

    /// Random init with an explicit seed. Weights depend only on the seed and tensor names,
    /// never on the device, so the same seed gives the same model on flex and wgpu.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Llama {
        let specs = hf_tensor_specs(self);
        let by_slot: HashMap<Slot, &TensorSpec> = specs.iter().map(|s| (s.slot, s)).collect();
        let mut fetch = |slot: Slot| -> Result<Vec<f32>, ModelError> {
            let spec = by_slot[&slot];
            let n: usize = spec.shape.iter().product();
            Ok(random_tensor(spec, n, seed))
        };
        Llama::from_fetch(self, &mut fetch, device)
            .expect("random init cannot fail on a validated config")
    }
}

/// Seeded random contents for one checkpoint tensor, by its kind.
fn random_tensor(spec: &TensorSpec, n: usize, seed: u64) -> Vec<f32> {
    match spec.slot {
        Slot::InputNorm(_) | Slot::PostAttentionNorm(_) | Slot::FinalNorm => vec![1.0; n],
        Slot::QueryBias(_) | Slot::KeyBias(_) | Slot::ValueBias(_) | Slot::OutputBias(_) => {
            vec![0.0; n]
        }
        _ => {
            let mut rng = SeededRng::derived(seed, &spec.name);
            (0..n)
                .map(|_| (rng.next_normal() * INIT_STD) as f32)
                .collect()
        }
    }
}

/// Most RoPE positions tabulated (64 Ki: 32 MiB of tables at head_dim 128).
pub const MAX_ROPE_POSITIONS: usize = 1 << 16;

impl Llama {
    /// Builds the model from checkpoint tensors supplied by `fetch` (HF layout, f32).
    pub(crate) fn from_fetch(
        config: &LlamaConfig,
        fetch: &mut TensorFetch,
        device: &Device,
    ) -> Result<Llama, ModelError> {
        let d = config.hidden_size;
        let layer_config = DecoderLayerConfig::new(
            AttentionConfig::new(
                d,
                config.num_attention_heads,
                config.n_kv_heads(),
                config.head_dim(),
                config.qkv_bias(),
                config.o_bias(),
            ),
            MlpConfig::new(d, config.intermediate_size),
            config.rms_norm_eps,
        );
        let embed = param(fetch(Slot::Embedding)?, [config.vocab_size, d], device);
        let layers = (0..config.num_hidden_layers)
            .map(|n| layer_config.init_from(n, fetch, device))
            .collect::<Result<Vec<_>, _>>()?;
        let norm =
            RmsNormConfig::new(d, config.rms_norm_eps).init_from(fetch(Slot::FinalNorm)?, device);
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            let head =
                crate::layers::fuse_transposed(&[(&fetch(Slot::LmHead)?, config.vocab_size)], d);
            Some(param(head, [d, config.vocab_size], device))
        };
        // A config may claim millions of positions; tables past what inference can use would
        // only cost memory (the engine's cache holds at most `MAX_CACHE_POSITIONS`).
        let rope = RopeTables::new(
            &config.rope_inverse_frequencies(),
            config.max_position_embeddings.min(MAX_ROPE_POSITIONS),
            device,
        );
        Ok(Llama {
            embed,
            layers,
            norm,
            lm_head,
            rope,
            tied_head: None,
            llama_cpp_rounding: false,
            quant_head: None,
        })
    }

    /// Full-sequence causal forward pass (training and reference use; no cache).
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]` → logits `[batch, seq, vocab]`
    ///
    /// Panics if `seq` exceeds `max_position_embeddings`.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [_, seq] = tokens.dims();
        assert!(
            seq <= self.rope.max_positions(),
            "sequence of {seq} tokens exceeds max_position_embeddings {}",
            self.rope.max_positions()
        );
        let native = native_gqa(&tokens.device());
        let (cos, sin) = self.rope.window(0, seq);
        let mut hidden = embedding(self.embed.val(), tokens); // [batch, seq, d_model]
        for layer in &self.layers {
            hidden = layer.forward(hidden, (&cos, &sin), None, 0, native);
        }
        self.head(self.norm.forward(hidden))
    }

    /// Runs `tokens` (positions `cache.len()..cache.len()+seq`) through the model, appending their
    /// keys/values to `cache`, and returns the logits of the last position only.
    ///
    /// `token_ids` are the same tokens as host ids (recorded for prefix reuse; pass the row for
    /// batch 1, or an empty slice for batched decoding).
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]` → logits `[batch, vocab]`
    pub fn forward_cached(
        &self,
        tokens: Tensor<2, Int>,
        token_ids: &[u32],
        cache: &mut KvCache,
    ) -> Result<Tensor<2>, ModelError> {
        let [batch, seq] = tokens.dims();
        let hidden = self.forward_hidden_cached(tokens, token_ids, cache)?;
        let last = hidden.narrow(1, seq - 1, 1); // [batch, 1, d_model]
        Ok(self.head(last).reshape([batch, self.vocab_size()]))
    }

    /// Like [`Llama::forward_cached`] but returns the logits of every new position.
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]` → logits `[batch, seq, vocab]`
    pub fn forward_cached_all(
        &self,
        tokens: Tensor<2, Int>,
        token_ids: &[u32],
        cache: &mut KvCache,
    ) -> Result<Tensor<3>, ModelError> {
        let hidden = self.forward_hidden_cached(tokens, token_ids, cache)?;
        Ok(self.head(hidden))
    }

    fn forward_hidden_cached(
        &self,
        tokens: Tensor<2, Int>,
        token_ids: &[u32],
        cache: &mut KvCache,
    ) -> Result<Tensor<3>, ModelError> {
        let [batch, seq] = tokens.dims();
        if seq == 0 {
            return Err(ModelError::InvalidRequest {
                message: "forward with zero tokens".into(),
            });
        }
        if batch != cache.batch() {
            return Err(ModelError::InvalidRequest {
                message: format!(
                    "batch {batch} does not match the cache's batch {}",
                    cache.batch()
                ),
            });
        }
        cache.check_room(seq)?;
        let start = cache.len();
        if start + seq > self.rope.max_positions() {
            return Err(ModelError::CacheOverflow {
                needed: start + seq,
                capacity: self.rope.max_positions(),
            });
        }
        let (cos, sin) = self.rope.window(start, seq);
        let native = cache.native_gqa;
        let mut hidden = embedding(self.embed.val(), tokens);
        for (layer, layer_cache) in self.layers.iter().zip(cache.layers.iter_mut()) {
            hidden = layer.forward(hidden, (&cos, &sin), Some(layer_cache), start, native);
        }
        cache.advance(token_ids, seq);
        Ok(self.norm.forward(hidden))
    }

    /// Output head: `[batch, seq, d_model]` → `[batch, seq, vocab]`.
    fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        let hidden = if self.llama_cpp_rounding {
            crate::rounding::q8_blocks(hidden)
        } else {
            hidden
        };
        let hidden = match crate::layers::quantized_product(hidden, &self.quant_head) {
            Ok(logits) => return logits,
            Err(hidden) => hidden,
        };
        match (&self.lm_head, &self.tied_head) {
            (Some(head), _) => linear(hidden, head.val(), None),
            // The cached copy carries no gradient, so training always multiplies by the parameter.
            (None, Some(tied)) if !hidden.device().is_autodiff() => {
                linear(hidden, tied.clone(), None)
            }
            (None, _) => hidden.matmul(self.embed.val().transpose().unsqueeze::<3>()),
        }
    }

    /// Builds inference-only caches from the current weights (a contiguous transposed copy of a
    /// tied embedding). Call after loading or training, before generating; `Engine` does.
    pub fn prepare_for_inference(&mut self) {
        if self.lm_head.is_some() || self.embed.val().device().is_autodiff() {
            self.tied_head = None;
            return;
        }
        let embed = self.embed.val();
        let [vocab, d_model] = embed.dims();
        let device = embed.device();
        let data = embed.transpose().into_data_as::<f32>();
        let values = data.try_into_vec::<f32>().unwrap_or_default();
        self.tied_head = Some(Tensor::from_data(
            TensorData::new(values, [d_model, vocab]),
            &device,
        ));
    }

    /// Turns llama.cpp's activation roundings on or off (8-bit blocks before every weight
    /// matmul, f16 keys/values/queries/probabilities in attention). A diagnostic mode for
    /// comparing with llama.cpp (see [`crate::rounding`]); off by default and in the product.
    pub fn set_llama_cpp_rounding(&mut self, on: bool) {
        self.llama_cpp_rounding = on;
        for layer in &mut self.layers {
            layer.attention.llama_cpp_rounding = on;
            layer.mlp.llama_cpp_rounding = on;
        }
    }

    /// Whether decode steps on the CPU run from quantized blocks (GGUF models).
    pub fn has_quantized_decode(&self) -> bool {
        self.quant_head.is_some()
            || self
                .layers
                .iter()
                .any(|l| l.attention.quant_qkv.is_some() || l.mlp.quant_gate_up.is_some())
    }

    /// Drops the quantized copies: decode then multiplies by the f32 weights like prefill
    /// (for before/after measurements and comparisons).
    pub fn drop_quantized_decode(&mut self) {
        self.quant_head = None;
        for layer in &mut self.layers {
            layer.attention.quant_qkv = None;
            layer.attention.quant_output = None;
            layer.mlp.quant_gate_up = None;
            layer.mlp.quant_down = None;
        }
    }

    /// The token embedding matrix `[vocab, d_model]` (also the head when tied).
    pub fn embedding_weight(&self) -> Tensor<2> {
        self.embed.val()
    }

    /// Vocabulary size (rows of the embedding).
    pub fn vocab_size(&self) -> usize {
        self.embed.val().dims()[0]
    }

    /// Every weight in Hugging Face names and layout (f32), in the import table's order.
    pub fn to_hf_tensors(&self, config: &LlamaConfig) -> Vec<(TensorSpec, Vec<f32>)> {
        let mut by_slot: HashMap<Slot, Vec<f32>> = HashMap::new();
        let d = config.hidden_size;
        by_slot.insert(Slot::Embedding, host(&self.embed));
        by_slot.insert(Slot::FinalNorm, host(&self.norm.weight));
        if let Some(head) = &self.lm_head {
            let mut parts = split_transposed(&host(head), d, &[config.vocab_size]);
            by_slot.insert(Slot::LmHead, parts.remove(0));
        }
        for (n, layer) in self.layers.iter().enumerate() {
            let attention = &layer.attention;
            let q = attention.n_heads * attention.head_dim;
            let kv = attention.n_kv_heads * attention.head_dim;
            let mut qkv = split_transposed(&host(&attention.qkv), d, &[q, kv, kv]).into_iter();
            by_slot.insert(Slot::QueryWeight(n), qkv.next().unwrap_or_default());
            by_slot.insert(Slot::KeyWeight(n), qkv.next().unwrap_or_default());
            by_slot.insert(Slot::ValueWeight(n), qkv.next().unwrap_or_default());
            if let Some(bias) = &attention.qkv_bias {
                let bias = host(bias);
                by_slot.insert(Slot::QueryBias(n), bias[..q].to_vec());
                by_slot.insert(Slot::KeyBias(n), bias[q..q + kv].to_vec());
                by_slot.insert(Slot::ValueBias(n), bias[q + kv..].to_vec());
            }
            let mut output = split_transposed(&host(&attention.output), q, &[d]);
            by_slot.insert(Slot::OutputWeight(n), output.remove(0));
            if let Some(bias) = &attention.output_bias {
                by_slot.insert(Slot::OutputBias(n), host(bias));
            }
            by_slot.insert(Slot::InputNorm(n), host(&layer.input_norm.weight));
            by_slot.insert(
                Slot::PostAttentionNorm(n),
                host(&layer.post_attention_norm.weight),
            );
            let ff = layer.mlp.d_hidden;
            let mut gate_up = split_transposed(&host(&layer.mlp.gate_up), d, &[ff, ff]).into_iter();
            by_slot.insert(Slot::GateWeight(n), gate_up.next().unwrap_or_default());
            by_slot.insert(Slot::UpWeight(n), gate_up.next().unwrap_or_default());
            let mut down = split_transposed(&host(&layer.mlp.down), ff, &[d]);
            by_slot.insert(Slot::DownWeight(n), down.remove(0));
        }
        hf_tensor_specs(config)
            .into_iter()
            .map(|spec| {
                let data = by_slot.remove(&spec.slot).unwrap_or_default();
                (spec, data)
            })
            .collect()
    }

    /// Writes `model.safetensors` (f32, Hugging Face names) to `path`.
    pub fn save_safetensors(&self, config: &LlamaConfig, path: &Path) -> Result<(), ModelError> {
        weights::write_safetensors(path, &self.to_hf_tensors(config))
    }

    /// [`Llama::save_safetensors`] with the weights stored as `dtype`.
    pub fn save_safetensors_as(
        &self,
        config: &LlamaConfig,
        path: &Path,
        dtype: weights::StoreDtype,
    ) -> Result<(), ModelError> {
        weights::write_safetensors_as(path, &self.to_hf_tensors(config), dtype)
    }

    /// Loads `config.json` and `model.safetensors` from a model directory onto `device`.
    pub fn load_dir(dir: &Path, device: &Device) -> Result<(LlamaConfig, Llama), ModelError> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let model =
            weights::load_safetensors_file(&config, &dir.join("model.safetensors"), device)?;
        Ok((config, model))
    }

    /// Builds a model from in-memory `config.json` text and safetensors bytes (the embedded model).
    pub fn load_bytes(
        config_json: &str,
        safetensors: &[u8],
        label: &Path,
        device: &Device,
    ) -> Result<(LlamaConfig, Llama), ModelError> {
        let config = LlamaConfig::from_json_str(config_json, &label.join("config.json"))?;
        let model = weights::load_safetensors_bytes(
            &config,
            safetensors,
            &label.join("model.safetensors"),
            device,
        )?;
        Ok((config, model))
    }

    /// Moves host token ids to a `[1, n]` tensor on `device`.
    pub fn tokens_tensor(ids: &[u32], device: &Device) -> Tensor<2, Int> {
        let data: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        Tensor::from_data(TensorData::new(data, [1, ids.len()]), device)
    }
}
