//! Safetensors checkpoint reading (`model/src/checkpoint.rs`): arbitrary bytes, and valid
//! checkpoints for a tiny config that are then corrupted, truncated or reshaped, against
//! configs that match or do not. Every outcome is a tensor of the promised size or an error.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use ghostline_fuzz::checkpoint::Checkpoint;
use ghostline_fuzz::config::LlamaConfig;
use ghostline_fuzz::import::hf_tensor_specs;
use libfuzzer_sys::fuzz_target;
use safetensors::{Dtype, tensor::TensorView};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Picks the config the checkpoint is read with.
    config: u8,
    /// Picks the config the checkpoint was written for (so they may mismatch).
    written_for: u8,
    dtype: u8,
    structured: bool,
    /// (byte index, new byte) corruptions, then a truncation point.
    corrupt: Vec<(u16, u8)>,
    truncate: Option<u16>,
    drop_tensor: Option<u8>,
    raw: Vec<u8>,
}

fn config(selector: u8) -> LlamaConfig {
    let mut config = match selector % 4 {
        0 => LlamaConfig::new(8, 4, 6, 1, 2, 1),
        1 => LlamaConfig::new(8, 4, 6, 2, 2, 2),
        2 => LlamaConfig::new(5, 8, 4, 1, 4, 2),
        _ => LlamaConfig::new(8, 4, 6, 1, 2, 1),
    };
    config.tie_word_embeddings = selector % 4 == 3;
    config.attention_bias = selector & 4 != 0;
    config
}

fn checkpoint_bytes(config: &LlamaConfig, dtype: u8, drop: Option<u8>) -> Vec<u8> {
    let (dtype, width) = match dtype % 3 {
        0 => (Dtype::F32, 4),
        1 => (Dtype::F16, 2),
        _ => (Dtype::BF16, 2),
    };
    let specs = hf_tensor_specs(config);
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = specs
        .iter()
        .enumerate()
        .filter(|(index, _)| drop.map(usize::from) != Some(*index))
        .map(|(index, spec)| {
            let n: usize = spec.shape.iter().product();
            let bytes = (0..n * width).map(|i| (i + index) as u8).collect();
            (spec.name.clone(), bytes, spec.shape.clone())
        })
        .collect();
    let views: HashMap<String, TensorView> = data
        .iter()
        .map(|(name, bytes, shape)| {
            (
                name.clone(),
                TensorView::new(dtype, shape.clone(), bytes).expect("consistent view"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let config = config(input.config);
    let mut bytes = if input.structured {
        checkpoint_bytes(
            &self::config(input.written_for),
            input.dtype,
            input.drop_tensor,
        )
    } else {
        input.raw
    };
    if !bytes.is_empty() {
        for (at, byte) in input.corrupt {
            let at = usize::from(at) % bytes.len();
            bytes[at] = byte;
        }
    }
    if let Some(at) = input.truncate {
        bytes.truncate(usize::from(at));
    }
    let path = Path::new("model.safetensors");
    let Ok(checkpoint) = Checkpoint::parse(&config, &bytes, path) else {
        return;
    };
    for spec in hf_tensor_specs(&config) {
        if let Ok(values) = checkpoint.fetch(spec.slot) {
            assert_eq!(
                values.len(),
                spec.shape.iter().product::<usize>(),
                "{}",
                spec.name
            );
        }
    }
});
