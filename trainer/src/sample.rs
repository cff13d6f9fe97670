//! `ghostline-train sample`: completions from a model directory through `ghostline-model`'s
//! engine (the same code path the editor uses), with timings, for model-card examples.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow};
use ghostline_model::engine::{CancelFlag, Engine, GenerateRequest, LoadOptions};
use ghostline_model::{DevicePreference, Sampling};

/// Prints the greedy completion of each prompt (`\n` escapes allowed) and the engine's timings.
pub fn sample(
    model_dir: &Path,
    prompts: &[String],
    suffix: Option<&str>,
    max_tokens: usize,
) -> Result<()> {
    let options = LoadOptions {
        device: DevicePreference::Cpu,
    };
    let mut engine = Engine::load(model_dir, &options)
        .map_err(|e| anyhow!("loading {}: {e}", model_dir.display()))?;
    let unescape = |s: &str| s.replace("\\n", "\n").replace("\\t", "\t");
    for prompt in prompts {
        let request = GenerateRequest {
            prefix: unescape(prompt),
            suffix: suffix.map(unescape),
            max_tokens,
            sampling: Sampling::Greedy,
            n: 1,
            stop: Vec::new(),
            max_lines: None,
            time_budget: Some(Duration::from_secs(10)),
        };
        let output = engine
            .generate(&request, &CancelFlag::new(), &mut |_| {})
            .map_err(|e| anyhow!("generating: {e}"))?;
        let completion = output
            .completions
            .first()
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let t = &output.timings;
        println!(
            "=== prompt ({} tokens): {:?}",
            output.prompt_tokens, request.prefix
        );
        println!("{}{}", request.prefix, completion);
        println!(
            "--- finish {:?}, tokenize {:.1} ms, prefill {:.1} ms, decode {:.1} ms ({} tokens)",
            output.completions.first().map(|c| c.finish),
            t.tokenize_ms,
            t.prefill_ms,
            t.decode_ms,
            output.completions.first().map_or(0, |c| c.tokens.len())
        );
    }
    Ok(())
}
