//! `LlamaConfig`: the model hyper-parameters, read from and written to Hugging Face `config.json` names.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Hyper-parameters of a Llama-family decoder (Llama, Qwen2, SmolLM, our own model).
///
/// Field names are the Hugging Face `config.json` names so a config round-trips through
/// `transformers`. Unknown keys in the file are ignored.
///
/// Invariant (checked by [`LlamaConfig::validate`], which every loader calls):
/// `num_attention_heads % num_key_value_heads == 0`, `head_dim` is even, all sizes are non-zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Number of tokens in the vocabulary (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream (`d_model`).
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP's hidden layer.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); defaults to `num_attention_heads`.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    /// Epsilon inside RMSNorm.
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// Optional RoPE frequency scaling (`linear` or `llama3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<RopeScaling>,
    /// transformers ≥ 5 spelling of `rope_theta` + `rope_scaling`; folded into them on load.
    #[serde(default, skip_serializing)]
    pub rope_parameters: Option<RopeScaling>,
    /// Longest sequence the model was trained for; sizes the RoPE tables and the KV cache.
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// Whether the output head reuses the token embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Llama's `attention_bias`: bias on q, k, v and o projections.
    #[serde(default)]
    pub attention_bias: bool,
    /// Llama's `mlp_bias` (unsupported when true; kept so the loader can say so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mlp_bias: bool,
    /// `llama`, `qwen2`, ...; `qwen2` implies bias on q, k and v (not o).
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Activation of the MLP; only `silu` is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Qwen2's sliding-window switch (unsupported when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_sliding_window: bool,
    /// Beginning-of-sequence token id, if the model uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token id(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<TokenIds>,
    /// Hugging Face architecture names, written so `transformers` can load our checkpoints.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// ghostline's own key: the FIM order prompts use (`"psm"` or `"spm"`) for a model trained
    /// on both; absent: prefix-suffix-middle, what FIM models are usually trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fim_order: Option<FimMode>,
}

/// Where FIM puts the prefix relative to the suffix (`"psm"` / `"spm"` in `config.json`'s
/// `fim_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FimMode {
    /// `<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>` (the common training format).
    #[default]
    #[serde(rename = "psm")]
    PrefixSuffixMiddle,
    /// `<fim_prefix><fim_suffix>{suffix}<fim_middle>{prefix}` (FIM paper's SPM variant; the
    /// prefix comes last, so a growing prefix reuses more of the KV cache while typing).
    #[serde(rename = "spm")]
    SuffixPrefixMiddle,
}

/// One token id or several (Hugging Face allows both for `eos_token_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// A single id.
    One(u32),
    /// A list of ids.
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a vector.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// RoPE frequency scaling, as Hugging Face's `rope_scaling` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// Base frequency (only in transformers ≥ 5 `rope_parameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_theta: Option<f64>,
    /// `linear`, `llama3` or `default` (newer files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_type: Option<String>,
    /// The same, as older files name it.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub legacy_type: Option<String>,
    /// Scaling factor.
    #[serde(default = "one")]
    pub factor: f64,
    /// llama3: low-frequency factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_freq_factor: Option<f64>,
    /// llama3: high-frequency factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_freq_factor: Option<f64>,
    /// llama3: the context length of the unscaled model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_max_position_embeddings: Option<usize>,
}

impl RopeScaling {
    /// The scaling kind, whichever key the file used.
    pub fn kind(&self) -> &str {
        self.rope_type
            .as_deref()
            .or(self.legacy_type.as_deref())
            .unwrap_or("default")
    }
}

/// Largest per-head width accepted (real models use 64–256).
pub const MAX_HEAD_DIM: usize = 4096;

/// Most decoder layers accepted (the largest open models have ~130). The loader builds a few
/// tensor descriptions per layer before reading any weight, so an absurd count must fail first.
pub const MAX_LAYERS: usize = 1024;

fn one() -> f64 {
    1.0
}
fn default_rms_norm_eps() -> f64 {
    1e-6
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_max_position_embeddings() -> usize {
    2048
}
fn default_model_type() -> String {
    "llama".to_string()
}
fn default_hidden_act() -> String {
    "silu".to_string()
}

impl LlamaConfig {
    /// A config with the given sizes and Llama defaults elsewhere (untied, no bias, theta 10000).
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
    ) -> Self {
        LlamaConfig {
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: None,
            rms_norm_eps: 1e-5,
            rope_theta: default_rope_theta(),
            rope_scaling: None,
            rope_parameters: None,
            max_position_embeddings: default_max_position_embeddings(),
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            model_type: default_model_type(),
            hidden_act: default_hidden_act(),
            use_sliding_window: false,
            bos_token_id: None,
            eos_token_id: None,
            architectures: vec!["LlamaForCausalLM".to_string()],
            fim_order: None,
        }
    }

    /// Parses `config.json` text; `path` only labels errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ModelError> {
        let mut config: LlamaConfig =
            serde_json::from_str(text).map_err(|err| ModelError::config(path, err.to_string()))?;
        if let Some(parameters) = config.rope_parameters.take() {
            if let Some(theta) = parameters.rope_theta {
                config.rope_theta = theta;
            }
            if parameters.kind() != "default" {
                config.rope_scaling = Some(RopeScaling {
                    rope_theta: None,
                    ..parameters
                });
            }
        }
        config.validate(path)?;
        Ok(config)
    }

    /// Reads and validates a `config.json` file.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|err| ModelError::io(path, err))?;
        Self::from_json_str(&text, path)
    }

    /// Serialises to pretty `config.json` text (Hugging Face names).
    pub fn to_json_string(&self) -> String {
        let mut config = self.clone();
        if config.architectures.is_empty() {
            config.architectures = vec![if config.model_type == "qwen2" {
                "Qwen2ForCausalLM".to_string()
            } else {
                "LlamaForCausalLM".to_string()
            }];
        }
        serde_json::to_string_pretty(&config).unwrap_or_default()
    }

    /// Writes `config.json`.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        std::fs::write(path, self.to_json_string()).map_err(|err| ModelError::io(path, err))
    }

    /// Checks the invariants the model code relies on; `path` only labels errors.
    pub fn validate(&self, path: &Path) -> Result<(), ModelError> {
        let fail = |message: String| Err(ModelError::config(path, message));
        for (name, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.n_kv_heads()),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if value == 0 {
                return fail(format!("`{name}` must be greater than zero"));
            }
        }
        if self.head_dim.is_none() && !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return fail(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) || self.head_dim() == 0 {
            return fail(format!(
                "head_dim {} must be even and non-zero (RoPE)",
                self.head_dim()
            ));
        }
        // Sizes no model has, which would overflow the size arithmetic or allocate absurd RoPE
        // tables before any weight is read.
        if self.checked_n_params().is_none() {
            return fail("the sizes are too large: the parameter count overflows".to_string());
        }
        if self.num_hidden_layers > MAX_LAYERS {
            return fail(format!(
                "num_hidden_layers {} is more than any supported model ({MAX_LAYERS})",
                self.num_hidden_layers
            ));
        }
        if self.head_dim() > MAX_HEAD_DIM {
            return fail(format!(
                "head_dim {} is larger than any supported model ({MAX_HEAD_DIM})",
                self.head_dim()
            ));
        }
        if !self.num_attention_heads.is_multiple_of(self.n_kv_heads()) {
            return fail(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.n_kv_heads()
            ));
        }
        if self.hidden_act != "silu" {
            return fail(format!(
                "hidden_act `{}` is unsupported (only `silu`)",
                self.hidden_act
            ));
        }
        if self.mlp_bias {
            return fail("mlp_bias = true is unsupported".to_string());
        }
        if self.use_sliding_window {
            return fail("use_sliding_window = true is unsupported".to_string());
        }
        if self.rms_norm_eps.is_nan()
            || self.rms_norm_eps <= 0.0
            || self.rope_theta.is_nan()
            || self.rope_theta <= 0.0
        {
            return fail("rms_norm_eps and rope_theta must be positive".to_string());
        }
        if let Some(scaling) = &self.rope_scaling {
            match scaling.kind() {
                "default" | "linear" => {}
                "llama3" => {
                    if scaling.low_freq_factor.is_none()
                        || scaling.high_freq_factor.is_none()
                        || scaling.original_max_position_embeddings.is_none()
                    {
                        return fail("llama3 rope_scaling needs low_freq_factor, high_freq_factor and original_max_position_embeddings".to_string());
                    }
                }
                other => return fail(format!("rope_scaling type `{other}` is unsupported")),
            }
        }
        Ok(())
    }

    /// Number of key/value heads.
    pub fn n_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Whether q, k and v projections carry a bias (Qwen2, or Llama with `attention_bias`).
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias || self.model_type == "qwen2"
    }

    /// Whether the output projection carries a bias (Llama with `attention_bias` only).
    pub fn o_bias(&self) -> bool {
        self.attention_bias && self.model_type != "qwen2"
    }

    /// End-of-sequence ids named by the config.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default()
    }

    /// Number of parameters (tied embeddings counted once); saturates at `usize::MAX` for sizes
    /// [`LlamaConfig::validate`] refuses.
    pub fn n_params(&self) -> usize {
        self.checked_n_params().unwrap_or(usize::MAX)
    }

    /// Number of parameters, or `None` when the sizes overflow `usize`.
    pub fn checked_n_params(&self) -> Option<usize> {
        let d = self.hidden_size;
        let hd = self.head_dim();
        let q = self.num_attention_heads.checked_mul(hd)?;
        let kv = self.n_kv_heads().checked_mul(hd)?;
        let qkv = q.checked_add(kv.checked_mul(2)?)?;
        let mut attention = d.checked_mul(qkv)?.checked_add(q.checked_mul(d)?)?;
        if self.qkv_bias() {
            attention = attention.checked_add(qkv)?;
        }
        if self.o_bias() {
            attention = attention.checked_add(d)?;
        }
        let mlp = d.checked_mul(self.intermediate_size)?.checked_mul(3)?;
        let layer = attention.checked_add(mlp)?.checked_add(d.checked_mul(2)?)?;
        let embed = self.vocab_size.checked_mul(d)?;
        let head = if self.tie_word_embeddings { 0 } else { embed };
        embed
            .checked_add(head)?
            .checked_add(d)?
            .checked_add(self.num_hidden_layers.checked_mul(layer)?)
    }

    /// RoPE inverse frequencies (`head_dim / 2` of them), after any `rope_scaling`.
    pub fn rope_inverse_frequencies(&self) -> Vec<f64> {
        let hd = self.head_dim();
        let base: Vec<f64> = (0..hd / 2)
            .map(|i| 1.0 / self.rope_theta.powf((2 * i) as f64 / hd as f64))
            .collect();
        let Some(scaling) = &self.rope_scaling else {
            return base;
        };
        match scaling.kind() {
            "linear" => base.iter().map(|f| f / scaling.factor).collect(),
            "llama3" => {
                let low = scaling.low_freq_factor.unwrap_or(1.0);
                let high = scaling.high_freq_factor.unwrap_or(4.0);
                let original = scaling.original_max_position_embeddings.unwrap_or(8192) as f64;
                let low_wavelen = original / low;
                let high_wavelen = original / high;
                base.iter()
                    .map(|&freq| {
                        let wavelen = 2.0 * std::f64::consts::PI / freq;
                        if wavelen < high_wavelen {
                            freq
                        } else if wavelen > low_wavelen {
                            freq / scaling.factor
                        } else {
                            let smooth = (original / wavelen - low) / (high - low);
                            (1.0 - smooth) * freq / scaling.factor + smooth * freq
                        }
                    })
                    .collect()
            }
            _ => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (reliability campaign): sizes whose products overflow made `n_params` and
    /// `hf_tensor_specs` panic (overflow checks are on in the product's profile), and a huge
    /// `head_dim` allocated RoPE frequencies before any weight was read; a million layers built
    /// a million layers' tensor descriptions (out of memory in the fuzzer).
    #[test]
    fn absurd_sizes_are_config_errors_not_panics() {
        let path = Path::new("config.json");
        for json in [
            r#"{"vocab_size":8,"hidden_size":4611686018427387904,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"head_dim":1099511627776}"#,
            r#"{"vocab_size":18446744073709551615,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2}"#,
            r#"{"vocab_size":8,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":1048576}"#,
            // Found by the model_config fuzzer (out of memory): a million layers' tensor specs.
            "[2,82,8,1114144,8,8,118]",
        ] {
            let error = LlamaConfig::from_json_str(json, path)
                .unwrap_err()
                .to_string();
            assert!(error.contains("invalid model config"), "{error}");
        }
        let fine = LlamaConfig::new(4096, 256, 768, 4, 4, 2);
        assert_eq!(fine.checked_n_params(), Some(fine.n_params()));
    }
}
