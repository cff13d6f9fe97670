//! Workspace tuning (`tune.rs`): tuning lowers the loss on the tuned text and changes only the
//! unfrozen tensors; the overlay file round-trips to the same logits; overlays that do not fit
//! the base are refused with a message that says why.

use std::path::PathBuf;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ghostline_model::{Llama, LlamaConfig, TextTokenizer};
use ghostline_train::fim::TransformOptions;
use ghostline_train::tokenizer::train_tokenizer;
use ghostline_train::tune::{
    OverlayMeta, PreferencePair, TuneOptions, TuneText, Tuned, base_fingerprint, merge,
    parse_overlay, read_overlay, tune, tune_with_preferences, write_overlay,
};

const TEXT: &str = "fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n";

struct Setup {
    dir: PathBuf,
    config: LlamaConfig,
    base: Llama,
    tokenizer: TextTokenizer,
}

fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("ghostline-tune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus: Vec<String> = (0..30).map(|i| format!("{TEXT}// {i}\n")).collect();
    let trained = train_tokenizer(corpus.iter().map(String::as_str), 300).unwrap();
    let path = dir.join("tokenizer.json");
    trained.save(&path, false).unwrap();
    let tokenizer = TextTokenizer::from_file(&path, &[0]).unwrap();
    let mut config = LlamaConfig::new(trained.get_vocab_size(true), 32, 64, 3, 4, 2);
    config.max_position_embeddings = 64;
    config.tie_word_embeddings = true;
    let base = config.init_seeded(&Device::flex(), 7);
    Setup {
        dir,
        config,
        base,
        tokenizer,
    }
}

fn options() -> TuneOptions {
    TuneOptions {
        layers: 1,
        learning_rate: 2e-2,
        min_learning_rate: 2e-3,
        warmup_steps: 2,
        max_steps: 200,
        epochs: 1000.0,
        max_seconds: 120.0,
        seq_len: 32,
        batch_size: 2,
        transform: TransformOptions {
            fim_rate: 0.0,
            file_sep_rate: 0.0,
            ..TransformOptions::default()
        },
        ..TuneOptions::default()
    }
}

/// Mean next-token cross-entropy of `model` over `text` (one window).
fn loss_on(model: &Llama, tokenizer: &TextTokenizer, text: &str) -> f32 {
    let ids = tokenizer.encode(text);
    let ids = &ids[..ids.len().min(33)];
    let device = Device::flex();
    let n = ids.len() - 1;
    let inputs: Vec<i64> = ids[..n].iter().map(|&t| i64::from(t)).collect();
    let targets: Vec<i64> = ids[1..].iter().map(|&t| i64::from(t)).collect();
    let logits = model.forward(Tensor::<2, Int>::from_data(
        TensorData::new(inputs, [1, n]),
        &device,
    ));
    let vocab = logits.dims()[2];
    CrossEntropyLossConfig::new()
        .init(&device)
        .forward(
            logits.reshape([n, vocab]),
            Tensor::<1, Int>::from_data(TensorData::new(targets, [n]), &device),
        )
        .into_scalar::<f32>()
}

fn logits(model: &Llama) -> Vec<f32> {
    let device = Device::flex();
    model
        .forward(Llama::tokens_tensor(&[5, 9, 17, 2, 40, 41], &device))
        .into_data()
        .iter::<f32>()
        .collect()
}

fn tuned(setup: &Setup) -> Tuned {
    let texts = vec![TuneText {
        path: "src/add.rs".into(),
        text: TEXT.repeat(20),
    }];
    tune(
        &setup.config,
        &setup.base,
        &setup.tokenizer,
        &texts,
        &options(),
        &mut |_, _, _| {},
    )
    .unwrap()
}

#[test]
fn tuning_lowers_the_loss_and_changes_only_the_last_layer_and_norm() {
    let setup = setup("loss");
    let before = loss_on(&setup.base, &setup.tokenizer, &TEXT.repeat(3));
    let tuned = tuned(&setup);
    let after = loss_on(&tuned.model, &setup.tokenizer, &TEXT.repeat(3));
    assert!(
        after < before * 0.8,
        "loss on the tuned text went from {before} to {after}"
    );
    assert_eq!(tuned.report.steps, 200);
    assert!(tuned.report.last_loss < tuned.report.first_loss);

    let base = setup.base.to_hf_tensors(&setup.config);
    let after = tuned.model.to_hf_tensors(&setup.config);
    let changed: Vec<&str> = base
        .iter()
        .zip(&after)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((spec, _), _)| spec.name.as_str())
        .collect();
    // Only the last layer (index 2 of 3) and the final norm may move; the tied embedding and the
    // first layers are frozen.
    for name in &changed {
        assert!(
            name.starts_with("model.layers.2.") || *name == "model.norm.weight",
            "frozen tensor {name} changed"
        );
    }
    assert!(
        changed.iter().any(|n| n.contains("mlp")),
        "no trained tensor changed: {changed:?}"
    );
    let mut overlay_names: Vec<&str> = tuned.overlay.iter().map(|(s, _)| s.name.as_str()).collect();
    overlay_names.sort_unstable();
    let mut expected: Vec<&str> = base
        .iter()
        .map(|(s, _)| s.name.as_str())
        .filter(|n| n.starts_with("model.layers.2.") || *n == "model.norm.weight")
        .collect();
    expected.sort_unstable();
    assert_eq!(
        overlay_names, expected,
        "the overlay holds exactly the trained tensors"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[test]
fn overlay_round_trips_and_bad_overlays_are_refused() {
    let setup = setup("overlay");
    let tuned = tuned(&setup);
    let fingerprint = base_fingerprint(&setup.config, &setup.base);
    let path = setup.dir.join("tuned.safetensors");
    let meta = OverlayMeta {
        base_model: fingerprint.clone(),
        created_ms: 42,
        report: tuned.report.clone(),
    };
    write_overlay(&path, &tuned.overlay, &meta).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&setup.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind");
    let overlay = read_overlay(&path).unwrap();
    assert_eq!(overlay.meta, meta);
    let merged = merge(&setup.config, &setup.base, &fingerprint, &overlay, &path).unwrap();
    assert_eq!(
        logits(&merged),
        logits(&tuned.model),
        "merged overlay != tuned model"
    );
    assert_ne!(logits(&merged), logits(&setup.base));

    // Each bad overlay is refused with a message naming the problem.
    let other_base = setup.config.init_seeded(&Device::flex(), 8);
    let other_fingerprint = base_fingerprint(&setup.config, &other_base);
    assert_ne!(other_fingerprint, fingerprint);
    let bytes = std::fs::read(&path).unwrap();
    let mut wrong_shape = overlay.clone();
    let n = wrong_shape.tensors[0].2.len();
    wrong_shape.tensors[0].1 = vec![n / 2, 2];
    let mut unknown = overlay.clone();
    unknown.tensors[0].0 = "model.layers.9.mlp.up_proj.weight".into();
    let plain = {
        let p = setup.dir.join("plain.safetensors");
        setup.base.save_safetensors(&setup.config, &p).unwrap();
        std::fs::read(&p).unwrap()
    };
    let cases: Vec<(&str, Result<ghostline_train::tune::Overlay, _>, &str, &str)> = vec![
        (
            "truncated file",
            parse_overlay(&bytes[..bytes.len() / 2], &path),
            &fingerprint,
            "not a safetensors file",
        ),
        (
            "garbage",
            parse_overlay(b"hello world, not weights", &path),
            &fingerprint,
            "not a safetensors file",
        ),
        (
            "a model file, not an overlay",
            parse_overlay(&plain, &path),
            &fingerprint,
            "not a ghostline tuned-weights overlay",
        ),
        (
            "another base model",
            Ok(overlay.clone()),
            &other_fingerprint,
            "tuned from another base model",
        ),
        ("wrong shape", Ok(wrong_shape), &fingerprint, "has shape"),
        (
            "unknown tensor",
            Ok(unknown),
            &fingerprint,
            "is not part of the base model",
        ),
    ];
    for (case, parsed, base_fp, expected) in cases {
        let result = parsed.and_then(|o| merge(&setup.config, &setup.base, base_fp, &o, &path));
        match result {
            Ok(_) => panic!("{case}: accepted"),
            Err(err) => {
                let message = err.to_string();
                assert!(
                    message.contains(expected),
                    "{case}: {message:?} lacks {expected:?}"
                );
                assert!(
                    message.contains("tuned.safetensors"),
                    "{case}: {message:?} lacks the file"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[test]
fn the_preference_phase_prefers_the_written_lines_to_the_rejected_ones() {
    let setup = setup("prefer");
    let rejected = ["a - b", "a * b", "b - a", "0", "1", "a / b", "", "a"];
    let pairs: Vec<PreferencePair> = rejected
        .iter()
        .enumerate()
        .map(|(i, rejected)| PreferencePair {
            context: format!("// {i}\nfn add(a: u32, b: u32) -> u32 {{\n    "),
            chosen: "a + b".into(),
            rejected: rejected.to_string(),
        })
        .collect();
    let options = TuneOptions {
        max_steps: 5,
        preference_share: 0.5,
        preference_lr: 1e-2,
        preference_epochs: 30.0,
        preference_beta: 1.0,
        preference_nll: 0.0,
        ..options()
    };
    let texts = vec![TuneText {
        path: "src/add.rs".into(),
        text: TEXT.repeat(20),
    }];
    let tuned = tune_with_preferences(
        &setup.config,
        &setup.base,
        &setup.tokenizer,
        &texts,
        &pairs,
        &options,
        &mut |_, _, _| {},
    )
    .unwrap();
    let report = &tuned.report;
    // "" (nothing to prefer) and "a" (a prefix of the written line: a partial accept) are dropped.
    assert_eq!(report.preference_pairs, 6, "{report:?}");
    assert!(report.preference_steps > 0, "{report:?}");
    // The chosen line gains on the rejected one (by more than a nat on average); the plain
    // fraction "chosen more likely" moves less, as a one-token rejection starts far ahead.
    let (before, after) = report.preference_margin.expect("the phase ran");
    assert!(after > before + 1.0, "{report:?}");
    let (before, after) = report.preference_accuracy.expect("the phase ran");
    assert!(after >= before, "{report:?}");
    let _ = std::fs::remove_dir_all(&setup.dir);
}
