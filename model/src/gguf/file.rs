//! The GGUF container: header, metadata key/values, tensor infos and the aligned data section.
//!
//! Layout (little-endian): `"GGUF"`, `u32` version, `u64` tensor count, `u64` metadata count,
//! the metadata (`string` key, `u32` type, value), the tensor infos (`string` name, `u32` n_dims,
//! `u64` dims — `ne[0]` is the contiguous one —, `u32` ggml type, `u64` offset into the data
//! section), padding to `general.alignment` (default 32), then the tensor data. Strings are a
//! `u64` length and UTF-8 bytes. Every length is checked against the bytes that remain before
//! anything is allocated, so a corrupt count is an error, not an out-of-memory abort.

use std::collections::BTreeMap;

use super::GgufError;
use super::dequant::{GgmlType, dequantize};

/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: usize = 32;

/// Most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
const MAX_DIMS: usize = 4;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Type 0.
    U8(u8),
    /// Type 1.
    I8(i8),
    /// Type 2.
    U16(u16),
    /// Type 3.
    I16(i16),
    /// Type 4.
    U32(u32),
    /// Type 5.
    I32(i32),
    /// Type 6.
    F32(f32),
    /// Type 7.
    Bool(bool),
    /// Type 8.
    String(String),
    /// Type 9: elements of one type.
    Array(Vec<MetaValue>),
    /// Type 10.
    U64(u64),
    /// Type 11.
    I64(i64),
    /// Type 12.
    F64(f64),
}

impl MetaValue {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float (any numeric type).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(items) => Some(items),
            _ => None,
        }
    }

    /// A short description for `model info` (arrays show their length, long strings are cut).
    pub fn summary(&self) -> String {
        match self {
            MetaValue::String(s) if s.chars().count() > 60 => {
                format!("{:?}…", s.chars().take(60).collect::<String>())
            }
            MetaValue::String(s) => format!("{s:?}"),
            MetaValue::Array(items) => format!("[{} items]", items.len()),
            MetaValue::Bool(v) => v.to_string(),
            MetaValue::F32(v) => v.to_string(),
            MetaValue::F64(v) => v.to_string(),
            other => other
                .as_u64()
                .map(|v| v.to_string())
                .unwrap_or_else(|| format!("{other:?}")),
        }
    }
}

/// Where one tensor lives and how it is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in GGUF order: `dims[0]` (ggml `ne[0]`) is the contiguous one, so a
    /// row-major `[rows, cols]` matrix is stored as `[cols, rows]`.
    pub dims: Vec<usize>,
    /// Encoding.
    pub kind: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: usize,
    /// Byte length (checked to lie inside the file).
    pub n_bytes: usize,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file over borrowed bytes (usually a memory map).
#[derive(Debug)]
pub struct GgufFile<'a> {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata, sorted by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the data section and of every tensor offset.
    pub alignment: usize,
    data: &'a [u8],
}

impl<'a> GgufFile<'a> {
    /// Parses the header, metadata and tensor infos and checks every tensor's extent.
    pub fn parse(bytes: &'a [u8]) -> Result<GgufFile<'a>, GgufError> {
        let mut reader = Reader { bytes, pos: 0 };
        let magic = reader.take(4, "magic")?;
        if magic != b"GGUF" {
            return Err(GgufError::BadMagic {
                found: [magic[0], magic[1], magic[2], magic[3]],
            });
        }
        let version = reader.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = reader.count("tensor count", 8 + 4 + 4 + 8 + 8)?;
        let n_metadata = reader.count("metadata count", 8 + 4)?;

        let mut metadata = BTreeMap::new();
        for _ in 0..n_metadata {
            let key = reader.string("metadata key")?;
            let tag = reader.u32("metadata value type")?;
            let value = reader.value(tag, &key, 0)?;
            metadata.insert(key, value);
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(value) => match value.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a as usize,
                _ => {
                    return Err(GgufError::BadKey {
                        key: "general.alignment".into(),
                        message: format!("{value:?} is not a power of two"),
                    });
                }
            },
        };

        let mut raw = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = reader.string("tensor name")?;
            let n_dims = reader.u32("tensor dimension count")? as usize;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::BadTensor {
                    name,
                    message: format!("{n_dims} dimensions (1 to {MAX_DIMS} allowed)"),
                });
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                dims.push(reader.u64("tensor dimension")?);
            }
            let tag = reader.u32("tensor type")?;
            let offset = reader.u64("tensor offset")?;
            raw.push((name, dims, tag, offset));
        }
        let data_start = reader.pos.div_ceil(alignment) * alignment;
        let data = bytes.get(data_start..).unwrap_or(&[]);

        let mut tensors = Vec::with_capacity(raw.len());
        for (name, dims, tag, offset) in raw {
            tensors.push(check_tensor(
                name,
                dims,
                tag,
                offset,
                alignment,
                data.len(),
            )?);
        }
        Ok(GgufFile {
            version,
            metadata,
            tensors,
            alignment,
            data,
        })
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// A tensor's info by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor (in range: checked by [`GgufFile::parse`]).
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &'a [u8] {
        &self.data[info.offset..info.offset + info.n_bytes]
    }

    /// A tensor's values as f32, in storage order (`ne[0]` fastest).
    pub fn dequantize(&self, info: &TensorInfo) -> Result<Vec<f32>, GgufError> {
        dequantize(info.kind, self.tensor_bytes(info), info.n_elements()).map_err(|message| {
            GgufError::BadTensor {
                name: info.name.clone(),
                message,
            }
        })
    }

    /// Total parameter count over all tensors.
    pub fn n_elements(&self) -> usize {
        self.tensors.iter().map(TensorInfo::n_elements).sum()
    }
}

/// Validates one tensor info against the data section.
fn check_tensor(
    name: String,
    dims: Vec<u64>,
    tag: u32,
    offset: u64,
    alignment: usize,
    data_len: usize,
) -> Result<TensorInfo, GgufError> {
    let bad = |message: String| GgufError::BadTensor {
        name: name.clone(),
        message,
    };
    let kind = GgmlType::from_tag(tag).ok_or_else(|| GgufError::UnsupportedType {
        name: name.clone(),
        kind: GgmlType::name_of_tag(tag),
    })?;
    let dims: Vec<usize> = dims
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| bad(format!("bad dimensions {dims:?}")))?;
    let n_elements = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
    let (block, block_bytes) = kind.block();
    if !dims[0].is_multiple_of(block) {
        return Err(bad(format!(
            "first dimension {} is not a multiple of the {kind:?} block size {block}",
            dims[0]
        )));
    }
    let n_bytes = (n_elements / block)
        .checked_mul(block_bytes)
        .ok_or_else(|| bad("byte size overflows".into()))?;
    let offset = usize::try_from(offset).map_err(|_| bad(format!("offset {offset} too large")))?;
    if !offset.is_multiple_of(alignment) {
        return Err(bad(format!(
            "offset {offset} is not a multiple of the alignment {alignment}"
        )));
    }
    if offset.checked_add(n_bytes).is_none_or(|end| end > data_len) {
        return Err(bad(format!(
            "data {offset}..{} lies outside the data section ({data_len} bytes): truncated file?",
            offset.saturating_add(n_bytes)
        )));
    }
    Ok(TensorInfo {
        name,
        dims,
        kind,
        offset,
        n_bytes,
    })
}

/// Arrays inside arrays deeper than this are rejected (the format allows nesting; files use 1).
const MAX_NESTING: usize = 4;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], GgufError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(slice)
            }
            None => Err(GgufError::Truncated {
                what: what.to_string(),
                offset: self.pos,
                needed: n,
                len: self.bytes.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A `u64` count of items that each take at least `min_item_bytes`: more than the rest of
    /// the file could hold is reported as truncation before anything is allocated.
    fn count(&mut self, what: &str, min_item_bytes: usize) -> Result<usize, GgufError> {
        let at = self.pos;
        let n = self.u64(what)?;
        let remaining = self.bytes.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(min_item_bytes) <= remaining => Ok(n),
            _ => Err(GgufError::Truncated {
                what: format!("{what} {n}"),
                offset: at,
                needed: usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(min_item_bytes),
                len: self.bytes.len(),
            }),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let len = self.count(what, 1)?;
        let at = self.pos;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::BadString {
            what: what.to_string(),
            offset: at,
        })
    }

    fn value(&mut self, tag: u32, key: &str, depth: usize) -> Result<MetaValue, GgufError> {
        let what = format!("value of `{key}`");
        Ok(match tag {
            0 => MetaValue::U8(self.array::<1>(&what)?[0]),
            1 => MetaValue::I8(i8::from_le_bytes(self.array(&what)?)),
            2 => MetaValue::U16(u16::from_le_bytes(self.array(&what)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.array(&what)?)),
            4 => MetaValue::U32(self.u32(&what)?),
            5 => MetaValue::I32(i32::from_le_bytes(self.array(&what)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.array(&what)?)),
            7 => MetaValue::Bool(self.array::<1>(&what)?[0] != 0),
            8 => MetaValue::String(self.string(&what)?),
            9 if depth < MAX_NESTING => {
                let element = self.u32(&what)?;
                let n = self.count(&what, element_min_bytes(element))?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(element, key, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::U64(self.u64(&what)?),
            11 => MetaValue::I64(i64::from_le_bytes(self.array(&what)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.array(&what)?)),
            tag => {
                return Err(GgufError::BadValueType {
                    key: key.to_string(),
                    tag,
                });
            }
        })
    }
}

/// Fewest bytes one array element of type `tag` occupies (bounds preallocation).
fn element_min_bytes(tag: u32) -> usize {
    match tag {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => 1,
    }
}
