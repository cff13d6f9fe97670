//! Export: a checkpoint written by the trainer, exported as a model directory, loads with
//! `ghostline-model` and gives the same logits as the trained module.

use std::path::PathBuf;

use burn::tensor::Device;
use ghostline_model::{Llama, LlamaConfig};
use ghostline_model::weights::StoreDtype;
use ghostline_train::data::TokenWindows;
use ghostline_train::run;
use ghostline_train::tokenizer::train_tokenizer;
use ghostline_train::trainer::{TrainConfig, Trainer};

#[test]
fn exported_model_loads_and_matches_the_trained_module() {
    let dir = std::env::temp_dir().join(format!("ghostline-train-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let texts: Vec<String> = (0..50)
        .map(|i| format!("fn f{i}() -> u32 {{\n    {i}\n}}\n"))
        .collect();
    let tokenizer = train_tokenizer(texts.iter().map(|t| t.as_str()), 300).unwrap();
    let vocab = tokenizer.get_vocab_size(true);
    let tokenizer_path = dir.join("tokenizer.json");
    tokenizer.save(&tokenizer_path, false).unwrap();

    let mut model = LlamaConfig::new(vocab, 16, 32, 1, 2, 2);
    model.max_position_embeddings = 8;
    model.tie_word_embeddings = true;
    let config = TrainConfig {
        model,
        data_dir: PathBuf::new(),
        tokenizer: tokenizer_path,
        heldout_documents: PathBuf::new(),
        seq_len: 8,
        batch_size: 2,
        total_steps: 3,
        warmup_steps: 1,
        learning_rate: 1e-2,
        min_learning_rate: 1e-3,
        weight_decay: 0.0,
        beta_1: 0.9,
        beta_2: 0.95,
        grad_clip_norm: 1.0,
        seed: 3,
        checkpoint_every_secs: 1,
        eval_every_steps: 0,
        eval_windows: 1,
        fim_eval_samples: 0,
        time_budget_secs: None,
        init_from: None,
        window_offset: 0,
    };
    let windows = TokenWindows::new((0..100u16).map(|i| i % vocab as u16).collect(), 8).unwrap();
    let mut trainer = Trainer::new(config.clone());
    for _ in 0..3 {
        trainer.step(&windows).unwrap();
    }
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("run_config.json"),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    trainer
        .save_checkpoint(&run_dir.join("checkpoint"))
        .unwrap();

    let model_dir = dir.join("model");
    run::export(&run_dir, &model_dir, StoreDtype::F32).unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(model_dir.join(file).is_file(), "{file} missing");
    }
    let device = Device::flex();
    let (loaded_config, loaded) = Llama::load_dir(&model_dir, &device).unwrap();
    assert_eq!(
        loaded_config.eos_token_id.map(|ids| ids.to_vec()),
        Some(vec![0])
    );
    let tokens = [5u32, 9, 17, 2, 40, 41];
    let expected = trainer
        .inference_model()
        .forward(Llama::tokens_tensor(&tokens, &device))
        .into_data();
    let actual = loaded
        .forward(Llama::tokens_tensor(&tokens, &device))
        .into_data();
    let (expected, actual): (Vec<f32>, Vec<f32>) = (
        expected.iter::<f32>().collect(),
        actual.iter::<f32>().collect(),
    );
    assert_eq!(expected.len(), actual.len());
    for (e, a) in expected.iter().zip(&actual) {
        assert!((e - a).abs() < 1e-5, "logits differ: {e} vs {a}");
    }

    // f16 export: half the weight bytes, logits within f16 rounding of the f32 model's.
    let half_dir = dir.join("model-f16");
    run::export(&run_dir, &half_dir, StoreDtype::F16).unwrap();
    let f32_size = std::fs::metadata(model_dir.join("model.safetensors")).unwrap().len();
    let f16_size = std::fs::metadata(half_dir.join("model.safetensors")).unwrap().len();
    assert!(
        f16_size * 2 < f32_size + 4096,
        "f16 file {f16_size} bytes is not half of f32's {f32_size}"
    );
    let (_, half) = Llama::load_dir(&half_dir, &device).unwrap();
    let half: Vec<f32> = half
        .forward(Llama::tokens_tensor(&tokens, &device))
        .into_data()
        .iter::<f32>()
        .collect();
    let mut max_diff = 0f32;
    for (e, h) in expected.iter().zip(&half) {
        max_diff = max_diff.max((e - h).abs());
    }
    assert!(max_diff < 0.05, "f16 logits differ by {max_diff}");
    assert!(max_diff > 0.0, "f16 export wrote exact f32 weights");
    let _ = std::fs::remove_dir_all(&dir);
}
