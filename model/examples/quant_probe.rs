//! Decode-step time vs the time of its quantized products alone, for a GGUF model.
//!
//!   cargo run -p ghostline-model --example quant_probe -- MODEL.gguf [STEPS]
//!
//! Runs every decode-step product of the file (per layer q, k, v, o, gate, up, down and the
//! head) straight from its blocks with `quant::QuantMatrix`, once per simulated token, and
//! compares the sum with the engine's measured decode step: the difference is what the rest
//! of the step (norms, RoPE, attention, SwiGLU, host round trips) costs.
use std::time::Instant;

use ghostline_model::gguf::GgufFile;
use ghostline_model::quant::{Q8Row, QuantMatrix};
use ghostline_model::{Engine, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: quant_probe MODEL.gguf [STEPS]")?;
    let steps: usize = std::env::args().nth(2).map_or(Ok(32), |s| s.parse())?;
    let bytes = std::fs::read(&path)?;
    let file = GgufFile::parse(&bytes)?;
    let mut matrices = Vec::new();
    for info in &file.tensors {
        if info.dims.len() != 2 {
            continue;
        }
        let (cols, rows) = (info.dims[0], info.dims[1]);
        if let Some(m) = QuantMatrix::new(info.kind, rows, cols, file.tensor_bytes(info).to_vec()) {
            matrices.push((info.name.clone(), m));
        }
    }
    let bytes_per_token: usize = matrices.iter().map(|(_, m)| m.n_bytes()).sum();
    let mut per_kind: std::collections::BTreeMap<String, f64> = Default::default();
    let started = Instant::now();
    for step in 0..steps {
        for (name, m) in &matrices {
            let x: Vec<f32> = (0..m.cols())
                .map(|i| ((i * 31 + step) % 17) as f32 - 8.0)
                .collect();
            let t = Instant::now();
            let q = Q8Row::quantize(&x);
            let mut out = vec![0.0f32; m.rows()];
            m.matvec(&q, &mut out);
            std::hint::black_box(&out);
            let kind = name.rsplit('.').nth(1).unwrap_or(name).to_string();
            *per_kind.entry(kind).or_default() += t.elapsed().as_secs_f64();
        }
    }
    let products = started.elapsed().as_secs_f64() / steps as f64;
    // One matrix over and over (it stays in cache): compute cost without memory traffic.
    if let Some((name, m)) = matrices
        .iter()
        .find(|(n, _)| n.ends_with("ffn_down.weight"))
    {
        let x: Vec<f32> = (0..m.cols()).map(|i| (i % 17) as f32 - 8.0).collect();
        let q = Q8Row::quantize(&x);
        let mut out = vec![0.0f32; m.rows()];
        let reps = 200;
        let t = Instant::now();
        for _ in 0..reps {
            m.matvec(&q, &mut out);
            std::hint::black_box(&out);
        }
        let seconds = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "{name} alone, cached: {:.3} ms ({:.1} GB/s)",
            seconds * 1e3,
            m.n_bytes() as f64 / seconds / 1e9
        );
    }
    println!(
        "quantized products alone: {:.1} ms/token ({} matrices, {:.1} MB/token, {:.1} GB/s)",
        products * 1e3,
        matrices.len(),
        bytes_per_token as f64 / 1e6,
        bytes_per_token as f64 / products / 1e9
    );
    for (kind, seconds) in &per_kind {
        println!("  {kind:12} {:.2} ms/token", seconds / steps as f64 * 1e3);
    }
    let mut engine = Engine::load(std::path::Path::new(&path), &LoadOptions::default())?;
    let timing = engine.forward_timing(16, steps)?;
    let step = timing.decode_ms / steps as f64;
    println!(
        "engine decode step: {step:.1} ms/token ({:.2} tok/s); outside the products: {:.1} ms",
        timing.decode_tokens_per_s,
        step - products * 1e3
    );
    Ok(())
}
