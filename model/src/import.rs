//! The checkpoint-name remapping table: Hugging Face tensor names ↔ our module's slots.
//!
//! This is the only place that knows checkpoint names. Hugging Face stores linear weights as
//! `[out_features, in_features]`; our modules store them as `[in, out]` (burn's `linear`
//! layout) and fuse q/k/v and gate/up into one matrix each, so a decode step runs one matmul
//! instead of three (or two). The loader transposes and fuses; the saver splits and transposes
//! back. Adding a checkpoint format means producing the same `(name → f32 data)` view.

use crate::config::LlamaConfig;

/// Where a checkpoint tensor goes in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Token embedding `[vocab, d_model]`.
    Embedding,
    /// Final RMSNorm weight `[d_model]`.
    FinalNorm,
    /// Output head `[vocab, d_model]` (absent when embeddings are tied).
    LmHead,
    /// Layer `n`'s pre-attention RMSNorm weight.
    InputNorm(usize),
    /// Layer `n`'s pre-MLP RMSNorm weight.
    PostAttentionNorm(usize),
    /// Layer `n`'s query projection `[heads*head_dim, d_model]`.
    QueryWeight(usize),
    /// Layer `n`'s key projection `[kv_heads*head_dim, d_model]`.
    KeyWeight(usize),
    /// Layer `n`'s value projection `[kv_heads*head_dim, d_model]`.
    ValueWeight(usize),
    /// Layer `n`'s query bias (Qwen2, Llama `attention_bias`).
    QueryBias(usize),
    /// Layer `n`'s key bias.
    KeyBias(usize),
    /// Layer `n`'s value bias.
    ValueBias(usize),
    /// Layer `n`'s output projection `[d_model, heads*head_dim]`.
    OutputWeight(usize),
    /// Layer `n`'s output bias (Llama `attention_bias` only).
    OutputBias(usize),
    /// Layer `n`'s SwiGLU gate projection `[intermediate, d_model]`.
    GateWeight(usize),
    /// Layer `n`'s SwiGLU up projection `[intermediate, d_model]`.
    UpWeight(usize),
    /// Layer `n`'s SwiGLU down projection `[d_model, intermediate]`.
    DownWeight(usize),
}

/// One row of the table: a checkpoint name, its slot, and the shape the config implies
/// (in the checkpoint's own `[out, in]` convention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Hugging Face tensor name.
    pub name: String,
    /// Where it goes.
    pub slot: Slot,
    /// Expected shape in the file.
    pub shape: Vec<usize>,
}

/// Every tensor a checkpoint for `config` must contain, in a stable order.
pub fn hf_tensor_specs(config: &LlamaConfig) -> Vec<TensorSpec> {
    let d = config.hidden_size;
    let q = config.num_attention_heads * config.head_dim();
    let kv = config.n_kv_heads() * config.head_dim();
    let ff = config.intermediate_size;
    let spec = |name: String, slot: Slot, shape: Vec<usize>| TensorSpec { name, slot, shape };
    let mut specs = vec![
        // Token embedding, same layout in both conventions.
        spec(
            "model.embed_tokens.weight".into(),
            Slot::Embedding,
            vec![config.vocab_size, d],
        ),
    ];
    for n in 0..config.num_hidden_layers {
        let p = format!("model.layers.{n}");
        // RMSNorm before attention.
        specs.push(spec(
            format!("{p}.input_layernorm.weight"),
            Slot::InputNorm(n),
            vec![d],
        ));
        // Attention projections; fused into one [d, q+2kv] matrix on load.
        specs.push(spec(
            format!("{p}.self_attn.q_proj.weight"),
            Slot::QueryWeight(n),
            vec![q, d],
        ));
        specs.push(spec(
            format!("{p}.self_attn.k_proj.weight"),
            Slot::KeyWeight(n),
            vec![kv, d],
        ));
        specs.push(spec(
            format!("{p}.self_attn.v_proj.weight"),
            Slot::ValueWeight(n),
            vec![kv, d],
        ));
        if config.qkv_bias() {
            // Qwen2 (and Llama with attention_bias) biases, fused like the weights.
            specs.push(spec(
                format!("{p}.self_attn.q_proj.bias"),
                Slot::QueryBias(n),
                vec![q],
            ));
            specs.push(spec(
                format!("{p}.self_attn.k_proj.bias"),
                Slot::KeyBias(n),
                vec![kv],
            ));
            specs.push(spec(
                format!("{p}.self_attn.v_proj.bias"),
                Slot::ValueBias(n),
                vec![kv],
            ));
        }
        // Attention output projection, transposed to [q, d].
        specs.push(spec(
            format!("{p}.self_attn.o_proj.weight"),
            Slot::OutputWeight(n),
            vec![d, q],
        ));
        if config.o_bias() {
            // Llama attention_bias also biases o_proj (Qwen2 does not).
            specs.push(spec(
                format!("{p}.self_attn.o_proj.bias"),
                Slot::OutputBias(n),
                vec![d],
            ));
        }
        // RMSNorm before the MLP.
        specs.push(spec(
            format!("{p}.post_attention_layernorm.weight"),
            Slot::PostAttentionNorm(n),
            vec![d],
        ));
        // SwiGLU gate and up; fused into one [d, 2*ff] matrix (gate first) on load.
        specs.push(spec(
            format!("{p}.mlp.gate_proj.weight"),
            Slot::GateWeight(n),
            vec![ff, d],
        ));
        specs.push(spec(
            format!("{p}.mlp.up_proj.weight"),
            Slot::UpWeight(n),
            vec![ff, d],
        ));
        // SwiGLU down projection, transposed to [ff, d].
        specs.push(spec(
            format!("{p}.mlp.down_proj.weight"),
            Slot::DownWeight(n),
            vec![d, ff],
        ));
    }
    // Final RMSNorm.
    specs.push(spec("model.norm.weight".into(), Slot::FinalNorm, vec![d]));
    if !config.tie_word_embeddings {
        // Separate output head (tied models reuse model.embed_tokens.weight).
        specs.push(spec(
            "lm_head.weight".into(),
            Slot::LmHead,
            vec![config.vocab_size, d],
        ));
    }
    specs
}

/// The GGUF (llama.cpp) name of a slot's tensor. GGUF stores the same `[out, in]` row-major
/// data as Hugging Face (its dims list `in` first because `ne[0]` is the contiguous one).
pub fn gguf_tensor_name(slot: Slot) -> String {
    match slot {
        // Token embedding.
        Slot::Embedding => "token_embd.weight".into(),
        // Final RMSNorm.
        Slot::FinalNorm => "output_norm.weight".into(),
        // Separate output head (absent when tied).
        Slot::LmHead => "output.weight".into(),
        // RMSNorm before attention.
        Slot::InputNorm(n) => format!("blk.{n}.attn_norm.weight"),
        // RMSNorm before the MLP.
        Slot::PostAttentionNorm(n) => format!("blk.{n}.ffn_norm.weight"),
        // Query/key rows are permuted by llama.cpp's converter for `llama` (see gguf/llama.rs).
        Slot::QueryWeight(n) => format!("blk.{n}.attn_q.weight"),
        Slot::KeyWeight(n) => format!("blk.{n}.attn_k.weight"),
        Slot::ValueWeight(n) => format!("blk.{n}.attn_v.weight"),
        // Biases (Qwen2 q/k/v; Llama attention_bias).
        Slot::QueryBias(n) => format!("blk.{n}.attn_q.bias"),
        Slot::KeyBias(n) => format!("blk.{n}.attn_k.bias"),
        Slot::ValueBias(n) => format!("blk.{n}.attn_v.bias"),
        // Attention output projection and its bias.
        Slot::OutputWeight(n) => format!("blk.{n}.attn_output.weight"),
        Slot::OutputBias(n) => format!("blk.{n}.attn_output.bias"),
        // SwiGLU.
        Slot::GateWeight(n) => format!("blk.{n}.ffn_gate.weight"),
        Slot::UpWeight(n) => format!("blk.{n}.ffn_up.weight"),
        Slot::DownWeight(n) => format!("blk.{n}.ffn_down.weight"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts_follow_config_switches() {
        let mut config = LlamaConfig::new(32, 8, 16, 2, 2, 1);
        assert_eq!(hf_tensor_specs(&config).len(), 1 + 2 * 9 + 1 + 1);
        config.tie_word_embeddings = true;
        config.model_type = "qwen2".into();
        let specs = hf_tensor_specs(&config);
        assert_eq!(specs.len(), 1 + 2 * 12 + 1);
        assert!(specs.iter().all(|s| s.name != "lm_head.weight"));
        let k = specs.iter().find(|s| s.slot == Slot::KeyWeight(1)).unwrap();
        assert_eq!(k.name, "model.layers.1.self_attn.k_proj.weight");
        assert_eq!(k.shape, vec![4, 8]);
    }

    #[test]
    fn every_slot_has_a_distinct_gguf_name() {
        let mut config = LlamaConfig::new(32, 8, 16, 2, 2, 1);
        config.attention_bias = true;
        let names: std::collections::HashSet<String> = hf_tensor_specs(&config)
            .iter()
            .map(|spec| gguf_tensor_name(spec.slot))
            .collect();
        assert_eq!(names.len(), hf_tensor_specs(&config).len());
        assert!(names.contains("blk.1.attn_k.weight"));
        assert!(names.contains("output.weight"));
    }
}
