//! ggml tensor encodings → f32.
//!
//! Block formats (32 values per block, little-endian, ggml's `block_q*` structs):
//! - `Q8_0`: f16 scale `d`, 32 × i8 `q`: `x = d · q` (34 bytes).
//! - `Q4_0`: f16 `d`, 16 bytes of nibbles: value `j` is the low nibble of byte `j` and value
//!   `j + 16` the high nibble; `x = d · (nibble − 8)` (18 bytes).
//! - `Q4_1`: f16 `d`, f16 minimum `m`, 16 bytes of nibbles in the same order: `x = d · nibble + m`
//!   (20 bytes).

use half::{bf16, f16};

/// The tensor encodings this loader reads (ggml's `ggml_type` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 0
    F32,
    /// 1
    F16,
    /// 2
    Q4_0,
    /// 3
    Q4_1,
    /// 8
    Q8_0,
    /// 30
    BF16,
}

/// Values per quantization block.
pub const QK: usize = 32;

impl GgmlType {
    /// The type for a `ggml_type` number, if supported.
    pub fn from_tag(tag: u32) -> Option<GgmlType> {
        Some(match tag {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            8 => GgmlType::Q8_0,
            30 => GgmlType::BF16,
            _ => return None,
        })
    }

    /// ggml's name for a type number, for error messages (also for types we do not read).
    pub fn name_of_tag(tag: u32) -> String {
        const NAMES: [&str; 31] = [
            "F32",
            "F16",
            "Q4_0",
            "Q4_1",
            "Q4_2 (removed)",
            "Q4_3 (removed)",
            "Q5_0",
            "Q5_1",
            "Q8_0",
            "Q8_1",
            "Q2_K",
            "Q3_K",
            "Q4_K",
            "Q5_K",
            "Q6_K",
            "Q8_K",
            "IQ2_XXS",
            "IQ2_XS",
            "IQ3_XXS",
            "IQ1_S",
            "IQ4_NL",
            "IQ3_S",
            "IQ2_S",
            "IQ4_XS",
            "I8",
            "I16",
            "I32",
            "I64",
            "F64",
            "IQ1_M",
            "BF16",
        ];
        NAMES
            .get(tag as usize)
            .map(|name| name.to_string())
            .unwrap_or_else(|| format!("#{tag}"))
    }

    /// ggml's name of this type.
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::BF16 => "BF16",
        }
    }

    /// `(values per block, bytes per block)`.
    pub fn block(self) -> (usize, usize) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 | GgmlType::BF16 => (1, 2),
            GgmlType::Q4_0 => (QK, 2 + QK / 2),
            GgmlType::Q4_1 => (QK, 4 + QK / 2),
            GgmlType::Q8_0 => (QK, 2 + QK),
        }
    }
}

/// Decodes `n` values of type `kind` from `bytes` (which must be exactly their size).
pub fn dequantize(kind: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>, String> {
    let (block, block_bytes) = kind.block();
    if !n.is_multiple_of(block) || n / block * block_bytes != bytes.len() {
        return Err(format!(
            "{} values of {kind:?} need {} bytes, found {}",
            n,
            n.div_ceil(block) * block_bytes,
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(n);
    let half_at = |b: &[u8], i: usize| f16::from_le_bytes([b[i], b[i + 1]]).to_f32();
    match kind {
        GgmlType::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        GgmlType::F16 => out.extend(bytes.chunks_exact(2).map(|b| half_at(b, 0))),
        GgmlType::BF16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        GgmlType::Q8_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                out.extend(b[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
        }
        GgmlType::Q4_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                let nibbles = &b[2..];
                out.extend(nibbles.iter().map(|&q| d * (f32::from(q & 0x0f) - 8.0)));
                out.extend(nibbles.iter().map(|&q| d * (f32::from(q >> 4) - 8.0)));
            }
        }
        GgmlType::Q4_1 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                let m = half_at(b, 2);
                let nibbles = &b[4..];
                out.extend(nibbles.iter().map(|&q| d * f32::from(q & 0x0f) + m));
                out.extend(nibbles.iter().map(|&q| d * f32::from(q >> 4) + m));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q8_0_block_is_scale_times_signed_bytes() {
        // d = 0.5; q = 0, 1, -1, 2, -2, ..., then 127 and -128 at the end.
        let mut block = h(0.5).to_vec();
        let q: Vec<i8> = (0..30)
            .map(|i| if i % 2 == 0 { i / 2 } else { -(i / 2) - 1 })
            .chain([127, -128])
            .collect();
        block.extend(q.iter().map(|&v| v as u8));
        let values = dequantize(GgmlType::Q8_0, &block, 32).unwrap();
        assert_eq!(&values[..5], &[0.0, -0.5, 0.5, -1.0, 1.0]);
        assert_eq!(values[30], 63.5);
        assert_eq!(values[31], -64.0);
    }

    #[test]
    fn q4_0_block_puts_low_nibbles_first_and_centres_on_8() {
        // d = 2; byte j = (high = 15 - j%16, low = j%16).
        let mut block = h(2.0).to_vec();
        block.extend((0..16u8).map(|j| ((15 - j) << 4) | j));
        let values = dequantize(GgmlType::Q4_0, &block, 32).unwrap();
        // Low nibbles 0..15 → (j - 8) * 2 for positions 0..16.
        assert_eq!(values[0], -16.0);
        assert_eq!(values[8], 0.0);
        assert_eq!(values[15], 14.0);
        // High nibbles 15..0 → positions 16..32.
        assert_eq!(values[16], 14.0);
        assert_eq!(values[31], -16.0);
    }

    #[test]
    fn q4_1_block_is_scale_times_nibble_plus_minimum() {
        // d = 0.25, m = -1; byte 0 = 0x5A (low 10, high 5), byte 15 = 0xF0 (low 0, high 15).
        let mut block = h(0.25).to_vec();
        block.extend(h(-1.0));
        let mut nibbles = [0u8; 16];
        nibbles[0] = 0x5A;
        nibbles[15] = 0xF0;
        block.extend(nibbles);
        let values = dequantize(GgmlType::Q4_1, &block, 32).unwrap();
        assert_eq!(values[0], 10.0 * 0.25 - 1.0);
        assert_eq!(values[16], 5.0 * 0.25 - 1.0);
        assert_eq!(values[15], -1.0);
        assert_eq!(values[31], 15.0 * 0.25 - 1.0);
        assert_eq!(values[1], -1.0);
    }

    #[test]
    fn two_blocks_decode_in_order() {
        let mut bytes = h(1.0).to_vec();
        bytes.extend([1u8; 32]);
        bytes.extend(h(-1.0));
        bytes.extend([3u8; 32]);
        let values = dequantize(GgmlType::Q8_0, &bytes, 64).unwrap();
        assert_eq!(values[31], 1.0);
        assert_eq!(values[32], -3.0);
    }

    #[test]
    fn float_types_decode() {
        let f32s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            dequantize(GgmlType::F32, &f32s, 2).unwrap(),
            vec![1.5, -2.0]
        );
        let f16s: Vec<u8> = [h(0.5), h(-3.0)].concat();
        assert_eq!(
            dequantize(GgmlType::F16, &f16s, 2).unwrap(),
            vec![0.5, -3.0]
        );
        // bf16 is the top half of an f32: 1.0 = 0x3F80, -2.5 = 0xC020.
        let bf16s = [0x80, 0x3F, 0x20, 0xC0];
        assert_eq!(
            dequantize(GgmlType::BF16, &bf16s, 2).unwrap(),
            vec![1.0, -2.5]
        );
    }

    #[test]
    fn wrong_sizes_are_errors() {
        assert!(dequantize(GgmlType::Q4_1, &[0u8; 19], 32).is_err());
        assert!(dequantize(GgmlType::Q8_0, &[0u8; 34], 31).is_err());
        assert!(dequantize(GgmlType::F16, &[0u8; 3], 2).is_err());
    }

    #[test]
    fn type_names_cover_unsupported_tags() {
        assert_eq!(GgmlType::name_of_tag(12), "Q4_K");
        assert_eq!(GgmlType::name_of_tag(99), "#99");
        assert_eq!(GgmlType::from_tag(30), Some(GgmlType::BF16));
        assert_eq!(GgmlType::from_tag(12), None);
    }
}
