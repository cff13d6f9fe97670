//! llama.cpp's activation rounding, reproduced on request to explain divergences from it.
//!
//! Prefill multiplies f32 activations by f32 (dequantized) weights. llama.cpp's CPU backend
//! does not: before a matmul with quantized weights it quantizes the activation row too, to
//! 8 bits in blocks of 32 (`Q8_0`/`Q8_1`: scale `d = max|x| / 127` stored as f16,
//! `q = round(x · 127 / max|x|)`), and its KV cache and attention matmuls run in f16. With
//! [`crate::Llama::set_llama_cpp_rounding`] on, the engine applies approximately the same
//! roundings (not Q4_1's f16 block-sum term nor llama.cpp's exact operation order: the exact
//! product arithmetic is [`crate::quant::q8`], used by the decode step). A diagnostic mode
//! (the `generate` example's `ids:` mode), slower, never on in the product; docs/model.md
//! "Agreement with llama.cpp" explains why emulating roundings does not remove the differences.

use burn::tensor::{FloatDType, Tensor};

/// Values per activation quantization block.
const BLOCK: usize = 32;

/// Quantizes then dequantizes the last dimension of `x` in blocks of 32, as llama.cpp's
/// `quantize_row_q8_0`/`q8_1` do. Widths that are not a multiple of 32 are returned unchanged.
pub(crate) fn q8_blocks<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let width = dims[D - 1];
    if !width.is_multiple_of(BLOCK) {
        return x;
    }
    let rows: usize = dims[..D - 1].iter().product();
    let blocks = x.reshape([rows, width / BLOCK, BLOCK]);
    let amax = blocks.clone().abs().max_dim(2).clamp_min(1e-30); // [rows, blocks, 1]
    let scale = f16_round(amax.clone().div_scalar(127.0));
    let quantized = (blocks * amax.recip().mul_scalar(127.0)).round();
    (quantized * scale).reshape(dims)
}

/// Rounds to the nearest f16 and back (what storing in an f16 tensor does).
pub(crate) fn f16_round<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.cast(FloatDType::F16).cast(FloatDType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn q8_blocks_round_to_the_block_grid() {
        let device = Device::flex();
        // Block max 127 → scale 1: values (never a tie) round to integers; a zero block stays zero.
        let mut values: Vec<f32> = (0..32).map(|i| i as f32 * 3.9 + 0.33).collect();
        values[31] = -127.0;
        values.extend([0.0; 32]);
        let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [1, 64]), &device);
        let y: Vec<f32> = q8_blocks(x).into_data().try_into_vec().unwrap();
        for (got, want) in y.iter().zip(&values) {
            assert_eq!(*got, want.round(), "{want}");
        }
    }

    #[test]
    fn f16_round_loses_low_bits() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data(TensorData::new(vec![1.0f32 + 1e-4, 2.0], [2]), &device);
        let y: Vec<f32> = f16_round(x).into_data().try_into_vec().unwrap();
        assert_eq!(y, vec![1.0, 2.0]);
    }
}
