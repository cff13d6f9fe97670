//! GGUF loading: a tiny random model written as GGUF (q/k permuted as llama.cpp's converter
//! does) loads to the same function; corrupt and truncated files are clear errors, never panics.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use common::{QWEN_SPECIALS, byte_tokenizer, host, max_abs_diff, scratch_dir, tiny_config};
use ghostline_model::gguf::llama::permute_rows;
use ghostline_model::import::{Slot, gguf_tensor_name};
use ghostline_model::{Engine, KvCache, Llama, LlamaConfig, LoadOptions, ModelError};

/// ggml type tags used here.
const F32: u32 = 0;
const F16: u32 = 1;
const Q8_0: u32 = 8;

/// A metadata value to write.
enum Meta {
    Str(String),
    U32(u32),
    F32(f32),
    Bool(bool),
    Strs(Vec<String>),
    I32s(Vec<i32>),
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_meta(out: &mut Vec<u8>, key: &str, value: &Meta) {
    put_str(out, key);
    match value {
        Meta::Str(s) => {
            out.extend(8u32.to_le_bytes());
            put_str(out, s);
        }
        Meta::U32(v) => {
            out.extend(4u32.to_le_bytes());
            out.extend(v.to_le_bytes());
        }
        Meta::F32(v) => {
            out.extend(6u32.to_le_bytes());
            out.extend(v.to_le_bytes());
        }
        Meta::Bool(v) => {
            out.extend(7u32.to_le_bytes());
            out.push(u8::from(*v));
        }
        Meta::Strs(items) => {
            out.extend(9u32.to_le_bytes());
            out.extend(8u32.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for item in items {
                put_str(out, item);
            }
        }
        Meta::I32s(items) => {
            out.extend(9u32.to_le_bytes());
            out.extend(5u32.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for item in items {
                out.extend(item.to_le_bytes());
            }
        }
    }
}

/// Encodes f32 values as `kind` (F32, F16, or Q8_0 with the reference rounding).
fn encode(values: &[f32], kind: u32) -> Vec<u8> {
    match kind {
        F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        F16 => values
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect(),
        Q8_0 => values
            .chunks(32)
            .flat_map(|block| {
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let inverse = if d > 0.0 { 1.0 / d } else { 0.0 };
                let mut bytes = half::f16::from_f32(d).to_le_bytes().to_vec();
                bytes.extend(block.iter().map(|v| (v * inverse).round() as i8 as u8));
                bytes
            })
            .collect(),
        _ => unreachable!(),
    }
}

/// One tensor to write: GGUF name, dims (ne[0] first), type tag, encoded bytes.
type RawTensor = (String, Vec<u64>, u32, Vec<u8>);

/// A GGUF v3 image from metadata and tensors (offsets aligned to 32).
fn gguf_bytes(metadata: &[(String, Meta)], tensors: &[RawTensor]) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_meta(&mut out, key, value);
    }
    let mut offset = 0u64;
    for (name, dims, kind, data) in tensors {
        put_str(&mut out, name);
        out.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(kind.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += (data.len() as u64).div_ceil(32) * 32;
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    for (_, _, _, data) in tensors {
        out.extend(data);
        out.resize(out.len().div_ceil(32) * 32, 0);
    }
    out
}

/// Metadata of a llama-architecture GGUF for `config` with the tiny byte-level tokenizer.
fn llama_metadata(config: &LlamaConfig) -> Vec<(String, Meta)> {
    let tokenizer = byte_tokenizer(&QWEN_SPECIALS);
    let n = tokenizer.vocab_size();
    let tokens: Vec<String> = (0..n as u32)
        .map(|id| {
            let text = tokenizer.decode(&[id]);
            // Byte tokens are stored in the byte-to-unicode alphabet, as in tokenizer.json.
            if id < 256 {
                byte_char(id as u8).to_string()
            } else {
                text
            }
        })
        .collect();
    let types: Vec<i32> = (0..n).map(|id| if id < 256 { 1 } else { 3 }).collect();
    let u = |v: usize| Meta::U32(v as u32);
    vec![
        ("general.architecture".into(), Meta::Str("llama".into())),
        ("general.name".into(), Meta::Str("tiny-test".into())),
        ("llama.block_count".into(), u(config.num_hidden_layers)),
        (
            "llama.context_length".into(),
            u(config.max_position_embeddings),
        ),
        ("llama.embedding_length".into(), u(config.hidden_size)),
        (
            "llama.feed_forward_length".into(),
            u(config.intermediate_size),
        ),
        (
            "llama.attention.head_count".into(),
            u(config.num_attention_heads),
        ),
        (
            "llama.attention.head_count_kv".into(),
            u(config.n_kv_heads()),
        ),
        (
            "llama.rope.freq_base".into(),
            Meta::F32(config.rope_theta as f32),
        ),
        (
            "llama.attention.layer_norm_rms_epsilon".into(),
            Meta::F32(config.rms_norm_eps as f32),
        ),
        ("llama.vocab_size".into(), u(config.vocab_size)),
        ("tokenizer.ggml.model".into(), Meta::Str("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Meta::Str("gpt2".into())),
        ("tokenizer.ggml.tokens".into(), Meta::Strs(tokens)),
        ("tokenizer.ggml.token_type".into(), Meta::I32s(types)),
        ("tokenizer.ggml.merges".into(), Meta::Strs(Vec::new())),
        ("tokenizer.ggml.eos_token_id".into(), Meta::U32(256)),
        ("tokenizer.ggml.add_bos_token".into(), Meta::Bool(false)),
    ]
}

/// GPT-2's byte → printable character mapping for one byte.
fn byte_char(byte: u8) -> char {
    let b = u32::from(byte);
    let printable =
        |c: u32| (33..=126).contains(&c) || (161..=172).contains(&c) || (174..=255).contains(&c);
    if printable(b) {
        return char::from_u32(b).unwrap();
    }
    let extra = (0..=b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(255 + extra).unwrap()
}

/// The model's tensors as GGUF (q/k rows permuted like llama.cpp's converter), stored as `kind`
/// (norms always F32, as the converter does).
fn llama_tensors(config: &LlamaConfig, model: &Llama, kind: u32) -> Vec<RawTensor> {
    model
        .to_hf_tensors(config)
        .into_iter()
        .map(|(spec, data)| {
            let data = match spec.slot {
                Slot::QueryWeight(_) => {
                    permute_rows(&data, config.num_attention_heads, config.head_dim())
                }
                Slot::KeyWeight(_) => permute_rows(&data, config.n_kv_heads(), config.head_dim()),
                _ => data,
            };
            let dims: Vec<u64> = spec.shape.iter().rev().map(|&d| d as u64).collect();
            let kind = if dims.len() == 1 { F32 } else { kind };
            (gguf_tensor_name(spec.slot), dims, kind, encode(&data, kind))
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn logits(engine: &Engine, ids: &[u32]) -> Vec<f32> {
    let mut cache = KvCache::new(engine.config(), 1, ids.len() + 1, engine.device());
    host(
        engine
            .model()
            .forward_cached_all(Llama::tokens_tensor(ids, engine.device()), ids, &mut cache)
            .unwrap(),
    )
}

/// Logits of the last of `ids`, fed one token at a time (the decode path).
fn decode_logits(engine: &Engine, ids: &[u32]) -> Vec<f32> {
    let mut cache = KvCache::new(engine.config(), 1, ids.len() + 1, engine.device());
    let mut last = Vec::new();
    for id in ids {
        last = host(
            engine
                .model()
                .forward_cached(
                    Llama::tokens_tensor(&[*id], engine.device()),
                    &[*id],
                    &mut cache,
                )
                .unwrap(),
        );
    }
    last
}

fn tiny() -> (LlamaConfig, Llama) {
    let mut config = tiny_config(261);
    config.tie_word_embeddings = true;
    let model = config.init_seeded(&Device::flex(), 11);
    (config, model)
}

#[test]
fn a_gguf_file_loads_to_the_same_model_and_tokenizer() {
    let dir = scratch_dir("gguf-roundtrip");
    let (config, model) = tiny();
    let bytes = gguf_bytes(
        &llama_metadata(&config),
        &llama_tensors(&config, &model, F32),
    );
    let path = write(&dir, "tiny.gguf", &bytes);
    let engine = Engine::load(&path, &LoadOptions::default()).expect("load");
    assert_eq!(engine.info().name, "tiny-test");
    assert!(
        engine.info().fim,
        "FIM sentinels found among the GGUF control tokens"
    );
    assert!(engine.config().tie_word_embeddings);
    let reference = Engine::from_parts(
        "ref".into(),
        config.clone(),
        model,
        byte_tokenizer(&QWEN_SPECIALS),
        Device::flex(),
    )
    .unwrap();
    let text = "fn main() { println!(\"héllo\"); }\n\t12345";
    let ids = reference.tokenizer().encode(text);
    assert_eq!(engine.tokenizer().encode(text), ids);
    assert_eq!(engine.tokenizer().decode(&ids), text);
    assert!(
        engine.tokenizer().is_stop(256),
        "EOS from the metadata stops generation"
    );
    let difference = max_abs_diff(&logits(&engine, &ids), &logits(&reference, &ids));
    assert!(difference < 1e-4, "logits differ by {difference}");

    // Half precision and 8-bit blocks load too, close to the f32 model.
    for (kind, tolerance) in [(F16, 0.02), (Q8_0, 0.1)] {
        let bytes = gguf_bytes(
            &llama_metadata(&config),
            &llama_tensors(&config, reference.model(), kind),
        );
        let path = write(&dir, "tiny-q.gguf", &bytes);
        let engine = Engine::load(&path, &LoadOptions::default()).expect("load");
        let difference = max_abs_diff(&logits(&engine, &ids), &logits(&reference, &ids));
        assert!(
            difference < tolerance,
            "type {kind}: logits differ by {difference}"
        );
        if kind == Q8_0 {
            // Decode steps run from the Q8_0 blocks with 8-bit activations (llama.cpp's
            // arithmetic, `quant::q8`): close to the dequantized f32 product, not equal — the
            // activation rounding is ≈ 0.4 % of each block's largest value.
            assert!(engine.model().has_quantized_decode());
            let quantized = decode_logits(&engine, &ids);
            let mut dense = Engine::load(&path, &LoadOptions::default()).unwrap();
            dense.drop_quantized_decode();
            assert!(!dense.model().has_quantized_decode());
            let difference = max_abs_diff(&quantized, &decode_logits(&dense, &ids));
            assert!(
                difference < 0.02,
                "quantized decode differs by {difference}"
            );
        }
    }
}

fn load_error(bytes: &[u8], name: &str) -> String {
    let dir = scratch_dir(&format!("gguf-error-{name}"));
    let path = write(&dir, "bad.gguf", bytes);
    match Engine::load(&path, &LoadOptions::default()) {
        Ok(_) => panic!("{name}: loaded a broken file"),
        Err(error @ ModelError::Gguf { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("bad.gguf"),
                "{name}: message names the file: {message}"
            );
            message
        }
        Err(other) => panic!("{name}: expected a GGUF error, got {other}"),
    }
}

#[test]
fn truncated_files_are_clear_errors_at_every_cut() {
    let (config, model) = tiny();
    let bytes = gguf_bytes(
        &llama_metadata(&config),
        &llama_tensors(&config, &model, F32),
    );
    // Cuts inside the header, the metadata, the tensor infos and the data.
    let cuts = [
        4,
        10,
        23,
        40,
        300,
        2_000,
        6_000,
        bytes.len() / 2,
        bytes.len() - 1,
    ];
    for cut in cuts {
        let message = load_error(&bytes[..cut], &format!("cut-{cut}"));
        assert!(
            message.contains("truncated") || message.contains("outside the data section"),
            "cut at {cut}: {message}"
        );
    }
}

#[test]
fn corrupt_files_name_what_is_wrong() {
    let (config, model) = tiny();
    let metadata = llama_metadata(&config);
    let tensors = llama_tensors(&config, &model, F32);
    let good = gguf_bytes(&metadata, &tensors);

    let mut bad_magic = good.clone();
    bad_magic[..4].copy_from_slice(b"GGML");
    assert!(load_error(&bad_magic, "magic").contains("not a GGUF file"));

    let mut old = good.clone();
    old[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(load_error(&old, "version").contains("version 1"));

    // A count far beyond the file is caught before allocating.
    let mut huge = good.clone();
    huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(load_error(&huge, "count").contains("truncated"));

    // A tensor in a type we cannot dequantize (Q4_K = 12).
    let mut q4k = tensors.clone();
    q4k[1].2 = 12;
    let message = load_error(&gguf_bytes(&metadata, &q4k), "type");
    assert!(
        message.contains("Q4_K") && message.contains(&q4k[1].0),
        "{message}"
    );

    let missing: Vec<RawTensor> = tensors
        .iter()
        .filter(|t| t.0 != "blk.1.ffn_up.weight")
        .cloned()
        .collect();
    let message = load_error(&gguf_bytes(&metadata, &missing), "missing");
    assert!(
        message.contains("missing tensor `blk.1.ffn_up.weight`"),
        "{message}"
    );

    let mut reshaped = tensors.clone();
    let index = reshaped
        .iter()
        .position(|t| t.0 == "blk.0.attn_v.weight")
        .unwrap();
    reshaped[index].1.reverse();
    let message = load_error(&gguf_bytes(&metadata, &reshaped), "shape");
    assert!(
        message.contains("blk.0.attn_v.weight") && message.contains("expected"),
        "{message}"
    );

    let mut gpt = metadata
        .into_iter()
        .filter(|(k, _)| k != "general.architecture")
        .collect::<Vec<_>>();
    gpt.push(("general.architecture".into(), Meta::Str("gptneox".into())));
    assert!(load_error(&gguf_bytes(&gpt, &tensors), "arch").contains("architecture `gptneox`"));

    let mut unknown_pre = llama_metadata(&config)
        .into_iter()
        .filter(|(k, _)| k != "tokenizer.ggml.pre")
        .collect::<Vec<_>>();
    unknown_pre.push(("tokenizer.ggml.pre".into(), Meta::Str("mystery".into())));
    assert!(load_error(&gguf_bytes(&unknown_pre, &tensors), "pre").contains("`mystery`"));
}
