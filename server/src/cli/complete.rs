//! `ghostline complete FILE --line L --column C`: one suggestion from the server's pipeline.

use anyhow::Context as _;
use ropey::Rope;
use serde_json::json;

use super::CompleteArgs;
use crate::completion::{CompletionConfig, Trigger, TriggerDecision, complete_rope};
use crate::lsp::encoding::PositionEncoding;
use crate::lsp::to_proto;
use crate::model::{CancelFlag, ModelSpec};
use crate::text::line_content_len;

/// Runs the command.
pub fn run(args: CompleteArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {} as UTF-8 text", args.file.display()))?;
    let rope = Rope::from_str(&text);
    let cursor = cursor_offset(&rope, args.line, args.column)
        .with_context(|| format!("bad position for {}", args.file.display()))?;
    let language_id = args
        .language
        .clone()
        .unwrap_or_else(|| language_from_path(&args.file).to_string());
    let spec = ModelSpec {
        path: args.model.clone(),
        device: args.device,
        backend: args.remote.spec()?,
        ..ModelSpec::default()
    };
    let mut model = crate::backend::load(&spec)?;
    if let Some(degradation) = model.health() {
        eprintln!("ghostline: warning: {}", degradation.message);
    }
    let trigger = if args.automatic {
        Trigger::Automatic
    } else {
        Trigger::Invoked
    };
    let config = CompletionConfig::default();
    let outcome = complete_rope(
        model.as_mut(),
        &rope,
        cursor,
        &language_id,
        trigger,
        &config,
        &CancelFlag::new(),
    )?;
    if args.json {
        let items: Vec<_> = outcome
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                to_proto::inline_completion_item(
                    &rope,
                    item,
                    &format!("cli-{}", index + 1),
                    PositionEncoding::Utf16,
                )
            })
            .collect();
        let output = json!({
            "items": items,
            "timings_ms": outcome.timings,
            "backend": spec.backend.kind.name(),
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else if let Some(first) = outcome.items.first() {
        println!("{}", first.insert_text);
    } else {
        let reason = match outcome.decision {
            TriggerDecision::Skip { reason } => reason.to_string(),
            TriggerDecision::Suggest(_) => {
                "the model produced nothing worth showing here".to_string()
            }
        };
        eprintln!("ghostline: no suggestion: {reason}");
    }
    Ok(())
}

/// Converts a 1-based line and character column to a char offset, refusing positions outside
/// the file with a message that says what would have been valid.
pub fn cursor_offset(rope: &Rope, line: u32, column: u32) -> anyhow::Result<usize> {
    let line_index = line as usize - 1;
    let lines = rope.len_lines();
    if line_index >= lines {
        anyhow::bail!("line {line} is past the end of the file, which has {lines} lines");
    }
    let line_len = line_content_len(rope, line_index);
    let column_index = column as usize - 1;
    if column_index > line_len {
        anyhow::bail!(
            "column {column} is past the end of line {line}, which has {line_len} characters (the column may be 1 to {})",
            line_len + 1
        );
    }
    Ok(rope.line_to_char(line_index) + column_index)
}

/// The LSP language id for a file extension (`plaintext` when unknown).
pub fn language_from_path(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|ext| ext.to_str())
        .unwrap_or_default()
    {
        "rs" => "rust",
        "py" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "jsx" => "javascriptreact",
        "ts" => "typescript",
        "tsx" => "typescriptreact",
        "go" => "go",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "hpp" | "hh" => "cpp",
        "java" => "java",
        "md" => "markdown",
        "json" => "json",
        "sh" | "bash" => "shellscript",
        "toml" => "toml",
        _ => "plaintext",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_based_positions_in_characters() {
        let rope = Rope::from_str("ab\n😀x\n");
        assert_eq!(cursor_offset(&rope, 1, 1).unwrap(), 0);
        assert_eq!(cursor_offset(&rope, 2, 2).unwrap(), 4);
        assert_eq!(cursor_offset(&rope, 2, 3).unwrap(), 5);
        let error = cursor_offset(&rope, 2, 4).unwrap_err().to_string();
        assert!(error.contains("has 2 characters"), "{error}");
        let error = cursor_offset(&rope, 4, 1).unwrap_err().to_string();
        assert!(error.contains("has 3 lines"), "{error}");
    }
}
