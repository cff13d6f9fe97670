//! 8-bit blocks made at load time from a float checkpoint, so models stored as f32/f16
//! safetensors (the embedded default among them) also run their CPU decode step from Q8_0
//! blocks: a quarter of the weight bytes per token (see the parent module), at the cost of
//! rounding each weight to one of 255 levels of its 32-value block.
//!
//! Q8_0, as GGUF stores it: per block of 32 consecutive values of a row, the scale
//! `d = max|x| / 127` as an f16, then 32 signed bytes `round(x / d)`.

use std::sync::Arc;

use burn::module::Param;
use burn::tensor::Tensor;

use super::{QuantLinear, QuantMatrix};
use crate::layers::QuantSlot;
use crate::gguf::GgmlType;
use crate::llama::Llama;

/// Values per Q8_0 block.
pub const BLOCK: usize = 32;

/// Q8_0 bytes of `values` (a whole number of blocks, row-major).
pub fn q8_0_bytes(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / BLOCK * (2 + BLOCK));
    for block in values.chunks(BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = amax / 127.0;
        let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(scale).to_le_bytes());
        out.extend(
            block
                .iter()
                .map(|v| (v * inverse).round().clamp(-127.0, 127.0) as i8 as u8),
        );
    }
    out
}

/// A `rows × cols` row-major matrix in Q8_0 blocks; `None` unless `cols` is a whole number of
/// blocks and the sizes agree.
pub fn q8_0_matrix(values: &[f32], rows: usize, cols: usize) -> Option<QuantMatrix> {
    if cols == 0 || !cols.is_multiple_of(BLOCK) || values.len() != rows * cols {
        return None;
    }
    QuantMatrix::new(GgmlType::Q8_0, rows, cols, q8_0_bytes(values))
}

/// Host copy of a 2-D parameter with its dims.
fn host(param: &Param<Tensor<2>>) -> Option<(Vec<f32>, [usize; 2])> {
    let tensor = param.val();
    let dims = tensor.dims();
    let values = tensor.into_data_as::<f32>().try_into_vec::<f32>().ok()?;
    Some((values, dims))
}

/// A burn `[d_in, d_out]` weight as a one-part projection of `d_out` rows.
fn projection(param: &Param<Tensor<2>>) -> QuantSlot {
    let (values, [d_in, d_out]) = host(param)?;
    let mut rows = vec![0.0f32; values.len()];
    for i in 0..d_in {
        for o in 0..d_out {
            rows[o * d_in + i] = values[i * d_out + o];
        }
    }
    let matrix = q8_0_matrix(&rows, d_out, d_in)?;
    QuantLinear::new(vec![matrix]).map(Arc::new)
}

impl Llama {
    /// Gives every projection and the head Q8_0 blocks for the CPU decode step, made from the
    /// float weights (which prefill keeps using). Returns whether all of them could be made
    /// (widths must be multiples of 32); none is attached otherwise. No-op for models that
    /// already decode from blocks (GGUF).
    pub fn attach_q8_decode(&mut self) -> bool {
        if self.has_quantized_decode() {
            return true;
        }
        let head = match &self.lm_head {
            Some(lm_head) => projection(lm_head),
            // Tied: the embedding `[vocab, d_model]` already has one row per output.
            None => host(&self.embed).and_then(|(values, [vocab, d_model])| {
                let matrix = q8_0_matrix(&values, vocab, d_model)?;
                QuantLinear::new(vec![matrix]).map(Arc::new)
            }),
        };
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            layers.push([
                projection(&layer.attention.qkv),
                projection(&layer.attention.output),
                projection(&layer.mlp.gate_up),
                projection(&layer.mlp.down),
            ]);
        }
        let complete = head.is_some() && layers.iter().flatten().all(Option::is_some);
        if !complete {
            return false;
        }
        self.quant_head = head;
        for (layer, [qkv, output, gate_up, down]) in self.layers.iter_mut().zip(layers) {
            layer.attention.quant_qkv = qkv;
            layer.attention.quant_output = output;
            layer.mlp.quant_gate_up = gate_up;
            layer.mlp.quant_down = down;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::dequant::dequantize;

    #[test]
    fn blocks_round_trip_within_half_a_level() {
        let values: Vec<f32> = (0..64).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.013).collect();
        let bytes = q8_0_bytes(&values);
        assert_eq!(bytes.len(), 2 * (2 + BLOCK));
        let back = dequantize(GgmlType::Q8_0, &bytes, values.len()).unwrap();
        for (block, back_block) in values.chunks(BLOCK).zip(back.chunks(BLOCK)) {
            let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let level = amax / 127.0;
            for (v, b) in block.iter().zip(back_block) {
                assert!((v - b).abs() <= level * 0.5 + amax * 1e-3, "{v} → {b}");
            }
            // The largest value is exact up to the f16 scale.
            let largest = block.iter().zip(back_block).max_by(|a, b| a.0.abs().total_cmp(&b.0.abs())).unwrap();
            assert!((largest.0 - largest.1).abs() <= amax * 1e-3);
        }
    }

    #[test]
    fn a_zero_block_stays_zero_and_odd_widths_are_refused() {
        let bytes = q8_0_bytes(&[0.0; BLOCK]);
        assert!(bytes.iter().all(|&b| b == 0));
        assert!(q8_0_matrix(&[0.0; 40], 1, 40).is_none());
        assert!(q8_0_matrix(&[0.0; 64], 2, 32).is_some());
    }
}
