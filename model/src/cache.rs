//! The key/value cache, kept outside the module (never saved, never trained).
//!
//! Each layer owns two preallocated buffers `[batch, n_kv_heads, capacity, head_dim]`. New
//! keys/values are written in place at their absolute positions (`slice_assign` on a uniquely
//! owned buffer does not copy), and attention reads the `0..len` window. The cache also
//! remembers which token ids fill it, so a new prompt that shares a prefix with the previous
//! one (the normal case while typing) only computes the positions after the shared prefix.

use burn::tensor::{Device, Tensor};

use crate::config::LlamaConfig;
use crate::error::ModelError;

/// One layer's cached keys and values.
#[derive(Debug)]
pub struct LayerCache {
    /// `[batch, n_kv_heads, capacity, head_dim]`; `None` only transiently inside `append`.
    key: Option<Tensor<4>>,
    /// `[batch, n_kv_heads, capacity, head_dim]`
    value: Option<Tensor<4>>,
}

impl LayerCache {
    /// Writes `key`/`value` (`[batch, n_kv_heads, seq, head_dim]`) at positions
    /// `start..start+seq` and returns the cached window `0..start+seq`.
    ///
    /// Capacity was checked by [`KvCache::check_room`] before the forward pass.
    pub(crate) fn append(
        &mut self,
        key: Tensor<4>,
        value: Tensor<4>,
        start: usize,
    ) -> (Tensor<4>, Tensor<4>) {
        let [batch, heads, seq, head_dim] = key.dims();
        let end = start + seq;
        let ranges = [0..batch, 0..heads, start..end, 0..head_dim];
        let key_buffer = self
            .key
            .take()
            .expect("cache buffer present")
            .slice_assign(ranges.clone(), key);
        let value_buffer = self
            .value
            .take()
            .expect("cache buffer present")
            .slice_assign(ranges, value);
        let key_window = key_buffer.clone().narrow(2, 0, end);
        let value_window = value_buffer.clone().narrow(2, 0, end);
        self.key = Some(key_buffer);
        self.value = Some(value_buffer);
        (key_window, value_window)
    }
}

/// Keys/values of every layer for up to `capacity` positions, plus the token ids they encode.
///
/// Invariant: `tokens.len() == len` — positions `0..len` of every layer hold the keys/values
/// of `tokens` (for batch row 0; batched decoding clears the token record).
#[derive(Debug)]
pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
    len: usize,
    capacity: usize,
    batch: usize,
    tokens: Vec<u32>,
    pub(crate) native_gqa: bool,
}

impl KvCache {
    /// An empty cache for `batch` sequences of up to `capacity` positions on `device`.
    pub fn new(config: &LlamaConfig, batch: usize, capacity: usize, device: &Device) -> Self {
        let shape = [batch, config.n_kv_heads(), capacity, config.head_dim()];
        let layers = (0..config.num_hidden_layers)
            .map(|_| LayerCache {
                key: Some(Tensor::zeros(shape, device)),
                value: Some(Tensor::zeros(shape, device)),
            })
            .collect();
        KvCache {
            layers,
            len: 0,
            capacity,
            batch,
            tokens: Vec::new(),
            native_gqa: native_gqa(device),
        }
    }

    /// Positions currently filled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions the cache can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sequences per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Token ids whose keys/values fill positions `0..len`.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Forgets positions `len..`; their buffers are overwritten by the next append.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.tokens.truncate(self.len);
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.truncate(0);
    }

    /// Errors with [`ModelError::CacheOverflow`] unless `extra` more positions fit.
    pub fn check_room(&self, extra: usize) -> Result<(), ModelError> {
        let needed = self.len + extra;
        if needed > self.capacity {
            return Err(ModelError::CacheOverflow {
                needed,
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    /// Length of the longest common prefix of `tokens` and the cached tokens.
    pub fn shared_prefix(&self, tokens: &[u32]) -> usize {
        self.tokens
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Copies positions `0..len` of this batch-1 cache into every row of `target` and sets
    /// `target`'s length to match (its token record is cleared: rows will diverge).
    pub fn copy_into_rows(&self, target: &mut KvCache) {
        let len = self.len;
        let rows = target.batch;
        for (source, destination) in self.layers.iter().zip(target.layers.iter_mut()) {
            for (from, to) in [
                (&source.key, &mut destination.key),
                (&source.value, &mut destination.value),
            ] {
                let Some(from) = from.as_ref() else { continue };
                let [_, heads, _, head_dim] = from.dims();
                let prefix = from
                    .clone()
                    .narrow(2, 0, len)
                    .expand([rows, heads, len, head_dim]);
                if let Some(buffer) = to.take() {
                    *to =
                        Some(buffer.slice_assign([0..rows, 0..heads, 0..len, 0..head_dim], prefix));
                }
            }
        }
        target.len = len;
        target.tokens.clear();
    }

    /// Records that `tokens` were appended (called by the model after a successful forward).
    pub(crate) fn advance(&mut self, tokens: &[u32], n_positions: usize) {
        self.len += n_positions;
        if self.batch == 1 && tokens.len() == n_positions {
            self.tokens.extend_from_slice(tokens);
        } else {
            // Batched rows differ; the token record only describes batch 1 caches.
            self.tokens.clear();
        }
    }
}

/// Whether `device`'s attention kernel takes fewer key/value heads than query heads directly.
///
/// burn-flex does (it indexes the shared kv head per query group); the generic fallback used
/// by autodiff and cubecl multiplies `[.., heads, ..]` by `[.., kv_heads, ..]` and needs them
/// repeated.
pub(crate) fn native_gqa(device: &Device) -> bool {
    !device.is_autodiff() && format!("{device:?}").contains("Flex")
}
