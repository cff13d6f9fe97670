//! ghostline vs Hugging Face transformers on tiny random Llama/Qwen2 checkpoints.
//!
//! Fixtures come from scripts/reference/make_fixtures.py (transformers, eager attention); each
//! directory holds config.json, model.safetensors (f32, f16 or bf16) and expected.json with
//! transformers' logits for every prompt position and its greedy continuations.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use common::{host, scratch_dir};
use ghostline_model::{KvCache, Llama, LlamaConfig, sampling::argmax};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    prompts: Vec<Vec<u32>>,
    logits: Vec<Vec<Vec<f32>>>,
    greedy: Vec<Greedy>,
}

#[derive(Deserialize)]
struct Greedy {
    prompt: Vec<u32>,
    generated: Vec<u32>,
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|err| panic!("{}: {err}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("expected.json").exists())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 5,
        "expected at least 5 fixtures in {}",
        root.display()
    );
    dirs
}

fn expected(dir: &Path) -> Expected {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
}

/// `|ours - theirs| <= 1e-4 * max(|theirs|, 1)` for every logit: relative for large logits,
/// absolute 1e-4 near zero.
fn assert_close(name: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len());
    let mut worst = 0.0f32;
    for (index, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let error = (a - b).abs() / b.abs().max(1.0);
        assert!(
            error <= 1e-4,
            "{name}: logit {index}: ours {a} vs transformers {b} (scaled error {error})"
        );
        worst = worst.max(error);
    }
    eprintln!("{name}: worst scaled error {worst:.2e}");
}

#[test]
fn full_sequence_logits_match_transformers() {
    let device = Device::flex();
    for dir in fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (_, model) =
            Llama::load_dir(&dir, &device).unwrap_or_else(|err| panic!("{name}: {err}"));
        let expected = expected(&dir);
        for (prompt, logits) in expected.prompts.iter().zip(&expected.logits) {
            let ours = host(model.forward(Llama::tokens_tensor(prompt, &device)));
            let theirs: Vec<f32> = logits.iter().flatten().copied().collect();
            assert_close(
                &format!("{name} prompt len {}", prompt.len()),
                &ours,
                &theirs,
            );
        }
    }
}

#[test]
fn cached_greedy_generation_matches_transformers() {
    let device = Device::flex();
    for dir in fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (config, mut model) = Llama::load_dir(&dir, &device).unwrap();
        // The inference path (contiguous tied head) is what generation uses.
        model.prepare_for_inference();
        for case in expected(&dir).greedy {
            let mut cache = KvCache::new(&config, 1, 64, &device);
            let logits = model
                .forward_cached(
                    Llama::tokens_tensor(&case.prompt, &device),
                    &case.prompt,
                    &mut cache,
                )
                .unwrap();
            let mut next = argmax(&host(logits));
            let mut generated = vec![next];
            while generated.len() < case.generated.len() {
                let logits = model
                    .forward_cached(Llama::tokens_tensor(&[next], &device), &[next], &mut cache)
                    .unwrap();
                next = argmax(&host(logits));
                generated.push(next);
            }
            assert_eq!(
                generated, case.generated,
                "{name}: greedy continuation of {:?}",
                case.prompt
            );
        }
    }
}

#[test]
fn saving_and_reloading_preserves_weights_and_config() {
    let device = Device::flex();
    for dir in fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (config, model) = Llama::load_dir(&dir, &device).unwrap();
        let out = scratch_dir(&format!("roundtrip-{name}"));
        config.save(&out.join("config.json")).unwrap();
        model
            .save_safetensors(&config, &out.join("model.safetensors"))
            .unwrap();
        let (config2, model2) = Llama::load_dir(&out, &device).unwrap();
        // We always write `architectures` (transformers 5 omits it when unset).
        assert!(!config2.architectures.is_empty());
        let mut expected_config = config.clone();
        expected_config.architectures = config2.architectures.clone();
        assert_eq!(config2, expected_config, "{name}: config round trip");
        let prompt = &expected(&dir).prompts[2];
        let a = host(model.forward(Llama::tokens_tensor(prompt, &device)));
        let b = host(model2.forward(Llama::tokens_tensor(prompt, &device)));
        assert_eq!(a, b, "{name}: reloaded model differs");
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn transformers_v5_rope_parameters_are_read() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf/llama_mqa_bias_llama3_bf16");
    let config = LlamaConfig::from_file(&dir.join("config.json")).unwrap();
    assert_eq!(config.rope_theta, 100_000.0);
    let scaling = config.rope_scaling.as_ref().expect("llama3 scaling kept");
    assert_eq!(scaling.kind(), "llama3");
    assert_eq!(config.head_dim(), 16);
    assert!(config.qkv_bias() && config.o_bias());
}
