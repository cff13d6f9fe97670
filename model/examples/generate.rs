//! Greedy generation from any model path (GGUF file or model directory), with prompt ids and
//! timings — a quick manual check of a checkpoint.
//!   cargo run -p ghostline-model --example generate -- PATH "prompt" [max_tokens]

use std::path::Path;

use ghostline_model::{CancelFlag, Engine, GenerateRequest, LoadOptions, Sampling};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: generate PATH PROMPT [MAX_TOKENS]")?;
    let prompt = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "def fibonacci(n):".into());
    let max_tokens: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(32);
    let started = std::time::Instant::now();
    let mut engine = Engine::load(Path::new(path), &LoadOptions::default())?;
    println!(
        "loaded in {:.2}s: {:?}",
        started.elapsed().as_secs_f64(),
        engine.info()
    );
    if let Some(ids) = prompt.strip_prefix("ids:") {
        // ids:1,2,3 → top-5 logits at every position (compare with llama.cpp by hand).
        let ids: Vec<u32> = ids
            .split(',')
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?;
        for rounding in [false, true] {
            engine.set_llama_cpp_rounding(rounding);
            let mut cache =
                ghostline_model::KvCache::new(engine.config(), 1, ids.len() + 1, engine.device());
            let logits = engine.model().forward_cached_all(
                ghostline_model::Llama::tokens_tensor(&ids, engine.device()),
                &ids,
                &mut cache,
            )?;
            let flat = logits
                .into_data_as::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| format!("{e:?}"))?;
            for (pos, row) in flat.chunks(engine.config().vocab_size).enumerate() {
                let mut order: Vec<usize> = (0..row.len()).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
                let top: Vec<(usize, f32)> = order[..5].iter().map(|&i| (i, row[i])).collect();
                println!("rounding={rounding} {pos} {top:?}");
            }
        }
        return Ok(());
    }
    println!("prompt ids: {:?}", engine.prompt_ids(&prompt, None));
    let request = GenerateRequest {
        prefix: prompt,
        suffix: None,
        max_tokens,
        sampling: Sampling::Greedy,
        n: 1,
        stop: Vec::new(),
        max_lines: None,
        time_budget: None,
    };
    let output = engine.generate(&request, &CancelFlag::new(), &mut |_| {})?;
    let completion = &output.completions[0];
    println!("tokens: {:?}", completion.tokens);
    println!("text: {:?}", completion.text);
    println!(
        "prefill {} tok in {:.0} ms, decode {} tok in {:.0} ms ({:.1} tok/s)",
        output.prefill_tokens,
        output.timings.prefill_ms,
        output.decoded_tokens,
        output.timings.decode_ms,
        output.decoded_tokens as f64 / (output.timings.decode_ms / 1000.0)
    );
    Ok(())
}
