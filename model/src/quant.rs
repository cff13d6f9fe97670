//! Quantized matrix × vector on the CPU, for the single-token decode step of GGUF models.
//!
//! Decode multiplies one activation row by every weight matrix, so it is bound by how many weight
//! bytes cross the memory bus, not by arithmetic (docs/benchmarks.md): f32 weights are 4 bytes
//! per value, Q4_1 blocks 0.625 and Q8_0 1.06. A [`QuantLinear`] keeps a GGUF projection in its
//! stored blocks and computes `y = W · x` straight from them with f32 activations (unlike
//! llama.cpp, which also quantizes `x` to 8 bits), so results equal the dequantized f32 product
//! up to summation order. Prefill (many positions, compute-bound) keeps using the f32 weights.

use std::sync::Arc;

use crate::gguf::GgmlType;
use crate::gguf::dequant::QK;

/// One weight matrix `[rows (out), cols (in)]` in ggml blocks, row-major (GGUF's own layout).
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    kind: GgmlType,
    rows: usize,
    cols: usize,
    data: Arc<[u8]>,
}

impl QuantMatrix {
    /// Wraps `data` (`rows` rows of `cols` values in `kind` blocks); `None` unless `kind` is a
    /// block type this module runs (Q4_0, Q4_1, Q8_0) and the sizes agree.
    pub fn new(kind: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Option<QuantMatrix> {
        let (block, bytes) = kind.block();
        let supported = matches!(kind, GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q8_0);
        (supported && cols.is_multiple_of(block) && data.len() == rows * cols / block * bytes).then(
            || QuantMatrix {
                kind,
                rows,
                cols,
                data: data.into(),
            },
        )
    }

    /// Output width.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input width.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Stored bytes.
    pub fn n_bytes(&self) -> usize {
        self.data.len()
    }

    /// The same matrix with its rows reordered: row `i` of the result is row `order[i]` of this one.
    pub fn reorder_rows(&self, order: &[usize]) -> QuantMatrix {
        let row_bytes = self.data.len() / self.rows;
        let mut data = Vec::with_capacity(self.data.len());
        for &row in order {
            data.extend_from_slice(&self.data[row * row_bytes..(row + 1) * row_bytes]);
        }
        QuantMatrix {
            data: data.into(),
            ..self.clone()
        }
    }

    /// `out[r] = Σ_c W[r, c] · x[c]`.
    pub fn matvec(&self, x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len(), self.cols, "matvec input width");
        assert_eq!(out.len(), self.rows, "matvec output width");
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { matvec_avx2(self, x, out) };
            return;
        }
        matvec_portable(self, x, out);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matvec_avx2(m: &QuantMatrix, x: &[f32], out: &mut [f32]) {
    matvec_portable(m, x, out);
}

/// The kernel, written so the compiler vectorises the 16/32-wide inner loops (and inlined into
/// the AVX2 wrapper, which compiles it again with 256-bit lanes and FMA).
#[inline(always)]
fn matvec_portable(m: &QuantMatrix, x: &[f32], out: &mut [f32]) {
    let (_, block_bytes) = m.kind.block();
    let blocks = m.cols / QK;
    // Σ x over each block: Q4_1's minimum and Q4_0's offset multiply it.
    let sums: Vec<f32> = x.chunks_exact(QK).map(|b| b.iter().sum()).collect();
    let half = |b: &[u8], i: usize| half::f16::from_le_bytes([b[i], b[i + 1]]).to_f32();
    for (row, y) in m
        .data
        .chunks_exact(blocks * block_bytes)
        .zip(out.iter_mut())
    {
        // Eight independent partial sums (one 256-bit register) instead of one serial chain;
        // per-block offsets (Q4_1 minimum, Q4_0's −8) are a scalar term per block.
        let mut lanes = [0.0f32; LANES];
        let mut offsets = 0.0f32;
        for (b, block) in row.chunks_exact(block_bytes).enumerate() {
            let xs = &x[b * QK..(b + 1) * QK];
            match m.kind {
                GgmlType::Q8_0 => {
                    let scale = half(block, 0);
                    let q = &block[2..2 + QK];
                    let mut products = [0.0f32; QK];
                    for j in 0..QK {
                        products[j] = f32::from(q[j] as i8) * xs[j];
                    }
                    for k in 0..LANES {
                        lanes[k] += scale
                            * ((products[k] + products[k + LANES])
                                + (products[k + 2 * LANES] + products[k + 3 * LANES]));
                    }
                }
                GgmlType::Q4_0 | GgmlType::Q4_1 => {
                    let (scale, offset, nibbles) = if m.kind == GgmlType::Q4_1 {
                        (half(block, 0), half(block, 2), &block[4..4 + QK / 2])
                    } else {
                        (half(block, 0), -8.0 * half(block, 0), &block[2..2 + QK / 2])
                    };
                    let mut products = [0.0f32; QK / 2];
                    for j in 0..QK / 2 {
                        products[j] = f32::from(nibbles[j] & 0x0f) * xs[j]
                            + f32::from(nibbles[j] >> 4) * xs[j + QK / 2];
                    }
                    for k in 0..LANES {
                        lanes[k] += scale * (products[k] + products[k + LANES]);
                    }
                    offsets += offset * sums[b];
                }
                _ => unreachable!("checked in QuantMatrix::new"),
            }
        }
        *y = lanes.iter().sum::<f32>() + offsets;
    }
}

/// Partial sums kept per row (eight f32: one AVX register).
const LANES: usize = 8;

/// A projection whose output is the concatenation of several matrices' outputs (q | k | v,
/// gate | up), all with the same input width.
#[derive(Debug, Clone)]
pub struct QuantLinear {
    parts: Vec<QuantMatrix>,
}

impl QuantLinear {
    /// Concatenates `parts` (`None` if empty or their input widths differ).
    pub fn new(parts: Vec<QuantMatrix>) -> Option<QuantLinear> {
        let cols = parts.first()?.cols;
        parts
            .iter()
            .all(|p| p.cols == cols)
            .then_some(QuantLinear { parts })
    }

    /// Total output width.
    pub fn rows(&self) -> usize {
        self.parts.iter().map(QuantMatrix::rows).sum()
    }

    /// Input width.
    pub fn cols(&self) -> usize {
        self.parts[0].cols
    }

    /// `W · x` for one input row.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.rows()];
        let mut start = 0;
        for part in &self.parts {
            part.matvec(x, &mut out[start..start + part.rows]);
            start += part.rows;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::dequant::dequantize;

    /// Deterministic pseudo-random bytes.
    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as u8
            })
            .collect()
    }

    /// Blocks with small, finite f16 scales/minimums and random quants.
    fn random_blocks(kind: GgmlType, rows: usize, cols: usize) -> Vec<u8> {
        let (_, block_bytes) = kind.block();
        let n_blocks = rows * cols / QK;
        let mut data = bytes(n_blocks * block_bytes, 7);
        for (i, block) in data.chunks_exact_mut(block_bytes).enumerate() {
            let d = half::f16::from_f32(0.01 + (i % 7) as f32 * 0.003).to_le_bytes();
            block[..2].copy_from_slice(&d);
            if kind == GgmlType::Q4_1 {
                let m = half::f16::from_f32(-0.05 * (i % 3) as f32).to_le_bytes();
                block[2..4].copy_from_slice(&m);
            }
        }
        data
    }

    #[test]
    fn matvec_equals_the_dequantized_product() {
        let (rows, cols) = (24, 96);
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) * 0.25)
            .collect();
        for kind in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0] {
            let data = random_blocks(kind, rows, cols);
            let dense = dequantize(kind, &data, rows * cols).unwrap();
            let matrix = QuantMatrix::new(kind, rows, cols, data).unwrap();
            let mut out = vec![0.0f32; rows];
            matrix.matvec(&x, &mut out);
            let mut portable = vec![0.0f32; rows];
            matvec_portable(&matrix, &x, &mut portable);
            for r in 0..rows {
                let want: f32 = (0..cols).map(|c| dense[r * cols + c] * x[c]).sum();
                assert!(
                    (out[r] - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{kind:?} row {r}: {} vs {want}",
                    out[r]
                );
                assert!((portable[r] - out[r]).abs() <= 1e-4 * want.abs().max(1.0));
            }
            // Reordering rows reorders outputs.
            let order: Vec<usize> = (0..rows).rev().collect();
            let mut reversed = vec![0.0f32; rows];
            matrix.reorder_rows(&order).matvec(&x, &mut reversed);
            assert_eq!(reversed.iter().rev().copied().collect::<Vec<_>>(), out);
        }
    }

    #[test]
    fn unsupported_or_inconsistent_matrices_are_refused() {
        assert!(QuantMatrix::new(GgmlType::F32, 2, 32, vec![0; 256]).is_none());
        assert!(QuantMatrix::new(GgmlType::Q8_0, 2, 32, vec![0; 67]).is_none());
        assert!(QuantLinear::new(Vec::new()).is_none());
    }
}
