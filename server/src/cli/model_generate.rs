//! `ghostline model generate MODEL --prompt TEXT`: the model alone, no pipeline.

use std::path::PathBuf;

use serde_json::json;

use super::GenerateArgs;
use crate::model::{CancelFlag, GenerateRequest, ModelSpec, Sampling};

/// Runs the command.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let path = match args.model.as_str() {
        "embedded" | "default" => None,
        dir => Some(PathBuf::from(dir)),
    };
    let mut model = crate::model::engine::load(&ModelSpec {
        path,
        device: args.device,
        ..ModelSpec::default()
    })?;
    let sampling = match args.temperature {
        None => Sampling::Greedy,
        Some(temperature) => Sampling::TopP {
            temperature,
            top_p: args.top_p.unwrap_or(0.95),
            seed: args.seed.unwrap_or(0),
        },
    };
    let request = GenerateRequest {
        prefix: args.prompt.clone(),
        suffix: args.suffix.clone(),
        max_tokens: args.max_tokens,
        sampling,
        n: 1,
        stop: Vec::new(),
        max_lines: None,
        time_budget: None,
    };
    let output = model.generate(&request, &CancelFlag::new(), &mut |_| {})?;
    let completion = output.completions.first().cloned();
    let (text, tokens) = completion.map(|c| (c.text, c.tokens)).unwrap_or_default();
    if args.json {
        let timings = &output.timings;
        let json = json!({
            "tokens": tokens,
            "text": text,
            "prompt_tokens": output.prompt_tokens,
            "reused_prefix_tokens": output.reused_prefix_tokens,
            "prefill_tokens_per_s": per_second(output.prefill_tokens, timings.prefill_ms),
            "decode_tokens_per_s": per_second(output.decoded_tokens, timings.decode_ms),
            "timings_ms": {"tokenize": timings.tokenize_ms, "prefill": timings.prefill_ms, "decode": timings.decode_ms},
            "device": model.info().device,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

fn per_second(count: usize, ms: f64) -> Option<f64> {
    (ms > 0.0).then(|| count as f64 / (ms / 1000.0))
}
