//! Quantized matrix × vector on the CPU, for the single-token decode step of GGUF models.
//!
//! Decode multiplies one activation row by every weight matrix, so it is bound by how many weight
//! bytes cross the memory bus, not by arithmetic (docs/benchmarks.md): f32 weights are 4 bytes
//! per value, Q4_1 blocks 0.625 and Q8_0 1.06. A [`QuantLinear`] keeps a GGUF projection in its
//! stored blocks and computes `y = W · x` straight from them. Like llama.cpp, the activation
//! row is first quantized to 8-bit blocks and the products are integer multiply-adds with
//! llama.cpp's own order of floating-point operations ([`q8`]), so a decode-step product equals
//! llama.cpp's bit for bit (`tests/gguf_kernel.rs`) and differs from the dequantized f32 product
//! by the 8-bit rounding of `x` (≈ 0.4 % of a block's largest value per entry). Prefill (many
//! positions, compute-bound) keeps using the f32 weights.

pub mod from_f32;
pub mod q8;

use std::sync::Arc;

pub use q8::Q8Row;

/// Rows from which a product is worth splitting across threads (a task costs a few µs).
pub const PARALLEL_ROWS: usize = 512;

use crate::gguf::GgmlType;

/// One weight matrix `[rows (out), cols (in)]` in ggml blocks (kept re-laid out for the kernel,
/// see [`q8`]).
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    packed: Arc<q8::Packed>,
}

impl QuantMatrix {
    /// Takes `data` (`rows` rows of `cols` values in `kind` blocks, GGUF's row-major layout);
    /// `None` unless `kind` is a block type this module runs (Q4_0, Q4_1, Q8_0) and the sizes
    /// agree.
    pub fn new(kind: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Option<QuantMatrix> {
        let (block, bytes) = kind.block();
        let supported = matches!(kind, GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q8_0);
        (supported && cols.is_multiple_of(block) && data.len() == rows * cols / block * bytes).then(
            || QuantMatrix {
                packed: Arc::new(q8::Packed::pack(kind, rows, cols, &data)),
            },
        )
    }

    /// Output width.
    pub fn rows(&self) -> usize {
        self.packed.rows
    }

    /// Input width.
    pub fn cols(&self) -> usize {
        self.packed.cols
    }

    /// Stored bytes.
    pub fn n_bytes(&self) -> usize {
        self.packed.n_bytes()
    }

    /// The same matrix with its rows reordered: row `i` of the result is row `order[i]` of this one.
    pub fn reorder_rows(&self, order: &[usize]) -> QuantMatrix {
        let data: Vec<u8> = order
            .iter()
            .flat_map(|&row| self.packed.gguf_row(row))
            .collect();
        let p = &self.packed;
        QuantMatrix {
            packed: Arc::new(q8::Packed::pack(p.kind, order.len(), p.cols, &data)),
        }
    }

    /// `out[r] = Σ_c W[r, c] · x[c]` with `x` already in 8-bit blocks (see [`q8`]). Matrices of
    /// at least [`PARALLEL_ROWS`] rows are split by row groups across rayon's threads
    /// (`RAYON_NUM_THREADS`; each row is still computed by one thread, so the bits do not change).
    pub fn matvec(&self, x: &Q8Row, out: &mut [f32]) {
        assert_eq!(x.q.len(), self.cols(), "matvec input width");
        assert_eq!(out.len(), self.rows(), "matvec output width");
        let threads = rayon::current_num_threads();
        if threads < 2 || self.rows() < PARALLEL_ROWS {
            q8::matvec(&self.packed, x, 0, out);
            return;
        }
        let groups_per_part = self.rows().div_ceil(q8::GROUP).div_ceil(threads);
        let rows_per_part = groups_per_part * q8::GROUP;
        rayon::scope(|scope| {
            for (part, chunk) in out.chunks_mut(rows_per_part).enumerate() {
                let packed = &self.packed;
                scope.spawn(move |_| q8::matvec(packed, x, part * groups_per_part, chunk));
            }
        });
    }

    /// [`QuantMatrix::matvec`] without SIMD (same bits; for tests).
    pub fn matvec_portable(&self, x: &Q8Row, out: &mut [f32]) {
        assert_eq!(x.q.len(), self.cols(), "matvec input width");
        assert_eq!(out.len(), self.rows(), "matvec output width");
        q8::matvec_portable(&self.packed, x, 0, out);
    }
}

/// A projection whose output is the concatenation of several matrices' outputs (q | k | v,
/// gate | up), all with the same input width.
#[derive(Debug, Clone)]
pub struct QuantLinear {
    parts: Vec<QuantMatrix>,
}

impl QuantLinear {
    /// Concatenates `parts` (`None` if empty or their input widths differ).
    pub fn new(parts: Vec<QuantMatrix>) -> Option<QuantLinear> {
        let cols = parts.first()?.cols();
        parts
            .iter()
            .all(|p| p.cols() == cols)
            .then_some(QuantLinear { parts })
    }

    /// Total output width.
    pub fn rows(&self) -> usize {
        self.parts.iter().map(QuantMatrix::rows).sum()
    }

    /// Input width.
    pub fn cols(&self) -> usize {
        self.parts[0].cols()
    }

    /// `W · x` for one input row; `x` is quantized to 8-bit blocks once for all parts, as
    /// llama.cpp does (see [`q8`]).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let x = Q8Row::quantize(x);
        let mut out = vec![0.0f32; self.rows()];
        let mut start = 0;
        for part in &self.parts {
            part.matvec(&x, &mut out[start..start + part.rows()]);
            start += part.rows();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::dequant::{QK, dequantize};

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

    /// The definition, in f64: per block `d_w · d_x · Σ w_q x_q` (+ `m_w · s_x` for Q4_1).
    fn reference(kind: GgmlType, data: &[u8], rows: usize, x: &Q8Row) -> Vec<f64> {
        let cols = x.q.len();
        let dense = dequantize(kind, data, rows * cols).unwrap();
        let (_, block_bytes) = kind.block();
        (0..rows)
            .map(|r| {
                let mut total = 0.0f64;
                for b in 0..cols / QK {
                    let block = &data[(r * cols / QK + b) * block_bytes..][..block_bytes];
                    let d = f64::from(half::f16::from_le_bytes([block[0], block[1]]).to_f32());
                    let m = if kind == GgmlType::Q4_1 {
                        f64::from(half::f16::from_le_bytes([block[2], block[3]]).to_f32())
                    } else {
                        0.0
                    };
                    let mut integer = 0.0f64;
                    for j in 0..QK {
                        // The stored integer of weight j, recovered from the dequantized value.
                        let w = (f64::from(dense[r * cols + b * QK + j]) - m) / d;
                        integer += w.round() * f64::from(x.q[b * QK + j]);
                    }
                    total += d * f64::from(x.d[b]) * integer + m * f64::from(x.s[b]);
                }
                total
            })
            .collect()
    }

    #[test]
    fn matvec_follows_the_integer_definition_and_simd_equals_portable_bits() {
        let (rows, cols) = (24, 96);
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) * 0.25 + 0.01 * i as f32)
            .collect();
        let xq = Q8Row::quantize(&x);
        for kind in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0] {
            let data = random_blocks(kind, rows, cols);
            let dense = dequantize(kind, &data, rows * cols).unwrap();
            let want = reference(kind, &data, rows, &xq);
            let matrix = QuantMatrix::new(kind, rows, cols, data).unwrap();
            let mut out = vec![0.0f32; rows];
            matrix.matvec(&xq, &mut out);
            let mut portable = vec![0.0f32; rows];
            matrix.matvec_portable(&xq, &mut portable);
            assert_eq!(
                out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{kind:?}: SIMD and portable kernels differ"
            );
            for r in 0..rows {
                let scale = want[r].abs().max(1.0);
                assert!(
                    (f64::from(out[r]) - want[r]).abs() <= 1e-5 * scale,
                    "{kind:?} row {r}: {} vs {}",
                    out[r],
                    want[r]
                );
                // And close to the f32 product: only x's 8-bit rounding separates them.
                let exact: f32 = (0..cols).map(|c| dense[r * cols + c] * x[c]).sum();
                let magnitude: f32 = (0..cols).map(|c| (dense[r * cols + c] * x[c]).abs()).sum();
                assert!(
                    (out[r] - exact).abs() <= 0.01 * magnitude,
                    "{kind:?} row {r}: {} vs f32 {exact}",
                    out[r]
                );
            }
            // Reordering rows reorders outputs.
            let order: Vec<usize> = (0..rows).rev().collect();
            let mut reversed = vec![0.0f32; rows];
            matrix.reorder_rows(&order).matvec(&xq, &mut reversed);
            assert_eq!(reversed.iter().rev().copied().collect::<Vec<_>>(), out);
        }
    }

    #[test]
    fn threads_split_rows_without_changing_bits() {
        // 602 rows: past PARALLEL_ROWS, not a multiple of the group or of the thread count.
        let (rows, cols) = (602, 64);
        let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let xq = Q8Row::quantize(&x);
        let matrix = QuantMatrix::new(
            GgmlType::Q4_1,
            rows,
            cols,
            random_blocks(GgmlType::Q4_1, rows, cols),
        )
        .unwrap();
        let mut single = vec![0.0f32; rows];
        matrix.matvec_portable(&xq, &mut single);
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut split = vec![f32::NAN; rows];
            pool.install(|| matrix.matvec(&xq, &mut split));
            assert_eq!(
                split.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                single.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn unsupported_or_inconsistent_matrices_are_refused() {
        assert!(QuantMatrix::new(GgmlType::F32, 2, 32, vec![0; 256]).is_none());
        assert!(QuantMatrix::new(GgmlType::Q8_0, 2, 32, vec![0; 67]).is_none());
        assert!(QuantLinear::new(Vec::new()).is_none());
    }
}
