//! Cached == full-sequence == token-by-token logits on seeded weights (flex), plus cache limits.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{host, max_abs_diff, tiny_config};
use ghostline_model::{KvCache, Llama, ModelError};

const TOLERANCE: f32 = 1e-4;

fn ids() -> Vec<u32> {
    vec![5, 17, 3, 60, 42, 42, 7, 1, 0, 33, 12, 58]
}

#[test]
fn cached_equals_full_sequence_equals_token_by_token() {
    let device = Device::flex();
    let config = tiny_config(64);
    let model = config.init_seeded(&device, 7);
    let ids = ids();
    let n = ids.len();
    let vocab = config.vocab_size;

    let full = host(model.forward(Llama::tokens_tensor(&ids, &device))); // [1, n, vocab]

    // Token by token through the cache.
    let mut cache = KvCache::new(&config, 1, 64, &device);
    for (position, id) in ids.iter().enumerate() {
        let step = host(
            model
                .forward_cached(Llama::tokens_tensor(&[*id], &device), &[*id], &mut cache)
                .unwrap(),
        );
        let expected = &full[position * vocab..(position + 1) * vocab];
        let diff = max_abs_diff(&step, expected);
        assert!(
            diff < TOLERANCE,
            "token-by-token position {position}: max diff {diff}"
        );
    }
    assert_eq!(cache.len(), n);
    assert_eq!(cache.tokens(), ids.as_slice());

    // Chunked prefill (5 + 7 positions) returning every position's logits.
    let mut cache = KvCache::new(&config, 1, 64, &device);
    let first = host(
        model
            .forward_cached_all(
                Llama::tokens_tensor(&ids[..5], &device),
                &ids[..5],
                &mut cache,
            )
            .unwrap(),
    );
    let second = host(
        model
            .forward_cached_all(
                Llama::tokens_tensor(&ids[5..], &device),
                &ids[5..],
                &mut cache,
            )
            .unwrap(),
    );
    let chunked: Vec<f32> = first.into_iter().chain(second).collect();
    let diff = max_abs_diff(&chunked, &full);
    assert!(diff < TOLERANCE, "chunked prefill: max diff {diff}");

    // Truncating the cache and re-running a different continuation matches a fresh full pass.
    cache.truncate(4);
    let other_tail = [9u32, 8, 7];
    let resumed = host(
        model
            .forward_cached_all(
                Llama::tokens_tensor(&other_tail, &device),
                &other_tail,
                &mut cache,
            )
            .unwrap(),
    );
    let mut other: Vec<u32> = ids[..4].to_vec();
    other.extend(other_tail);
    let fresh = host(model.forward(Llama::tokens_tensor(&other, &device)));
    let diff = max_abs_diff(&resumed, &fresh[4 * vocab..]);
    assert!(
        diff < TOLERANCE,
        "prefix reuse after truncate: max diff {diff}"
    );
    assert_eq!(cache.shared_prefix(&other), other.len());
}

#[test]
fn batched_forward_matches_single_rows() {
    let device = Device::flex();
    let config = tiny_config(64);
    let model = config.init_seeded(&device, 3);
    let rows = [vec![1i64, 2, 3, 4, 5, 6], vec![60, 50, 40, 30, 20, 10]];
    let data: Vec<i64> = rows.iter().flatten().copied().collect();
    let batch = host(model.forward(Tensor::<2, Int>::from_data(
        TensorData::new(data, [2, 6]),
        &device,
    )));
    let half = batch.len() / 2;
    for (row, expected) in rows.iter().zip([&batch[..half], &batch[half..]]) {
        let ids: Vec<u32> = row.iter().map(|&v| v as u32).collect();
        let single = host(model.forward(Llama::tokens_tensor(&ids, &device)));
        assert!(max_abs_diff(&single, expected) < TOLERANCE);
    }
}

#[test]
fn repeated_kv_path_matches_native_grouped_query_path() {
    // The autodiff device uses the generic attention (keys/values repeated per query group);
    // plain flex uses its native grouped-query kernel. Both must agree.
    let config = tiny_config(64);
    let plain = config.init_seeded(&Device::flex(), 11);
    let autodiff_device = Device::flex().autodiff();
    let trainable = config.init_seeded(&autodiff_device, 11);
    let ids = ids();
    let a = host(plain.forward(Llama::tokens_tensor(&ids, &Device::flex())));
    let b = host(trainable.forward(Llama::tokens_tensor(&ids, &autodiff_device)));
    let diff = max_abs_diff(&a, &b);
    assert!(diff < TOLERANCE, "native vs repeated kv: {diff}");
}

#[test]
fn chunked_cache_on_the_generic_attention_path_matches_full_forward() {
    // On an autodiff device attention takes the generic path: repeated kv heads and, for a
    // chunk that continues the cache, an explicit causal mask.
    let device = Device::flex().autodiff();
    let config = tiny_config(64);
    let model = config.init_seeded(&device, 17);
    let ids = ids();
    let full = host(model.forward(Llama::tokens_tensor(&ids, &device)));
    let mut cache = KvCache::new(&config, 1, 32, &device);
    let mut chunked = Vec::new();
    for chunk in [&ids[..3], &ids[3..8], &ids[8..9], &ids[9..]] {
        chunked.extend(host(
            model
                .forward_cached_all(Llama::tokens_tensor(chunk, &device), chunk, &mut cache)
                .unwrap(),
        ));
    }
    let diff = max_abs_diff(&chunked, &full);
    assert!(diff < TOLERANCE, "generic path chunked vs full: {diff}");
}

#[test]
fn training_forward_backpropagates_to_every_layer() {
    let device = Device::flex().autodiff();
    let config = tiny_config(64);
    let model = config.init_seeded(&device, 1);
    let logits = model.forward(Llama::tokens_tensor(&ids(), &device));
    let loss = logits.square().mean();
    let grads = loss.backward();
    let embed_grad = model
        .embedding_weight()
        .grad(&grads)
        .expect("embedding has a gradient");
    assert!(host(embed_grad.abs().sum())[0] > 0.0);
}

#[test]
fn overflowing_the_cache_is_a_typed_error() {
    let device = Device::flex();
    let config = tiny_config(64);
    let model = config.init_seeded(&device, 2);
    let mut cache = KvCache::new(&config, 1, 4, &device);
    let ids = [1u32, 2, 3];
    model
        .forward_cached(Llama::tokens_tensor(&ids, &device), &ids, &mut cache)
        .unwrap();
    let err = model
        .forward_cached(Llama::tokens_tensor(&ids, &device), &ids, &mut cache)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::CacheOverflow {
                needed: 6,
                capacity: 4
            }
        ),
        "{err}"
    );
    // The failed call left the cache untouched.
    assert_eq!(cache.len(), 3);
}

#[test]
fn q8_decode_from_float_weights_stays_close_to_f32_and_prefill_is_unchanged() {
    let device = Device::flex();
    let config = tiny_config(64); // d_model 32, MLP 64: whole 32-value blocks
    let exact = config.init_seeded(&device, 11);
    let mut blocks = config.init_seeded(&device, 11);
    assert!(!blocks.has_quantized_decode());
    assert!(blocks.attach_q8_decode(), "every width is a multiple of 32");
    assert!(blocks.has_quantized_decode());
    let ids = ids();

    // Prefill (several positions at once, every position's logits) still multiplies by the
    // float weights.
    let prompt = &ids[..6];
    let mut cache_exact = KvCache::new(&config, 1, 64, &device);
    let mut cache_blocks = KvCache::new(&config, 1, 64, &device);
    let a = host(
        exact
            .forward_cached_all(Llama::tokens_tensor(prompt, &device), prompt, &mut cache_exact)
            .unwrap(),
    );
    let b = host(
        blocks
            .forward_cached_all(Llama::tokens_tensor(prompt, &device), prompt, &mut cache_blocks)
            .unwrap(),
    );
    assert_eq!(a, b, "prefill must not use the blocks");

    // Decode steps use the blocks: close to f32 (8-bit weights and activations), not equal.
    let mut largest_diff = 0.0f32;
    for &id in &ids[6..] {
        let a = host(
            exact
                .forward_cached(Llama::tokens_tensor(&[id], &device), &[id], &mut cache_exact)
                .unwrap(),
        );
        let b = host(
            blocks
                .forward_cached(Llama::tokens_tensor(&[id], &device), &[id], &mut cache_blocks)
                .unwrap(),
        );
        let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&a, &b);
        assert!(diff <= 0.05 * scale, "decode: max diff {diff} vs logit scale {scale}");
        largest_diff = largest_diff.max(diff);
    }
    assert!(largest_diff > 0.0, "decode steps did not use the 8-bit blocks");

    // Dropping them restores the exact f32 decode.
    blocks.drop_quantized_decode();
    assert!(!blocks.has_quantized_decode());
}
