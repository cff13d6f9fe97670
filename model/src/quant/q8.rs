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

/// 1.5 · 2^23: `(y + ROUNDER) - ROUNDER` is `y` rounded half to even for |y| < 2^22.
const ROUNDER: f32 = 12_582_912.0;

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
                // |v · inverse| ≤ 127 (up to rounding of `inverse`, which cannot pass 127.5), and
                // adding then subtracting 1.5 · 2^23 rounds such a value to the nearest integer,
                // ties to even, in plain f32 arithmetic (vectorisable, no libm `rintf` call).
                let rounded = ((v * inverse + ROUNDER) - ROUNDER) as i32;
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

/// Rows stored interleaved and computed together: they share each activation block load and
/// give the CPU independent accumulation chains.
pub(crate) const GROUP: usize = 4;

/// A weight matrix re-laid out for the kernels: rows in groups of [`GROUP`] (the last group
/// padded with zero rows); per (group, block) the rows' quant bytes one after the other in
/// `quants`, and in `scales` their f16 scales `d` (then, for Q4_1, their minimums `m`).
/// Same bytes as the GGUF blocks, reordered, so scales for four rows convert in one instruction.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    pub(crate) kind: GgmlType,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    quants: Vec<u8>,
    scales: Vec<u16>,
}

/// Quant bytes per block (nibbles or i8).
fn quant_bytes(kind: GgmlType) -> usize {
    if kind == GgmlType::Q8_0 { QK } else { QK / 2 }
}

/// f16 values per block (d, and m for Q4_1).
fn scale_count(kind: GgmlType) -> usize {
    if kind == GgmlType::Q4_1 { 2 } else { 1 }
}

impl Packed {
    /// Re-lays out `data` (`rows` GGUF rows of `cols` values in `kind` blocks; sizes checked by
    /// the caller).
    pub(crate) fn pack(kind: GgmlType, rows: usize, cols: usize, data: &[u8]) -> Packed {
        let (_, block_bytes) = kind.block();
        let blocks = cols / QK;
        let groups = rows.div_ceil(GROUP);
        let (qb, sc) = (quant_bytes(kind), scale_count(kind));
        let mut quants = vec![0u8; groups * blocks * GROUP * qb];
        let mut scales = vec![0u16; groups * blocks * GROUP * sc];
        for row in 0..rows {
            let (g, r) = (row / GROUP, row % GROUP);
            for b in 0..blocks {
                let block = &data[(row * blocks + b) * block_bytes..][..block_bytes];
                let at = (g * blocks + b) * GROUP;
                quants[(at + r) * qb..(at + r + 1) * qb].copy_from_slice(&block[2 * sc..]);
                for k in 0..sc {
                    scales[at * sc + k * GROUP + r] =
                        u16::from_le_bytes([block[2 * k], block[2 * k + 1]]);
                }
            }
        }
        Packed {
            kind,
            rows,
            cols,
            quants,
            scales,
        }
    }

    /// Row `row` in GGUF's block layout.
    pub(crate) fn gguf_row(&self, row: usize) -> Vec<u8> {
        let blocks = self.cols / QK;
        let (qb, sc) = (quant_bytes(self.kind), scale_count(self.kind));
        let (g, r) = (row / GROUP, row % GROUP);
        let mut out = Vec::with_capacity(blocks * self.kind.block().1);
        for b in 0..blocks {
            let at = (g * blocks + b) * GROUP;
            for k in 0..sc {
                out.extend_from_slice(&self.scales[at * sc + k * GROUP + r].to_le_bytes());
            }
            out.extend_from_slice(&self.quants[(at + r) * qb..(at + r + 1) * qb]);
        }
        out
    }

    /// Bytes held.
    pub(crate) fn n_bytes(&self) -> usize {
        self.quants.len() + 2 * self.scales.len()
    }

    /// Number of row groups.
    fn groups(&self) -> usize {
        self.rows.div_ceil(GROUP)
    }

    /// Quant bytes of (group, block) for all its rows.
    #[inline(always)]
    fn group_quants(&self, g: usize, b: usize) -> &[u8] {
        let qb = quant_bytes(self.kind) * GROUP;
        let at = (g * (self.cols / QK) + b) * qb;
        &self.quants[at..at + qb]
    }

    /// f16 scales (then minimums) of (group, block).
    #[inline(always)]
    fn group_scales(&self, g: usize, b: usize) -> &[u16] {
        let n = scale_count(self.kind) * GROUP;
        let at = (g * (self.cols / QK) + b) * n;
        &self.scales[at..at + n]
    }
}

/// The eight lanes' final sum, in llama.cpp's order.
#[inline(always)]
fn lane_sum(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Writes the results of the group `g`-th within `out`, dropping padding rows.
#[inline(always)]
fn write_group(out: &mut [f32], g: usize, values: [f32; GROUP]) {
    for (r, value) in values.into_iter().enumerate() {
        if let Some(y) = out.get_mut(g * GROUP + r) {
            *y = value;
        }
    }
}

/// The row groups `out` covers when it holds rows `first_group · GROUP ..` (clamped to the matrix).
fn group_range(m: &Packed, first_group: usize, out: &[f32]) -> std::ops::Range<usize> {
    let end = (first_group + out.len().div_ceil(GROUP)).min(m.groups());
    first_group.min(end)..end
}

/// `out[i] = row (first_group · GROUP + i) · x` for the rows `out` covers, with the fastest
/// kernel the CPU has (`first_group` 0 and `out` of `m.rows` values: the whole product).
pub(crate) fn matvec(m: &Packed, x: &Q8Row, first_group: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
    {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { avx2::matvec(m, x, first_group, out) };
        return;
    }
    matvec_portable(m, x, first_group, out);
}

/// [`matvec`] without SIMD: the same operations one value at a time.
pub(crate) fn matvec_portable(m: &Packed, x: &Q8Row, first_group: usize, out: &mut [f32]) {
    assert_eq!(x.q.len(), m.cols, "activation width");
    let qb = quant_bytes(m.kind);
    for g in group_range(m, first_group, out) {
        let mut acc = [[0.0f32; 8]; GROUP];
        let mut minimums = [0.0f32; GROUP];
        for b in 0..x.blocks() {
            let xq = &x.q[b * QK..(b + 1) * QK];
            let quants = m.group_quants(g, b);
            let scales = m.group_scales(g, b);
            for r in 0..GROUP {
                let bytes = &quants[r * qb..(r + 1) * qb];
                let mut weights = [0i32; QK];
                match m.kind {
                    GgmlType::Q8_0 => {
                        for (w, &q) in weights.iter_mut().zip(bytes) {
                            *w = i32::from(q as i8);
                        }
                    }
                    _ => {
                        let offset = if m.kind == GgmlType::Q4_0 { 8 } else { 0 };
                        for (j, &byte) in bytes.iter().enumerate() {
                            weights[j] = i32::from(byte & 0x0f) - offset;
                            weights[j + QK / 2] = i32::from(byte >> 4) - offset;
                        }
                    }
                }
                let scale = f16::from_bits(scales[r]).to_f32() * x.d[b];
                if m.kind == GgmlType::Q4_1 {
                    minimums[r] += f16::from_bits(scales[GROUP + r]).to_f32() * x.s[b];
                }
                for (lane, acc) in acc[r].iter_mut().enumerate() {
                    let sum: i32 = (4 * lane..4 * lane + 4)
                        .map(|j| weights[j] * i32::from(xq[j]))
                        .sum();
                    *acc = scale.mul_add(sum as f32, *acc);
                }
            }
        }
        write_group(
            out,
            g - first_group,
            std::array::from_fn(|r| lane_sum(acc[r]) + minimums[r]),
        );
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The same arithmetic with 256-bit integer multiply-adds.
    use std::arch::x86_64::*;

    use super::{GROUP, GgmlType, Packed, Q8Row, QK, lane_sum, write_group};

    /// How far ahead of the kernel weights are prefetched (bytes).
    const PREFETCH: usize = 1024;

    /// Weight kinds as const parameters (one compiled loop per kind).
    pub(super) const Q4_1: u8 = 0;
    pub(super) const Q4_0: u8 = 1;
    pub(super) const Q8_0: u8 = 2;

    /// See [`super::matvec`]. Only callable where AVX2, FMA and F16C are enabled (the caller
    /// checks at run time and calls it in an `unsafe` block). Uses AVX-512 VNNI's one-instruction
    /// i8 dot product where the CPU has it (same integers, so the same bits).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn matvec(m: &Packed, x: &Q8Row, first_group: usize, out: &mut [f32]) {
        if std::is_x86_feature_detected!("avx512vnni") && std::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe {
                match m.kind {
                    GgmlType::Q4_1 => run_vnni::<Q4_1>(m, x, first_group, out),
                    GgmlType::Q4_0 => run_vnni::<Q4_0>(m, x, first_group, out),
                    GgmlType::Q8_0 => run_vnni::<Q8_0>(m, x, first_group, out),
                    _ => unreachable!("checked in QuantMatrix::new"),
                }
            }
            return;
        }
        match m.kind {
            GgmlType::Q4_1 => run_avx2::<Q4_1>(m, x, first_group, out),
            GgmlType::Q4_0 => run_avx2::<Q4_0>(m, x, first_group, out),
            GgmlType::Q8_0 => run_avx2::<Q8_0>(m, x, first_group, out),
            _ => unreachable!("checked in QuantMatrix::new"),
        }
    }

    /// The kernel loop, compiled once per instruction set (`$lane_sums` computes the i32 lanes).
    macro_rules! kernel {
        ($name:ident, $features:literal, $lane_sums:ident) => {
            #[target_feature(enable = $features)]
            pub(super) fn $name<const KIND: u8>(
                m: &Packed,
                x: &Q8Row,
                first_group: usize,
                out: &mut [f32],
            ) {
                let blocks = x.blocks();
                let qb = if KIND == Q8_0 { QK } else { QK / 2 };
                let sc = if KIND == Q4_1 { 2 } else { 1 };
                // Every pointer below stays inside these checked lengths.
                assert_eq!(blocks * QK, m.cols, "activation width");
                assert!(m.quants.len() >= m.groups() * blocks * GROUP * qb);
                assert!(m.scales.len() >= m.groups() * blocks * GROUP * sc);
                assert!(x.q.len() >= blocks * QK && x.d.len() >= blocks && x.s.len() >= blocks);
                let groups = super::group_range(m, first_group, out);
                // SAFETY: `groups.start` ≤ m.groups(), so the offsets stay inside the asserted lengths.
                let mut quants =
                    unsafe { m.quants.as_ptr().add(groups.start * blocks * GROUP * qb) };
                let mut scales =
                    unsafe { m.scales.as_ptr().add(groups.start * blocks * GROUP * sc) };
                let low_mask = _mm256_set1_epi8(0x0f);
                let eight = _mm256_set1_epi8(8);
                for g in groups.clone() {
                    let mut acc = [_mm256_setzero_ps(); GROUP];
                    let mut minimums = _mm_setzero_ps();
                    let mut activations = x.q.as_ptr();
                    for b in 0..blocks {
                        // SAFETY: (group g, block b) lies inside the lengths asserted above; the
                        // pointers advance by exactly one (group, block) per iteration.
                        unsafe {
                            // Weights stream from memory once per token: ask for them ahead of use
                            // (a prefetch of an address past the end is harmless: it never faults).
                            _mm_prefetch::<_MM_HINT_T0>(quants.wrapping_add(PREFETCH).cast());
                            let xs = _mm256_loadu_si256(activations.cast());
                            activations = activations.add(QK);
                            // d · d_x for the four rows (lane-wise products: the scalar kernel's values).
                            let d = _mm_cvtph_ps(_mm_loadl_epi64(scales.cast()));
                            let row_scales = _mm_mul_ps(d, _mm_set1_ps(*x.d.get_unchecked(b)));
                            if KIND == Q4_1 {
                                let minimum =
                                    _mm_cvtph_ps(_mm_loadl_epi64(scales.add(GROUP).cast()));
                                let term = _mm_mul_ps(minimum, _mm_set1_ps(*x.s.get_unchecked(b)));
                                minimums = _mm_add_ps(minimums, term);
                            }
                            let mut per_row = [0.0f32; GROUP];
                            _mm_storeu_ps(per_row.as_mut_ptr(), row_scales);
                            for (r, acc) in acc.iter_mut().enumerate() {
                                let bytes = quants.add(r * qb);
                                let (unsigned, signed) = if KIND == Q8_0 {
                                    let w = _mm256_loadu_si256(bytes.cast());
                                    (_mm256_sign_epi8(w, w), _mm256_sign_epi8(xs, w))
                                } else {
                                    let packed = _mm_loadu_si128(bytes.cast());
                                    // Values 0..16 (low nibbles) in the low 128 bits, 16..32 above.
                                    let w = _mm256_and_si256(
                                        _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),
                                        low_mask,
                                    );
                                    if KIND == Q4_1 {
                                        (w, xs)
                                    } else {
                                        // Signed weights: |w| times x carrying w's sign.
                                        let w = _mm256_sub_epi8(w, eight);
                                        (_mm256_sign_epi8(w, w), _mm256_sign_epi8(xs, w))
                                    }
                                };
                                let scale = _mm256_set1_ps(per_row[r]);
                                *acc = _mm256_fmadd_ps(scale, $lane_sums(unsigned, signed), *acc);
                            }
                            quants = quants.add(GROUP * qb);
                            scales = scales.add(GROUP * sc);
                        }
                    }
                    let mut mins = [0.0f32; GROUP];
                    store4(&mut mins, minimums);
                    write_group(
                        out,
                        g - groups.start,
                        std::array::from_fn(|r| lane_sum(lanes(acc[r])) + mins[r]),
                    );
                }
            }
        };
    }

    kernel!(run_avx2, "avx2,fma,f16c", lane_sums);
    kernel!(
        run_vnni,
        "avx2,fma,f16c,avx512vnni,avx512vl",
        lane_sums_vnni
    );

    /// [`lane_sums`] with one VNNI instruction (exact i32 sums of 4 products, no i16 step).
    #[target_feature(enable = "avx2,fma,f16c,avx512vnni,avx512vl")]
    #[inline]
    fn lane_sums_vnni(unsigned: __m256i, signed: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(
            _mm256_setzero_si256(),
            unsigned,
            signed,
        ))
    }

    /// Eight i32 sums of 4 consecutive products `u[k] · s[k]` (`u` unsigned, `s` signed), as
    /// f32. The i16 pair sums cannot saturate for our inputs: |u| ≤ 15 (Q4) or ≤ 128 (Q8
    /// magnitudes) and |s| ≤ 127, so a pair is at most 2 · 128 · 127 < 32768.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn lane_sums(unsigned: __m256i, signed: __m256i) -> __m256 {
        let pairs = _mm256_maddubs_epi16(unsigned, signed);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn lanes(acc: __m256) -> [f32; 8] {
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` has room for the 8 stored values.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        lanes
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn store4(into: &mut [f32; GROUP], values: __m128) {
        // SAFETY: `into` has room for the 4 stored values.
        unsafe { _mm_storeu_ps(into.as_mut_ptr(), values) };
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
        // The add-and-subtract rounding equals round-half-to-even over the whole i8 range,
        // ties and their nearest neighbours included.
        for step in -1020..=1020 {
            let tie = step as f32 * 0.125;
            for y in [tie.next_down(), tie, tie.next_up()] {
                assert_eq!((y + ROUNDER) - ROUNDER, y.round_ties_even(), "{y}");
            }
        }
    }

    /// Every instruction set this CPU has gives the portable kernel's bits.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_simd_variant_gives_the_portable_bits() {
        if !(std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c"))
        {
            eprintln!("no AVX2/FMA/F16C: only the portable kernel runs here");
            return;
        }
        let vnni = std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512vl");
        let (rows, cols) = (10, 128); // 10 rows: two full groups and a padded one
        let mut state = 12345u64;
        let mut byte = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 33) as u8
        };
        let x: Vec<f32> = (0..cols)
            .map(|i| (f32::from(byte()) - 128.0) * 0.01 * (1.0 + i as f32 / 50.0))
            .collect();
        let xq = Q8Row::quantize(&x);
        for (kind, tag) in [
            (GgmlType::Q4_1, avx2::Q4_1),
            (GgmlType::Q4_0, avx2::Q4_0),
            (GgmlType::Q8_0, avx2::Q8_0),
        ] {
            let (_, block_bytes) = kind.block();
            let mut data: Vec<u8> = (0..rows * cols / QK * block_bytes)
                .map(|_| byte())
                .collect();
            for block in data.chunks_exact_mut(block_bytes) {
                // Finite scales/minimums around 0.01.
                block[0] = 0x1f;
                block[1] = 0x20 | (block[1] & 0x03);
                if kind == GgmlType::Q4_1 {
                    block[2] = 0x1f;
                    block[3] = 0xa0 | (block[3] & 0x03);
                }
            }
            let packed = Packed::pack(kind, rows, cols, &data);
            for row in 0..rows {
                let start = row * cols / QK * block_bytes;
                assert_eq!(
                    packed.gguf_row(row),
                    &data[start..start + cols / QK * block_bytes]
                );
            }
            let mut portable = vec![0.0f32; rows];
            matvec_portable(&packed, &xq, 0, &mut portable);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let mut plain = vec![0.0f32; rows];
            let run = match tag {
                avx2::Q4_1 => avx2::run_avx2::<{ avx2::Q4_1 }>,
                avx2::Q4_0 => avx2::run_avx2::<{ avx2::Q4_0 }>,
                _ => avx2::run_avx2::<{ avx2::Q8_0 }>,
            };
            // SAFETY: AVX2, FMA and F16C checked above.
            unsafe { run(&packed, &xq, 0, &mut plain) };
            assert_eq!(bits(&plain), bits(&portable), "{kind:?}: AVX2 vs portable");
            if vnni {
                let mut fast = vec![0.0f32; rows];
                let run = match tag {
                    avx2::Q4_1 => avx2::run_vnni::<{ avx2::Q4_1 }>,
                    avx2::Q4_0 => avx2::run_vnni::<{ avx2::Q4_0 }>,
                    _ => avx2::run_vnni::<{ avx2::Q8_0 }>,
                };
                // SAFETY: AVX-512 VNNI/VL checked above.
                unsafe { run(&packed, &xq, 0, &mut fast) };
                assert_eq!(bits(&fast), bits(&portable), "{kind:?}: VNNI vs portable");
            }
            assert!(
                portable.iter().all(|v| v.is_finite() && *v != 0.0),
                "{kind:?}: {portable:?}"
            );
        }
    }
}
