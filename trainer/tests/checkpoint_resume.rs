//! Exact resume: N steps in one go == k steps, checkpoint, resume, N-k steps (bit-identical
//! weights, optimizer effect and loss history), on a tiny model; plus the schedule and batches.

use std::path::PathBuf;

use ghostline_model::LlamaConfig;
use ghostline_train::data::TokenWindows;
use ghostline_train::trainer::{TrainConfig, Trainer, learning_rate};

fn tiny_config() -> TrainConfig {
    let mut model = LlamaConfig::new(64, 16, 32, 2, 2, 1);
    model.max_position_embeddings = 8;
    model.tie_word_embeddings = true;
    TrainConfig {
        model,
        data_dir: PathBuf::new(),
        tokenizer: PathBuf::new(),
        heldout_documents: PathBuf::new(),
        seq_len: 8,
        batch_size: 2,
        total_steps: 6,
        warmup_steps: 2,
        learning_rate: 1e-2,
        min_learning_rate: 1e-3,
        weight_decay: 0.1,
        beta_1: 0.9,
        beta_2: 0.95,
        grad_clip_norm: 0.5,
        seed: 5,
        checkpoint_every_secs: 1,
        eval_every_steps: 0,
        eval_windows: 1,
        fim_eval_samples: 0,
        time_budget_secs: None,
        init_from: None,
        window_offset: 0,
    }
}

fn windows() -> TokenWindows {
    let tokens: Vec<u16> = (0..400u32).map(|i| ((i * 7 + i / 3) % 64) as u16).collect();
    TokenWindows::new(tokens, 8).unwrap()
}

fn weights(trainer: &Trainer) -> Vec<(String, Vec<f32>)> {
    trainer
        .inference_model()
        .to_hf_tensors(&trainer.config.model)
        .into_iter()
        .map(|(spec, data)| (spec.name, data))
        .collect()
}

#[test]
fn resumed_run_is_bit_identical_to_an_uninterrupted_run() {
    let windows = windows();
    let config = tiny_config();

    let mut straight = Trainer::new(config.clone());
    for _ in 0..6 {
        straight.step(&windows).unwrap();
    }

    let dir = std::env::temp_dir().join(format!("ghostline-train-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("checkpoint");
    {
        let mut first_half = Trainer::new(config.clone());
        for _ in 0..3 {
            first_half.step(&windows).unwrap();
        }
        first_half.save_checkpoint(&checkpoint).unwrap();
    }
    let mut resumed = Trainer::resume(config.clone(), &checkpoint).unwrap();
    assert_eq!(resumed.state.step, 3);
    for _ in 0..3 {
        resumed.step(&windows).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(resumed.state.step, straight.state.step);
    assert_eq!(resumed.state.tokens_seen, straight.state.tokens_seen);
    assert_eq!(
        resumed.state.losses, straight.state.losses,
        "loss history differs"
    );
    let (a, b) = (weights(&straight), weights(&resumed));
    assert_eq!(a.len(), b.len());
    for ((name_a, data_a), (name_b, data_b)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        assert!(
            data_a
                .iter()
                .zip(data_b)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name_a} differs after resume"
        );
    }
    // Training moved the weights (so the comparison above is not vacuous).
    let fresh = weights(&Trainer::new(config));
    assert!(fresh.iter().zip(&a).any(|((_, x), (_, y))| x != y));
}

#[test]
fn a_resume_without_optimizer_state_would_differ() {
    // Guards the test above: dropping the optimizer state must change the result.
    let windows = windows();
    let config = tiny_config();
    let mut straight = Trainer::new(config.clone());
    for _ in 0..4 {
        straight.step(&windows).unwrap();
    }
    let mut fresh_optimizer = Trainer::new(config.clone());
    for _ in 0..2 {
        fresh_optimizer.step(&windows).unwrap();
    }
    let mut restarted = Trainer::new(config);
    restarted.model = fresh_optimizer.model.clone();
    restarted.state = fresh_optimizer.state.clone();
    for _ in 0..2 {
        restarted.step(&windows).unwrap();
    }
    assert_ne!(weights(&straight), weights(&restarted));
}

#[test]
fn loss_decreases_on_a_repetitive_stream() {
    let windows = windows();
    let mut config = tiny_config();
    config.total_steps = 40;
    let mut trainer = Trainer::new(config);
    let first = trainer.step(&windows).unwrap();
    let mut last = first;
    for _ in 0..39 {
        last = trainer.step(&windows).unwrap();
    }
    assert!(last < first * 0.8, "loss {first} -> {last}");
}

#[test]
fn schedule_warms_up_then_decays_to_the_minimum() {
    let config = tiny_config();
    assert!((learning_rate(&config, 0) - 5e-3).abs() < 1e-12);
    assert!((learning_rate(&config, 1) - 1e-2).abs() < 1e-12);
    assert!((learning_rate(&config, 2) - 1e-2).abs() < 1e-12);
    assert!(learning_rate(&config, 4) < 1e-2 && learning_rate(&config, 4) > 1e-3);
    assert!((learning_rate(&config, 6) - 1e-3).abs() < 1e-12);
    assert!((learning_rate(&config, 100) - 1e-3).abs() < 1e-12);
}

#[test]
fn batches_are_consecutive_windows_with_shifted_targets() {
    let windows = windows();
    let (inputs, targets) = windows.batch(1, 2);
    assert_eq!(inputs.len(), 16);
    let (w2_in, w2_target) = windows.window(2);
    assert_eq!(&inputs[..8], &w2_in[..]);
    assert_eq!(&targets[..8], &w2_target[..]);
    assert_eq!(&w2_in[1..], &w2_target[..7]);
    // Window 2 starts at token 16.
    assert_eq!(w2_in[0], ((16 * 7 + 16 / 3) % 64) as i64);
}
