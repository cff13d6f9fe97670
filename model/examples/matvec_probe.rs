//! Where decode time goes: one model's decode step vs the same matrix-vector products alone.
//!
//!   cargo run -p ghostline-model --example matvec_probe -- [MODEL_PATH]
//!
//! For a GGUF model, first compares decode from its quantized blocks with decode from the f32
//! weights (same run). Prints the (f32) decode step of MODEL_PATH (a .gguf or model directory; default: the 135M-shaped
//! random config), then each decode-shaped product `[1, k] · [k, n]` run alone: once reusing one
//! weight (it stays in cache) and once cycling through 30 distinct weights (like 30 layers).
use std::time::Instant;

use burn::tensor::module::linear;
use burn::tensor::{Device, Distribution, Tensor};
use ghostline_model::{Engine, LoadOptions, bench};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    let timing = match std::env::args().nth(1) {
        Some(path) => {
            let mut engine = Engine::load(std::path::Path::new(&path), &LoadOptions::default())?;
            if engine.model().has_quantized_decode() {
                // Before/after in one run: decode from the quantized blocks, then from f32.
                let quantized = engine.forward_timing(16, 32)?;
                engine.drop_quantized_decode();
                let dense = engine.forward_timing(16, 32)?;
                println!(
                    "decode from quantized blocks: {:.1} ms ({:.2} tok/s); from f32 weights: {:.1} ms ({:.2} tok/s)",
                    quantized.decode_ms / 32.0,
                    quantized.decode_tokens_per_s,
                    dense.decode_ms / 32.0,
                    dense.decode_tokens_per_s
                );
            }
            engine.forward_timing(1, 32)?
        }
        None => {
            let config = bench::config_135m();
            let model = config.init(&device);
            bench::time_forward(&model, &config, &device, 1, 32)?
        }
    };
    println!(
        "decode step: {:.1} ms ({:.1} tok/s)",
        timing.decode_ms / timing.decode_tokens as f64,
        timing.decode_tokens_per_s
    );
    let mut per_layer = [0.0f64; 2];
    for (k, n) in [
        (576, 960),
        (576, 576),
        (576, 3072),
        (1536, 576),
        (576, 49152),
    ] {
        let copies = if n > 10_000 { 1 } else { 30 };
        let weights: Vec<Tensor<2>> = (0..copies)
            .map(|_| Tensor::<2>::random([k, n], Distribution::Default, &device))
            .collect();
        let x = Tensor::<3>::random([1, 1, k], Distribution::Default, &device);
        let time = |distinct: bool| {
            let reps = if n > 10_000 { 5 } else { 60 };
            let started = Instant::now();
            for i in 0..reps {
                let w = &weights[if distinct { i % copies } else { 0 }];
                let _ = linear(x.clone(), w.clone(), None).into_data();
            }
            started.elapsed().as_secs_f64() / reps as f64
        };
        let (hot, cold) = (time(false), time(true));
        if n < 10_000 {
            per_layer[0] += hot;
            per_layer[1] += cold;
        }
        let gbs = |s: f64| (k * n * 4) as f64 / s / 1e9;
        println!(
            "[1,{k}]x[{k},{n}]: one weight {:7.3} ms ({:4.1} GB/s); 30 weights {:7.3} ms ({:4.1} GB/s)",
            hot * 1e3,
            gbs(hot),
            cold * 1e3,
            gbs(cold)
        );
    }
    println!(
        "one layer's 4 products: {:.2} ms (one weight), {:.2} ms (30 weights)",
        per_layer[0] * 1e3,
        per_layer[1] * 1e3
    );
    Ok(())
}
