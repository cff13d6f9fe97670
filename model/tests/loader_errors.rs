//! Broken model directories give clear errors (file, tensor, expected vs found), never panics.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use common::{QWEN_SPECIALS, byte_tokenizer_json, scratch_dir, tiny_config};
use ghostline_model::{DevicePreference, Engine, Llama, LoadOptions, ModelError};
use safetensors::{Dtype, tensor::TensorView};

/// Writes a valid tiny model directory and returns it.
fn valid_dir(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let config = tiny_config(264);
    let model = config.init_seeded(&Device::flex(), 5);
    config.save(&dir.join("config.json")).unwrap();
    model
        .save_safetensors(&config, &dir.join("model.safetensors"))
        .unwrap();
    std::fs::write(
        dir.join("tokenizer.json"),
        byte_tokenizer_json(&QWEN_SPECIALS),
    )
    .unwrap();
    dir
}

/// Rewrites model.safetensors through `edit`, which sees (name → (dtype, shape, bytes)).
fn edit_weights(dir: &Path, edit: impl FnOnce(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>)) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = parsed
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                (view.dtype(), view.shape().to_vec(), view.data().to_vec()),
            )
        })
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, (dtype, shape, data))| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn load(dir: &Path) -> ModelError {
    let options = LoadOptions {
        device: DevicePreference::Cpu,
    };
    match Engine::load(dir, &options) {
        Ok(_) => panic!("{} loaded but should have failed", dir.display()),
        Err(err) => err,
    }
}

#[test]
fn valid_directory_loads() {
    let dir = valid_dir("valid");
    let engine = Engine::load(
        &dir,
        &LoadOptions {
            device: DevicePreference::Cpu,
        },
    )
    .unwrap();
    assert!(engine.info().fim);
    assert_eq!(engine.info().n_params, tiny_config(264).n_params());
}

#[test]
fn missing_directory_and_files_name_the_path() {
    let err = load(Path::new("/nonexistent/ghostline-model"));
    assert!(
        err.to_string().contains("/nonexistent/ghostline-model"),
        "{err}"
    );

    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        let dir = valid_dir(&format!("missing-{file}"));
        std::fs::remove_file(dir.join(file)).unwrap();
        let err = load(&dir);
        assert!(matches!(err, ModelError::Io { .. }), "{file}: {err:?}");
        assert!(err.to_string().contains(file), "{file}: {err}");
    }
}

#[test]
fn bad_config_json_is_reported_with_the_reason() {
    let dir = valid_dir("bad-json");
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    let err = load(&dir);
    assert!(
        matches!(err, ModelError::Config { .. }) && err.to_string().contains("config.json"),
        "{err}"
    );

    let dir = valid_dir("bad-heads");
    let mut config = tiny_config(264);
    config.num_key_value_heads = Some(3);
    config.save(&dir.join("config.json")).unwrap();
    let err = load(&dir);
    assert!(err.to_string().contains("num_key_value_heads 3"), "{err}");

    let dir = valid_dir("missing-field");
    std::fs::write(
        dir.join("config.json"),
        r#"{"vocab_size": 264, "hidden_size": 32}"#,
    )
    .unwrap();
    let err = load(&dir);
    assert!(err.to_string().contains("intermediate_size"), "{err}");
}

#[test]
fn missing_tensor_is_named() {
    let dir = valid_dir("missing-tensor");
    edit_weights(&dir, |tensors| {
        tensors.remove("model.layers.1.mlp.up_proj.weight");
    });
    let err = load(&dir);
    assert!(
        matches!(err, ModelError::MissingTensor { ref name, ref expected, .. }
        if name == "model.layers.1.mlp.up_proj.weight" && expected == &vec![64, 32]),
        "{err:?}"
    );
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn wrong_shape_reports_expected_and_found() {
    let dir = valid_dir("wrong-shape");
    edit_weights(&dir, |tensors| {
        let entry = tensors
            .get_mut("model.layers.0.self_attn.k_proj.weight")
            .unwrap();
        entry.1 = vec![8, 64]; // same element count, wrong shape
    });
    let err = load(&dir);
    assert!(
        matches!(err, ModelError::ShapeMismatch { ref expected, ref found, .. }
        if expected == &vec![16, 32] && found == &vec![8, 64]),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("k_proj") && message.contains("[16, 32]") && message.contains("[8, 64]"),
        "{message}"
    );
}

#[test]
fn unsupported_dtype_is_named() {
    let dir = valid_dir("dtype");
    edit_weights(&dir, |tensors| {
        let entry = tensors.get_mut("model.norm.weight").unwrap();
        entry.0 = Dtype::I32;
    });
    let err = load(&dir);
    assert!(
        matches!(err, ModelError::UnsupportedDtype { ref name, .. } if name == "model.norm.weight"),
        "{err:?}"
    );
}

#[test]
fn corrupt_safetensors_and_tokenizer_are_errors() {
    for (label, bytes) in [
        ("garbage", b"definitely not safetensors".to_vec()),
        ("truncated", {
            let dir = valid_dir("truncate-source");
            let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
            bytes.truncate(bytes.len() / 2);
            bytes
        }),
    ] {
        let dir = valid_dir(&format!("corrupt-{label}"));
        std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
        let err = load(&dir);
        assert!(
            matches!(err, ModelError::Safetensors { .. }),
            "{label}: {err:?}"
        );
        assert!(err.to_string().contains("model.safetensors"), "{err}");
    }

    let dir = valid_dir("corrupt-tokenizer");
    std::fs::write(dir.join("tokenizer.json"), "{\"model\": 3}").unwrap();
    let err = load(&dir);
    assert!(
        matches!(err, ModelError::Tokenizer { .. }) && err.to_string().contains("tokenizer.json"),
        "{err:?}"
    );
}

#[test]
fn load_dir_reports_the_same_errors_without_an_engine() {
    let dir = valid_dir("llama-load-dir");
    std::fs::write(dir.join("model.safetensors"), b"").unwrap();
    let err = Llama::load_dir(&dir, &Device::flex()).unwrap_err();
    assert!(matches!(err, ModelError::Safetensors { .. }), "{err:?}");
}
