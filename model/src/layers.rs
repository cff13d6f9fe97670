//! Decoder building blocks: RMSNorm, rotary tables, grouped-query attention, SwiGLU MLP, layer.
//!
//! Every block is a `Config` + `Module` pair. Configs build modules from checkpoint tensors
//! (already converted to f32 and named by [`Slot`]) so random init and loading share one path.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::module::{attention, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::cache::LayerCache;
use crate::error::ModelError;
use crate::import::Slot;
use crate::quant::QuantLinear;
use crate::rounding::{f16_round, q8_blocks};

/// A projection's weights kept in their GGUF blocks for the single-token decode step on the CPU
/// (see [`crate::quant`]); `None` for models loaded from f32/f16/bf16 files.
pub(crate) type QuantSlot = Option<std::sync::Arc<QuantLinear>>;

/// `x · weight (+ bias)`: from the quantized blocks when there are some and `x` is one
/// position on flex (decode), otherwise burn's f32 matmul.
///
/// # Shapes
/// - x: `[batch, seq, d_in]`, weight `[d_in, d_out]` → `[batch, seq, d_out]`
pub(crate) fn project(
    x: Tensor<3>,
    weight: &Param<Tensor<2>>,
    bias: Option<Tensor<1>>,
    quant: &QuantSlot,
) -> Tensor<3> {
    match quantized_product(x, quant) {
        Ok(out) => match bias {
            Some(bias) => out + bias.unsqueeze::<3>(),
            None => out,
        },
        Err(x) => linear(x, weight.val(), bias),
    }
}

/// `x · W` from quantized blocks when `quant` holds some and `x` is one position on flex;
/// otherwise gives `x` back.
pub(crate) fn quantized_product(x: Tensor<3>, quant: &QuantSlot) -> Result<Tensor<3>, Tensor<3>> {
    let [batch, seq, _] = x.dims();
    let Some(quant) = quant else {
        return Err(x);
    };
    let device = x.device();
    if batch * seq != 1 || !crate::cache::native_gqa(&device) {
        return Err(x);
    }
    let host = x
        .clone()
        .into_data_as::<f32>()
        .try_into_vec::<f32>()
        .map_err(|_| x)?;
    let rows = quant.rows();
    Ok(Tensor::from_data(
        TensorData::new(quant.forward(&host), [1, 1, rows]),
        &device,
    ))
}

/// Supplies the f32 contents of one checkpoint tensor (HF `[out, in]` layout).
pub(crate) type TensorFetch<'a> = dyn FnMut(Slot) -> Result<Vec<f32>, ModelError> + 'a;

/// Builds a trainable parameter from host data.
pub(crate) fn param<const D: usize>(
    data: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(data, shape), device)
}

/// Transposes and concatenates HF `[out_i, d_in]` matrices into one `[d_in, Σ out_i]` matrix.
pub(crate) fn fuse_transposed(parts: &[(&[f32], usize)], d_in: usize) -> Vec<f32> {
    let d_out: usize = parts.iter().map(|(_, rows)| rows).sum();
    let mut fused = vec![0.0f32; d_in * d_out];
    let mut column = 0;
    for (data, rows) in parts {
        for row in 0..*rows {
            let source = &data[row * d_in..(row + 1) * d_in];
            for (i, value) in source.iter().enumerate() {
                fused[i * d_out + column + row] = *value;
            }
        }
        column += rows;
    }
    fused
}

/// Inverse of [`fuse_transposed`]: splits `[d_in, Σ out_i]` back into HF `[out_i, d_in]` parts.
pub(crate) fn split_transposed(fused: &[f32], d_in: usize, rows: &[usize]) -> Vec<Vec<f32>> {
    let d_out: usize = rows.iter().sum();
    let mut column = 0;
    rows.iter()
        .map(|&n_rows| {
            let mut part = vec![0.0f32; n_rows * d_in];
            for row in 0..n_rows {
                for i in 0..d_in {
                    part[row * d_in + i] = fused[i * d_out + column + row];
                }
            }
            column += n_rows;
            part
        })
        .collect()
}

/// Reads a parameter back to host memory as f32.
pub(crate) fn host<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param
        .val()
        .into_data_as::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

/// Configuration of [`RmsNorm`].
#[derive(Config, Debug)]
pub struct RmsNormConfig {
    /// Width of the normalised vectors.
    pub d_model: usize,
    /// Added to the mean square before the square root.
    pub epsilon: f64,
}

/// Root-mean-square normalisation with a learned scale, as Hugging Face Llama computes it:
/// `x / sqrt(mean(x²) + eps) * weight`.
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// Scale `[d_model]`.
    pub(crate) weight: Param<Tensor<1>>,
    epsilon: f64,
}

impl RmsNormConfig {
    /// Builds the norm from its weight vector.
    pub fn init_from(&self, weight: Vec<f32>, device: &Device) -> RmsNorm {
        RmsNorm {
            weight: param(weight, [self.d_model], device),
            epsilon: self.epsilon,
        }
    }
}

impl RmsNorm {
    /// # Shapes
    /// - x: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mean_square = x.clone().square().mean_dim(2); // [batch, seq, 1]
        let inverse_rms = mean_square.add_scalar(self.epsilon).sqrt().recip();
        x * inverse_rms * self.weight.val().unsqueeze::<3>()
    }
}

/// Precomputed rotary tables, sliced per call (never recomputed per token).
///
/// `cos` holds `cos(pos * f)` for both halves of a head; `sin_signed` holds `-sin` for the first
/// half and `+sin` for the second, so `rope(x) = x * cos + swap_halves(x) * sin_signed` equals
/// Hugging Face's `x * cos + rotate_half(x) * sin`.
#[derive(Module, Debug)]
pub struct RopeTables {
    /// `[max_positions, head_dim]`
    cos: Tensor<2>,
    /// `[max_positions, head_dim]`
    sin_signed: Tensor<2>,
}

impl RopeTables {
    /// Builds tables for positions `0..max_positions` from inverse frequencies (`head_dim / 2`).
    pub fn new(inverse_frequencies: &[f64], max_positions: usize, device: &Device) -> Self {
        let half = inverse_frequencies.len();
        let head_dim = 2 * half;
        let mut cos = vec![0.0f32; max_positions * head_dim];
        let mut sin_signed = vec![0.0f32; max_positions * head_dim];
        for pos in 0..max_positions {
            for (i, freq) in inverse_frequencies.iter().enumerate() {
                // Hugging Face computes the angle in f32; do the same so tables agree bit-closely.
                let angle = (pos as f32) * (*freq as f32);
                let (s, c) = (angle as f64).sin_cos();
                let row = pos * head_dim;
                cos[row + i] = c as f32;
                cos[row + half + i] = c as f32;
                sin_signed[row + i] = -s as f32;
                sin_signed[row + half + i] = s as f32;
            }
        }
        RopeTables {
            cos: Tensor::from_data(TensorData::new(cos, [max_positions, head_dim]), device),
            sin_signed: Tensor::from_data(
                TensorData::new(sin_signed, [max_positions, head_dim]),
                device,
            ),
        }
    }

    /// Number of positions the tables cover.
    pub fn max_positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// Tables for positions `start..start + len`, shaped to broadcast over `[batch, heads, len, head_dim]`.
    pub fn window(&self, start: usize, len: usize) -> (Tensor<4>, Tensor<4>) {
        let cos = self.cos.clone().narrow(0, start, len).unsqueeze::<4>();
        let sin = self
            .sin_signed
            .clone()
            .narrow(0, start, len)
            .unsqueeze::<4>();
        (cos, sin)
    }
}

/// Applies rotary embedding to `x: [batch, heads, seq, head_dim]` with tables from [`RopeTables::window`].
fn apply_rope(x: Tensor<4>, cos: &Tensor<4>, sin_signed: &Tensor<4>) -> Tensor<4> {
    let head_dim = x.dims()[3];
    let half = head_dim / 2;
    let swapped = Tensor::cat(
        vec![
            x.clone().narrow(3, half, half),
            x.clone().narrow(3, 0, half),
        ],
        3,
    );
    x * cos.clone() + swapped * sin_signed.clone()
}

/// Configuration of [`Attention`].
#[derive(Config, Debug)]
pub struct AttentionConfig {
    /// Residual width.
    pub d_model: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (`n_heads` must be a multiple).
    pub n_kv_heads: usize,
    /// Per-head width.
    pub head_dim: usize,
    /// Bias on q, k, v.
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
}

/// Grouped-query self-attention with fused q/k/v projection and optional biases.
#[derive(Module, Debug)]
pub struct Attention {
    /// `[d_model, (n_heads + 2 n_kv_heads) * head_dim]`, columns q | k | v.
    pub(crate) qkv: Param<Tensor<2>>,
    /// `[(n_heads + 2 n_kv_heads) * head_dim]`
    pub(crate) qkv_bias: Option<Param<Tensor<1>>>,
    /// `[n_heads * head_dim, d_model]`
    pub(crate) output: Param<Tensor<2>>,
    /// `[d_model]`
    pub(crate) output_bias: Option<Param<Tensor<1>>>,
    pub(crate) n_heads: usize,
    pub(crate) n_kv_heads: usize,
    pub(crate) head_dim: usize,
    /// Round activations as llama.cpp does (diagnostic; see [`crate::rounding`]).
    pub(crate) llama_cpp_rounding: bool,
    /// `qkv` in GGUF blocks (rows q | k | v, rotary order already undone), for decode.
    #[module(skip)]
    pub(crate) quant_qkv: QuantSlot,
    /// `output` in GGUF blocks, for decode.
    #[module(skip)]
    pub(crate) quant_output: QuantSlot,
}

impl AttentionConfig {
    /// Builds the block from layer `layer`'s checkpoint tensors.
    pub(crate) fn init_from(
        &self,
        layer: usize,
        fetch: &mut TensorFetch,
        device: &Device,
    ) -> Result<Attention, ModelError> {
        let q_width = self.n_heads * self.head_dim;
        let kv_width = self.n_kv_heads * self.head_dim;
        let total = q_width + 2 * kv_width;
        let (q, k, v) = (
            fetch(Slot::QueryWeight(layer))?,
            fetch(Slot::KeyWeight(layer))?,
            fetch(Slot::ValueWeight(layer))?,
        );
        let qkv = fuse_transposed(
            &[(&q, q_width), (&k, kv_width), (&v, kv_width)],
            self.d_model,
        );
        let qkv_bias = if self.qkv_bias {
            let mut bias = fetch(Slot::QueryBias(layer))?;
            bias.extend(fetch(Slot::KeyBias(layer))?);
            bias.extend(fetch(Slot::ValueBias(layer))?);
            Some(param(bias, [total], device))
        } else {
            None
        };
        let output = fuse_transposed(
            &[(&fetch(Slot::OutputWeight(layer))?, self.d_model)],
            q_width,
        );
        let output_bias = if self.o_bias {
            Some(param(
                fetch(Slot::OutputBias(layer))?,
                [self.d_model],
                device,
            ))
        } else {
            None
        };
        Ok(Attention {
            qkv: param(qkv, [self.d_model, total], device),
            qkv_bias,
            output: param(output, [q_width, self.d_model], device),
            output_bias,
            n_heads: self.n_heads,
            n_kv_heads: self.n_kv_heads,
            head_dim: self.head_dim,
            llama_cpp_rounding: false,
            quant_qkv: None,
            quant_output: None,
        })
    }
}

impl Attention {
    /// Causal self-attention over `x`, whose first position is absolute position `start`.
    ///
    /// With a cache, the new keys/values are written at `start..start+seq` and attention runs
    /// over all `start + seq` cached positions; without one, `start` must be 0.
    /// `native_gqa`: the backend's attention kernel accepts fewer key/value heads than query
    /// heads (flex does); otherwise keys/values are repeated per query group.
    ///
    /// # Shapes
    /// - x: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: (&Tensor<4>, &Tensor<4>),
        cache: Option<&mut LayerCache>,
        start: usize,
        native_gqa: bool,
    ) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let heads_total = self.n_heads + 2 * self.n_kv_heads;
        let rounding = self.llama_cpp_rounding;
        let x = if rounding { q8_blocks(x) } else { x };
        let qkv = project(
            x,
            &self.qkv,
            self.qkv_bias.as_ref().map(|b| b.val()),
            &self.quant_qkv,
        );
        let qkv = qkv.reshape([batch, seq, heads_total, self.head_dim]);
        // [batch, heads_total, seq, head_dim]; for one token this is a free reshape.
        let qkv = if seq == 1 {
            qkv.reshape([batch, heads_total, 1, self.head_dim])
        } else {
            qkv.swap_dims(1, 2)
        };
        // Rotate q and k together (one op chain instead of two).
        let qk = apply_rope(
            qkv.clone().narrow(1, 0, self.n_heads + self.n_kv_heads),
            rope.0,
            rope.1,
        );
        let query = qk.clone().narrow(1, 0, self.n_heads); // [batch, n_heads, seq, head_dim]
        let key = qk.narrow(1, self.n_heads, self.n_kv_heads); // [batch, n_kv_heads, seq, head_dim]
        let value = qkv.narrow(1, self.n_heads + self.n_kv_heads, self.n_kv_heads);
        let (query, key, value) = if rounding {
            (f16_round(query), f16_round(key), f16_round(value))
        } else {
            (query, key, value)
        };

        let (key, value) = match cache {
            Some(cache) => cache.append(key, value, start),
            None => (key, value),
        };
        let context = if rounding {
            q8_blocks(self.reference_attention(query, key, value, start))
        } else if seq == 1 {
            self.decode_attention(query, key, value) // [batch, 1, n_heads * head_dim]
        } else {
            let (key, value) = if native_gqa || self.n_kv_heads == self.n_heads {
                (key, value)
            } else {
                (self.repeat_kv(key), self.repeat_kv(value))
            };
            // flex aligns `is_causal` bottom-right (new queries see every cached key); other
            // backends get an explicit mask when a chunk continues a cache.
            let (mask, is_causal) = if start > 0 && !native_gqa {
                (Some(causal_mask(seq, start, &query.device())), false)
            } else {
                (None, true)
            };
            let options = AttentionModuleOptions {
                scale: None,
                softcap: None,
                is_causal,
            };
            let context = attention(query, key, value, mask, None, options); // [batch, n_heads, seq, head_dim]
            context
                .swap_dims(1, 2)
                .reshape([batch, seq, self.n_heads * self.head_dim])
        };
        project(
            context,
            &self.output,
            self.output_bias.as_ref().map(|b| b.val()),
            &self.quant_output,
        )
    }

    /// Attention for one new query position over all cached keys, without repeating keys:
    /// the query heads sharing a kv head are stacked as rows of one matmul (Hugging Face's
    /// grouping: head `i` uses kv head `i / (n_heads / n_kv_heads)`). On flex this is ~2× faster
    /// than the fused kernel at this shape, and it needs no mask.
    ///
    /// # Shapes
    /// - query: `[batch, n_heads, 1, head_dim]`, key/value: `[batch, n_kv_heads, len, head_dim]`
    /// - output: `[batch, 1, n_heads * head_dim]`
    fn decode_attention(&self, query: Tensor<4>, key: Tensor<4>, value: Tensor<4>) -> Tensor<3> {
        let batch = query.dims()[0];
        let group = self.n_heads / self.n_kv_heads;
        let query = query.reshape([batch, self.n_kv_heads, group, self.head_dim]);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = query.matmul(key.swap_dims(2, 3)).mul_scalar(scale); // [batch, kv, group, len]
        let probabilities = softmax(scores, 3);
        probabilities
            .matmul(value)
            .reshape([batch, 1, self.n_heads * self.head_dim])
    }

    /// Plain attention with llama.cpp's roundings (probabilities in f16 before `· v`), for the
    /// diagnostic mode: explicit scores, causal mask from absolute position `start`.
    ///
    /// # Shapes
    /// - query: `[batch, n_heads, seq, head_dim]`, key/value: `[batch, n_kv_heads, start + seq, head_dim]`
    /// - output: `[batch, seq, n_heads * head_dim]`
    fn reference_attention(
        &self,
        query: Tensor<4>,
        key: Tensor<4>,
        value: Tensor<4>,
        start: usize,
    ) -> Tensor<3> {
        let [batch, _, seq, _] = query.dims();
        let (key, value) = if self.n_kv_heads == self.n_heads {
            (key, value)
        } else {
            (self.repeat_kv(key), self.repeat_kv(value))
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = query.matmul(key.swap_dims(2, 3)).mul_scalar(scale);
        let mask = causal_mask(seq, start, &scores.device());
        let probabilities = f16_round(softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3));
        probabilities.matmul(value).swap_dims(1, 2).reshape([
            batch,
            seq,
            self.n_heads * self.head_dim,
        ])
    }

    /// `[batch, n_kv_heads, seq, head_dim]` → `[batch, n_heads, seq, head_dim]`, each kv head
    /// repeated for the query heads of its group (Hugging Face `repeat_kv` order).
    fn repeat_kv(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, kv_heads, seq, head_dim] = x.dims();
        let n_rep = self.n_heads / kv_heads;
        x.unsqueeze_dim::<5>(2)
            .expand([batch, kv_heads, n_rep, seq, head_dim])
            .reshape([batch, kv_heads * n_rep, seq, head_dim])
    }
}

/// `[1, 1, seq, start + seq]` mask, true where a query (absolute position `start + row`) would
/// see a later key.
fn causal_mask(seq: usize, start: usize, device: &burn::tensor::Device) -> Tensor<4, Bool> {
    let total = start + seq;
    let masked: Vec<bool> = (0..seq)
        .flat_map(|row| (0..total).map(move |col| col > start + row))
        .collect();
    Tensor::from_data(TensorData::new(masked, [1, 1, seq, total]), device)
}

/// Configuration of [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Residual width.
    pub d_model: usize,
    /// Hidden width.
    pub d_hidden: usize,
}

/// SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`, with gate and up fused.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[d_model, 2 * d_hidden]`, columns gate | up.
    pub(crate) gate_up: Param<Tensor<2>>,
    /// `[d_hidden, d_model]`
    pub(crate) down: Param<Tensor<2>>,
    pub(crate) d_hidden: usize,
    /// Round activations as llama.cpp does (diagnostic; see [`crate::rounding`]).
    pub(crate) llama_cpp_rounding: bool,
    /// `gate_up` in GGUF blocks (rows gate | up), for decode.
    #[module(skip)]
    pub(crate) quant_gate_up: QuantSlot,
    /// `down` in GGUF blocks, for decode.
    #[module(skip)]
    pub(crate) quant_down: QuantSlot,
}

impl MlpConfig {
    /// Builds the block from layer `layer`'s checkpoint tensors.
    pub(crate) fn init_from(
        &self,
        layer: usize,
        fetch: &mut TensorFetch,
        device: &Device,
    ) -> Result<Mlp, ModelError> {
        let gate = fetch(Slot::GateWeight(layer))?;
        let up = fetch(Slot::UpWeight(layer))?;
        let gate_up = fuse_transposed(
            &[(&gate, self.d_hidden), (&up, self.d_hidden)],
            self.d_model,
        );
        let down = fuse_transposed(
            &[(&fetch(Slot::DownWeight(layer))?, self.d_model)],
            self.d_hidden,
        );
        Ok(Mlp {
            gate_up: param(gate_up, [self.d_model, 2 * self.d_hidden], device),
            down: param(down, [self.d_hidden, self.d_model], device),
            d_hidden: self.d_hidden,
            llama_cpp_rounding: false,
            quant_gate_up: None,
            quant_down: None,
        })
    }
}

impl Mlp {
    /// # Shapes
    /// - x: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = if self.llama_cpp_rounding {
            q8_blocks(x)
        } else {
            x
        };
        let gate_up = project(x, &self.gate_up, None, &self.quant_gate_up); // [batch, seq, 2 * d_hidden]
        let gate = gate_up.clone().narrow(2, 0, self.d_hidden);
        let up = gate_up.narrow(2, self.d_hidden, self.d_hidden);
        let hidden = silu(gate) * up;
        let hidden = if self.llama_cpp_rounding {
            q8_blocks(hidden)
        } else {
            hidden
        };
        project(hidden, &self.down, None, &self.quant_down)
    }
}

/// Configuration of [`DecoderLayer`].
#[derive(Config, Debug)]
pub struct DecoderLayerConfig {
    /// Attention block.
    pub attention: AttentionConfig,
    /// MLP block.
    pub mlp: MlpConfig,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
}

/// Pre-norm decoder layer: `x + attn(norm(x))`, then `h + mlp(norm(h))`.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    pub(crate) input_norm: RmsNorm,
    pub(crate) attention: Attention,
    pub(crate) post_attention_norm: RmsNorm,
    pub(crate) mlp: Mlp,
}

impl DecoderLayerConfig {
    /// Builds layer `layer` from checkpoint tensors.
    pub(crate) fn init_from(
        &self,
        layer: usize,
        fetch: &mut TensorFetch,
        device: &Device,
    ) -> Result<DecoderLayer, ModelError> {
        let norm = RmsNormConfig::new(self.attention.d_model, self.rms_norm_eps);
        Ok(DecoderLayer {
            input_norm: norm.init_from(fetch(Slot::InputNorm(layer))?, device),
            attention: self.attention.init_from(layer, fetch, device)?,
            post_attention_norm: norm.init_from(fetch(Slot::PostAttentionNorm(layer))?, device),
            mlp: self.mlp.init_from(layer, fetch, device)?,
        })
    }
}

impl DecoderLayer {
    /// # Shapes
    /// - x: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: (&Tensor<4>, &Tensor<4>),
        cache: Option<&mut LayerCache>,
        start: usize,
        native_gqa: bool,
    ) -> Tensor<3> {
        let attended = self.attention.forward(
            self.input_norm.forward(x.clone()),
            rope,
            cache,
            start,
            native_gqa,
        );
        let hidden = x + attended;
        let mlp_out = self
            .mlp
            .forward(self.post_attention_norm.forward(hidden.clone()));
        hidden + mlp_out
    }
}
