//! 8-bit activation blocks and integer dot products, with llama.cpp's CPU arithmetic.
//!
//! Before a product with quantized weights, llama.cpp's CPU backend quantizes the activation row
//! to 8 bits per value in blocks of 32 and multiplies integers. This module does the same, in the
//! same order of floating-point operations as llama.cpp's AVX2 kernels (verified bit for bit
//! against llama.cpp's own tensors by `tests/gguf_kernel.rs`):
//!
//! - **quantize** (per block of 32): `amax = max |x|`, `d = amax / 127`, `q = round_half_even(x ·
//!   (127 / amax))`; `d` is stored as f16, and so is `s = d · Σq` (used by Q4_1's minimum term).
//! - **dot** (per output row): for each block, eight i32 lane sums over 4 consecutive values
//!   (the i8 multiply-add instructions' grouping) are converted to f32 and accumulated with one
//!   fused multiply-add each, `acc[j] = fma(d_w · d_x, lane[j], acc[j])`; Q4_1 adds
//!   `Σ_blocks m_w · s_x` (plain multiply then add); the eight lanes are summed as
//!   `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
//!
//! The portable code and the AVX2 code compute identical bits (tested); the AVX2 path exists for
//! speed: an i8 multiply-add instruction does 32 products where the f32 path did 8.

use half::f16;

use crate::gguf::GgmlType;
use crate::gguf::dequant::QK;

/// An activation row in 8-bit blocks.
#[derive(Debug, Clone, Default)]
pub struct Q8Row {
    /// Per block: the f16 scale, widened.
    pub d: Vec<f32>,
    /// Per block: f16 of `d · Σq` (with the unrounded `d`), widened.
    pub s: Vec<f32>,
    /// The quantized values, `QK` per block.
    pub q: Vec<i8>,
}

impl Q8Row {
    /// Quantizes `x` (length a multiple of `QK`).
    pub fn quantize(x: &[f32]) -> Q8Row {
        let mut row = Q8Row::default();
        row.requantize(x);
        row
    }

    /// Quantizes `x` into this row, reusing its buffers.
    pub fn requantize(&mut self, x: &[f32]) {
        assert!(
            x.len().is_multiple_of(QK),
            "row width {} not a multiple of {QK}",
            x.len()
        );
        let blocks = x.len() / QK;
        self.d.clear();
        self.s.clear();
        self.q.resize(x.len(), 0);
        for (b, values) in x.chunks_exact(QK).enumerate() {
            let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inverse = if amax != 0.0 { 127.0 / amax } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in self.q[b * QK..(b + 1) * QK].iter_mut().zip(values) {
                // |v · inverse| ≤ 127 (up to rounding of `inverse`, which cannot pass 127.5).
                let rounded = (v * inverse).round_ties_even() as i32;
                sum += rounded;
                *q = rounded as i8;
            }
            self.d.push(f16::from_f32(d).to_f32());
            self.s.push(f16::from_f32(d * sum as f32).to_f32());
        }
        debug_assert_eq!(self.d.len(), blocks);
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.d.len()
    }
}

/// Reads the little-endian f16 at `bytes[at..at + 2]` as f32.
#[inline(always)]
fn half(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// The eight lanes' final sum, in llama.cpp's order.
#[inline(always)]
fn lane_sum(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// One output value: `row` (blocks of `kind`) · `x`, portable arithmetic.
pub(crate) fn dot_portable(kind: GgmlType, row: &[u8], x: &Q8Row) -> f32 {
    let (_, block_bytes) = kind.block();
    let mut acc = [0.0f32; 8];
    let mut minimums = 0.0f32;
    for (b, block) in row.chunks_exact(block_bytes).enumerate() {
        let xq = &x.q[b * QK..(b + 1) * QK];
        let mut weights = [0i32; QK];
        let scale = match kind {
            GgmlType::Q8_0 => {
                for (w, &q) in weights.iter_mut().zip(&block[2..2 + QK]) {
                    *w = i32::from(q as i8);
                }
                half(block, 0)
            }
            GgmlType::Q4_0 | GgmlType::Q4_1 => {
                let nibbles = if kind == GgmlType::Q4_1 {
                    &block[4..20]
                } else {
                    &block[2..18]
                };
                let offset = if kind == GgmlType::Q4_0 { 8 } else { 0 };
                for (j, &byte) in nibbles.iter().enumerate() {
                    weights[j] = i32::from(byte & 0x0f) - offset;
                    weights[j + QK / 2] = i32::from(byte >> 4) - offset;
                }
                if kind == GgmlType::Q4_1 {
                    minimums += half(block, 2) * x.s[b];
                }
                half(block, 0)
            }
            _ => unreachable!("checked in QuantMatrix::new"),
        };
        let scale = scale * x.d[b];
        for (lane, acc) in acc.iter_mut().enumerate() {
            let sum: i32 = (4 * lane..4 * lane + 4)
                .map(|j| weights[j] * i32::from(xq[j]))
                .sum();
            *acc = scale.mul_add(sum as f32, *acc);
        }
    }
    let total = lane_sum(acc);
    if kind == GgmlType::Q4_1 {
        total + minimums
    } else {
        total
    }
}

/// `out[r] = row r · x` for rows of `row_bytes` bytes, with the fastest kernel the CPU has.
pub(crate) fn matvec(kind: GgmlType, data: &[u8], row_bytes: usize, x: &Q8Row, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { avx2::matvec(kind, data, row_bytes, x, out) };
        return;
    }
    matvec_portable(kind, data, row_bytes, x, out);
}

/// [`matvec`] without SIMD.
pub(crate) fn matvec_portable(
    kind: GgmlType,
    data: &[u8],
    row_bytes: usize,
    x: &Q8Row,
    out: &mut [f32],
) {
    for (row, y) in data.chunks_exact(row_bytes).zip(out.iter_mut()) {
        *y = dot_portable(kind, row, x);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The same arithmetic with 256-bit integer multiply-adds.
    use std::arch::x86_64::*;

    use super::{GgmlType, Q8Row, QK, half, lane_sum};

    /// See [`super::matvec`]. Only callable where AVX2 and FMA are enabled (the caller checks
    /// at run time and calls it in an `unsafe` block).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn matvec(
        kind: GgmlType,
        data: &[u8],
        row_bytes: usize,
        x: &Q8Row,
        out: &mut [f32],
    ) {
        for (row, y) in data.chunks_exact(row_bytes).zip(out.iter_mut()) {
            *y = match kind {
                GgmlType::Q4_1 => dot_q4(row, x, true),
                GgmlType::Q4_0 => dot_q4(row, x, false),
                GgmlType::Q8_0 => dot_q8(row, x),
                _ => unreachable!("checked in QuantMatrix::new"),
            };
        }
    }

    /// Eight i32 sums of 4 consecutive products `u[k] · s[k]` (`u` unsigned, `s` signed), as
    /// f32. The i16 pair sums cannot saturate for our inputs: |u| ≤ 15 (Q4) or ≤ 128 (Q8
    /// magnitudes) and |s| ≤ 127, so a pair is at most 2 · 128 · 127 < 32768.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn lane_sums(unsigned: __m256i, signed: __m256i) -> __m256 {
        let pairs = _mm256_maddubs_epi16(unsigned, signed);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn lanes(acc: __m256) -> [f32; 8] {
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` has room for the 8 stored values.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        lanes
    }

    /// 32 bytes starting at `bytes[at]` (panics if out of bounds).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load32(bytes: &[u8], at: usize) -> __m256i {
        let chunk = &bytes[at..at + 32];
        // SAFETY: `chunk` holds 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) }
    }

    /// Q4_1 (`minimum`) or Q4_0 row · x.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn dot_q4(row: &[u8], x: &Q8Row, minimum: bool) -> f32 {
        let (head, block_bytes) = if minimum { (4, 20) } else { (2, 18) };
        let low_mask = _mm256_set1_epi8(0x0f);
        let xq: &[u8] = bytemuck_i8(&x.q);
        let mut acc = _mm256_setzero_ps();
        let mut minimums = 0.0f32;
        for (b, block) in row.chunks_exact(block_bytes).enumerate() {
            let nibbles = &block[head..head + 16];
            // SAFETY: `nibbles` holds 16 readable bytes; the load is unaligned.
            let packed = unsafe { _mm_loadu_si128(nibbles.as_ptr().cast()) };
            // Values 0..16 (low nibbles) in the low 128 bits, 16..32 (high nibbles) above.
            let both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
            let mut weights = _mm256_and_si256(both, low_mask);
            let mut xs = load32(xq, b * QK);
            if !minimum {
                // Signed weights: multiply |w| by x carrying w's sign.
                weights = _mm256_sub_epi8(weights, _mm256_set1_epi8(8));
                xs = _mm256_sign_epi8(xs, weights);
                weights = _mm256_sign_epi8(weights, weights);
            }
            let scale = _mm256_set1_ps(half(block, 0) * x.d[b]);
            acc = _mm256_fmadd_ps(scale, lane_sums(weights, xs), acc);
            if minimum {
                minimums += half(block, 2) * x.s[b];
            }
        }
        let total = lane_sum(lanes(acc));
        if minimum { total + minimums } else { total }
    }

    /// Q8_0 row · x.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn dot_q8(row: &[u8], x: &Q8Row) -> f32 {
        let xq: &[u8] = bytemuck_i8(&x.q);
        let mut acc = _mm256_setzero_ps();
        for (b, block) in row.chunks_exact(2 + QK).enumerate() {
            let weights = load32(block, 2);
            let xs = load32(xq, b * QK);
            let magnitudes = _mm256_sign_epi8(weights, weights);
            let signed = _mm256_sign_epi8(xs, weights);
            let scale = _mm256_set1_ps(half(block, 0) * x.d[b]);
            acc = _mm256_fmadd_ps(scale, lane_sums(magnitudes, signed), acc);
        }
        lane_sum(lanes(acc))
    }

    /// The bytes of an i8 slice.
    fn bytemuck_i8(values: &[i8]) -> &[u8] {
        // SAFETY: i8 and u8 have the same size and alignment, every bit pattern is valid.
        unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_to_even_and_keeps_the_block_sum() {
        // amax 127 → inverse exactly 1: values round to integers, ties to even.
        let mut x = vec![0.0f32; 64];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -3.5;
        x[3] = 0.5;
        x[4] = 1.4;
        let row = Q8Row::quantize(&x);
        assert_eq!(&row.q[..5], &[127, 2, -4, 0, 1]);
        assert_eq!(row.d[0], f16::from_f32(1.0).to_f32());
        assert_eq!(row.s[0], f16::from_f32(126.0).to_f32());
        // An all-zero block quantizes to zeros with scale 0.
        assert!(row.q[32..].iter().all(|&q| q == 0));
        assert_eq!((row.d[1], row.s[1]), (0.0, 0.0));
        // Scaled block: the largest magnitude maps to ±127.
        let y: Vec<f32> = (0..32).map(|i| (i as f32 - 10.0) * 0.01).collect();
        let row = Q8Row::quantize(&y);
        assert_eq!(row.q[31], 127);
        assert_eq!(
            row.q[0],
            (-0.10f32 * (127.0 / 0.21)).round_ties_even() as i8
        );
    }
}
