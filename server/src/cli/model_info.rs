//! `ghostline model info PATH`: what a model file or directory holds, without loading it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

/// `ghostline model info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A `.gguf` file or a model directory (config.json, model.safetensors, tokenizer.json).
    pub path: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let model = ghostline_model::describe(&args.path)?;
    let config = &model.config;
    let dtypes: Vec<String> = model
        .dtypes
        .iter()
        .map(|(dtype, (tensors, elements))| {
            format!("{dtype} ({tensors} tensors, {elements} values)")
        })
        .collect();
    if args.json {
        let dtypes: serde_json::Map<String, serde_json::Value> = model
            .dtypes
            .iter()
            .map(|(dtype, (tensors, elements))| {
                (
                    dtype.clone(),
                    json!({"tensors": tensors, "values": elements}),
                )
            })
            .collect();
        let value = json!({
            "path": args.path,
            "format": model.format,
            "name": model.name,
            "architecture": model.architecture,
            "parameters": model.n_params,
            "layers": config.num_hidden_layers,
            "hidden_size": config.hidden_size,
            "heads": config.num_attention_heads,
            "kv_heads": config.n_kv_heads(),
            "tied_embeddings": config.tie_word_embeddings,
            "rope_theta": config.rope_theta,
            "dtypes": dtypes,
            "tokenizer": model.tokenizer,
            "vocab_size": model.vocab_size,
            "context_length": config.max_position_embeddings,
            "fim": model.fim.is_some(),
            "fim_tokens": model.fim,
            "prompt_mode": if model.fim.is_some() { "fim" } else { "prefix-only" },
            "stop_ids": model.stop_ids,
        });
        return emit(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let mut out = String::new();
    writeln!(out, "path:          {}", args.path.display())?;
    writeln!(out, "format:        {}", model.format)?;
    writeln!(out, "name:          {}", model.name)?;
    writeln!(
        out,
        "architecture:  {} ({} layers, hidden {}, {} heads / {} kv heads, {} embeddings)",
        model.architecture,
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.n_kv_heads(),
        if config.tie_word_embeddings {
            "tied"
        } else {
            "untied"
        }
    )?;
    writeln!(
        out,
        "parameters:    {} ({:.1}M)",
        model.n_params,
        model.n_params as f64 / 1e6
    )?;
    writeln!(out, "dtypes:        {} (run as f32)", dtypes.join(", "))?;
    writeln!(out, "tokenizer:     {}", model.tokenizer)?;
    writeln!(out, "vocabulary:    {}", model.vocab_size)?;
    writeln!(out, "context:       {}", config.max_position_embeddings)?;
    writeln!(out, "prompts:       {}", model.prompt_mode())?;
    emit(&out)
}

/// Prints `text`; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
