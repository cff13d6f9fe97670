//! Engine behaviour: FIM prompts, sampling reproducibility, stops, budgets, cancel, streaming,
//! prefix reuse across calls.

mod common;

use std::time::Duration;

use burn::tensor::Device;
use common::{QWEN_SPECIALS, byte_tokenizer, tiny_config, tiny_engine};
use expect_test::{Expect, expect};
use ghostline_model::{
    CancelFlag, Engine, FimMode, FinishReason, GenerateOutput, GenerateRequest, ModelError,
    Sampling,
};

fn request(prefix: &str, sampling: Sampling) -> GenerateRequest {
    GenerateRequest {
        prefix: prefix.into(),
        suffix: None,
        max_tokens: 12,
        sampling,
        n: 1,
        stop: Vec::new(),
        max_lines: None,
        time_budget: None,
    }
}

fn run(engine: &mut Engine, req: &GenerateRequest) -> GenerateOutput {
    engine
        .generate(req, &CancelFlag::new(), &mut |_| {})
        .unwrap()
}

fn check_prompt(
    specials: &[&str],
    mode: FimMode,
    prefix: &str,
    suffix: Option<&str>,
    expect: Expect,
) {
    let config = tiny_config(264);
    let device = Device::flex();
    let model = config.init_seeded(&device, 1);
    let tokenizer = byte_tokenizer(specials);
    let mut engine = Engine::from_parts("t".into(), config, model, tokenizer, device).unwrap();
    engine.set_fim_mode(mode);
    let ids = engine.prompt_ids(prefix, suffix);
    expect.assert_eq(&engine.tokenizer().decode(&ids));
}

#[test]
fn fim_prompts_use_the_models_own_tokens() {
    let psm = FimMode::PrefixSuffixMiddle;
    let spm = FimMode::SuffixPrefixMiddle;
    check_prompt(
        &QWEN_SPECIALS,
        psm,
        "fn a() {",
        Some("}\n"),
        expect![[r#"
        <|fim_prefix|>fn a() {<|fim_suffix|>}
        <|fim_middle|>"#]],
    );
    check_prompt(
        &QWEN_SPECIALS,
        spm,
        "fn a() {",
        Some("}\n"),
        expect![[r#"
        <|fim_prefix|><|fim_suffix|>}
        <|fim_middle|>fn a() {"#]],
    );
    // StarCoder spellings are detected too.
    let starcoder = [
        "<|endoftext|>",
        "<fim_prefix>",
        "<fim_middle>",
        "<fim_suffix>",
        "<fim_pad>",
    ];
    check_prompt(
        &starcoder,
        psm,
        "x = ",
        Some(" + 1"),
        expect!["<fim_prefix>x = <fim_suffix> + 1<fim_middle>"],
    );
    // Without FIM tokens the suffix is ignored; special-token text in user code stays text.
    check_prompt(
        &["<|endoftext|>"],
        psm,
        "a<|endoftext|>b",
        Some("ignored"),
        expect!["a<|endoftext|>b"],
    );
    // An empty prompt starts at the document separator.
    check_prompt(&QWEN_SPECIALS, psm, "", None, expect!["<|endoftext|>"]);
}

#[test]
fn special_token_text_in_user_code_is_not_a_special_token() {
    let engine = tiny_engine(1);
    let ids = engine.prompt_ids("<|endoftext|>", None);
    assert_eq!(
        ids.len(),
        "<|endoftext|>".len(),
        "encoded byte by byte, not as one special id"
    );
}

#[test]
fn seeded_sampling_is_reproducible_and_seed_dependent() {
    let sampling = |seed| Sampling::TopP {
        temperature: 1.5,
        top_p: 0.95,
        seed,
    };
    let mut engine = tiny_engine(21);
    let mut req = request("let value = ", sampling(7));
    req.n = 3;
    let first = run(&mut engine, &req);
    engine.reset_cache();
    let second = run(&mut engine, &req);
    let mut other_engine = tiny_engine(21);
    let third = run(&mut other_engine, &req);
    assert_eq!(first.completions, second.completions);
    assert_eq!(first.completions, third.completions);
    assert_eq!(first.completions.len(), 3);
    let texts: std::collections::HashSet<_> =
        first.completions.iter().map(|c| c.tokens.clone()).collect();
    assert!(
        texts.len() > 1,
        "alternatives should differ: {:?}",
        first.completions
    );
    req.sampling = sampling(8);
    let reseeded = run(&mut engine, &req);
    assert_ne!(reseeded.completions, first.completions);
}

#[test]
fn batched_alternatives_match_a_single_run_for_the_first_row() {
    let sampling = Sampling::TopP {
        temperature: 1.2,
        top_p: 0.9,
        seed: 31,
    };
    let mut req = request("struct Point {", sampling);
    req.max_tokens = 10;
    req.n = 1;
    let single = run(&mut tiny_engine(5), &req);
    req.n = 3;
    let mut streamed = String::new();
    let batched = tiny_engine(5)
        .generate(&req, &CancelFlag::new(), &mut |piece| {
            streamed.push_str(piece)
        })
        .unwrap();
    assert_eq!(batched.completions.len(), 3);
    assert_eq!(batched.completions[0], single.completions[0]);
    assert_eq!(
        streamed, batched.completions[0].text,
        "only the first alternative streams"
    );
}

#[test]
fn greedy_returns_one_deterministic_completion() {
    let mut engine = tiny_engine(4);
    let mut req = request("hello", Sampling::Greedy);
    req.n = 4;
    let a = run(&mut engine, &req);
    assert_eq!(a.completions.len(), 1);
    let b = run(&mut tiny_engine(4), &req);
    assert_eq!(a.completions, b.completions);
}

#[test]
fn prefix_reuse_across_calls_gives_identical_output() {
    let mut engine = tiny_engine(9);
    // Counts prompt and completion tokens exactly: no token healing (it would take the last
    // byte back into the completion).
    engine.set_token_healing(false);
    let typed = "fn main() { let x";
    let first = run(&mut engine, &request(typed, Sampling::Greedy));
    assert_eq!(first.reused_prefix_tokens, 0);
    let more = "fn main() { let xy";
    let second = run(&mut engine, &request(more, Sampling::Greedy));
    assert_eq!(
        second.reused_prefix_tokens,
        typed.len(),
        "byte tokenizer: one token per byte"
    );
    assert_eq!(second.prefill_tokens, 1);
    let mut fresh_engine = tiny_engine(9);
    fresh_engine.set_token_healing(false);
    let fresh = run(&mut fresh_engine, &request(more, Sampling::Greedy));
    assert_eq!(second.completions, fresh.completions);
    // Same prompt again: everything but the last position is reused.
    let again = run(&mut engine, &request(more, Sampling::Greedy));
    assert_eq!(again.reused_prefix_tokens, more.len() - 1);
    assert_eq!(again.completions, fresh.completions);
}

#[test]
fn max_tokens_and_streaming_agree_with_the_result() {
    let mut engine = tiny_engine(2);
    // Counts prompt and completion tokens exactly: no token healing (it would take the last
    // byte back into the completion).
    engine.set_token_healing(false);
    let mut req = request("abc", Sampling::Greedy);
    req.max_tokens = 5;
    let mut streamed = String::new();
    let out = engine
        .generate(&req, &CancelFlag::new(), &mut |piece| {
            streamed.push_str(piece)
        })
        .unwrap();
    let completion = &out.completions[0];
    assert_eq!(completion.finish, FinishReason::MaxTokens);
    assert_eq!(completion.tokens.len(), 5);
    assert_eq!(streamed, completion.text);
    assert_eq!(out.prompt_tokens, 3);
}

#[test]
fn stop_string_cuts_the_completion_before_it() {
    let mut engine = tiny_engine(2);
    let mut req = request("abc", Sampling::Greedy);
    req.max_tokens = 16;
    let free = run(&mut engine, &req).completions.remove(0);
    // An ASCII pair after the start (random bytes also decode to U+FFFD, which can change
    // while a multi-byte character is still incomplete).
    let chars: Vec<char> = free.text.chars().collect();
    let start = (2..chars.len().saturating_sub(1))
        .find(|&i| chars[i].is_ascii() && chars[i + 1].is_ascii())
        .unwrap_or_else(|| panic!("no ASCII pair to use as a stop string in {free:?}"));
    let stop: String = chars[start..start + 2].iter().collect();
    let expected_text = &free.text[..free.text.find(&stop).unwrap()];
    req.stop = vec![stop.clone()];
    let mut streamed = String::new();
    let out = engine
        .generate(&req, &CancelFlag::new(), &mut |piece| {
            streamed.push_str(piece)
        })
        .unwrap();
    let stopped = &out.completions[0];
    assert_eq!(stopped.finish, FinishReason::Stop, "stop {stop:?}");
    assert_eq!(stopped.text, expected_text);
    assert_eq!(streamed, expected_text, "stop text never streamed");
}

#[test]
fn cancel_and_time_budget_return_what_they_have() {
    let mut engine = tiny_engine(2);
    let mut req = request("abc", Sampling::Greedy);
    req.max_tokens = 50;

    let cancel = CancelFlag::new();
    cancel.cancel();
    let out = engine.generate(&req, &cancel, &mut |_| {}).unwrap();
    assert_eq!(out.completions[0].finish, FinishReason::Cancelled);
    assert!(out.completions[0].tokens.is_empty());

    let cancel = CancelFlag::new();
    let trigger = cancel.clone();
    let mut pieces = 0;
    let out = engine
        .generate(&req, &cancel, &mut |_| {
            pieces += 1;
            trigger.cancel();
        })
        .unwrap();
    assert_eq!(out.completions[0].finish, FinishReason::Cancelled);
    assert!(
        out.completions[0].tokens.len() < req.max_tokens,
        "{:?}",
        out.completions[0]
    );
    assert!(pieces >= 1);

    req.time_budget = Some(Duration::ZERO);
    let out = run(&mut engine, &req);
    assert_eq!(out.completions[0].finish, FinishReason::TimeBudget);
    assert!(out.completions[0].tokens.is_empty());
}

#[test]
fn prompt_longer_than_the_context_is_a_cache_overflow() {
    let mut config = tiny_config(264);
    config.max_position_embeddings = 16;
    let device = Device::flex();
    let model = config.init_seeded(&device, 1);
    let mut engine = Engine::from_parts(
        "small".into(),
        config,
        model,
        byte_tokenizer(&QWEN_SPECIALS),
        device,
    )
    .unwrap();
    // Counts prompt and completion tokens exactly: no token healing (it would take the last
    // byte back into the completion).
    engine.set_token_healing(false);
    let err = engine
        .generate(
            &request(&"x".repeat(20), Sampling::Greedy),
            &CancelFlag::new(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, ModelError::CacheOverflow { capacity: 16, .. }),
        "{err}"
    );
    // The engine still works afterwards, and max_tokens is clamped to the room left.
    let mut req = request(&"x".repeat(10), Sampling::Greedy);
    req.max_tokens = 100;
    let out = run(&mut engine, &req);
    assert!(out.completions[0].tokens.len() <= 6);
}

#[test]
fn embedded_model_loads_and_generates() {
    let mut engine = Engine::load_embedded(&ghostline_model::LoadOptions {
        device: ghostline_model::DevicePreference::Cpu,
    })
    .unwrap();
    assert!(engine.info().n_params > 0);
    let mut req = request("fn main() {", Sampling::Greedy);
    req.suffix = Some("}".into());
    req.max_tokens = 4;
    let out = run(&mut engine, &req);
    // Its config.json asks for suffix-prefix-middle prompts, whose end (`" {"`) is healed.
    let full_prompt = engine.prompt_ids("fn main() {", Some("}")).len();
    assert_eq!(out.prompt_tokens, full_prompt - 1);
    let text = engine.tokenizer().decode(&out.completions[0].tokens);
    assert!(text.starts_with(" {"), "{text:?}");
    // Spelling out the healed text may take a token per byte on top of `max_tokens`.
    assert!(out.completions[0].tokens.len() <= 4 + " {".len());
    assert!(engine.count_tokens("fn main() {}") > 0);
}

#[test]
fn long_prompts_prefill_in_chunks_with_the_same_result() {
    let mut config = tiny_config(264);
    config.max_position_embeddings = 700;
    let device = Device::flex();
    let model = config.init_seeded(&device, 8);
    let mut engine = Engine::from_parts(
        "long".into(),
        config,
        model,
        byte_tokenizer(&QWEN_SPECIALS),
        device.clone(),
    )
    .unwrap();
    // Counts prompt and completion tokens exactly: no token healing (it would take the last
    // byte back into the completion).
    engine.set_token_healing(false);
    let prefix: String = (0..600)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let mut req = request(&prefix, Sampling::Greedy);
    req.max_tokens = 1;
    let out = run(&mut engine, &req);
    assert_eq!(
        out.prefill_tokens,
        600,
        "longer than one {}-token chunk",
        ghostline_model::engine::PREFILL_CHUNK
    );
    let ids = engine.prompt_ids(&prefix, None);
    let full = common::host(
        engine
            .model()
            .forward(ghostline_model::Llama::tokens_tensor(&ids, &device)),
    );
    let last = &full[full.len() - 264..];
    let expected = ghostline_model::sampling::argmax(last);
    match out.completions[0].tokens.first() {
        Some(token) => assert_eq!(*token, expected),
        None => assert!(
            engine.tokenizer().is_stop(expected),
            "no token although argmax {expected} is not a stop token"
        ),
    }
}

/// The embedded model's tokenizer (real merges: `"\n   "` and `" return"` are tokens) in front
/// of a seeded random model of its vocabulary size.
fn engine_with_embedded_tokenizer(seed: u64) -> Engine {
    let tokenizer = ghostline_model::TextTokenizer::from_bytes(
        include_bytes!("../weights/default/tokenizer.json"),
        std::path::Path::new("embedded/tokenizer.json"),
        &[],
    )
    .unwrap();
    let config = tiny_config(tokenizer.vocab_size());
    let device = Device::flex();
    let model = config.init_seeded(&device, seed);
    Engine::from_parts("healing".into(), config, model, tokenizer, device).unwrap()
}

#[test]
fn token_healing_takes_back_the_last_token_and_whitespace_before_it() {
    let engine = engine_with_embedded_tokenizer(1);
    let tokenizer = engine.tokenizer();
    let vocab = ghostline_model::heal::VocabText::new(tokenizer);
    let mut table = String::new();
    for prefix in [
        "def fibonacci(n):\n    ",
        "fn main() {\n    let ar",
        "x = compute(a, b)",
        "    return n\n",
        "// a comment\n\n",
        "a",
    ] {
        let ids = tokenizer.encode(prefix);
        let plan = ghostline_model::heal::plan(&vocab, tokenizer, &ids);
        let described = match plan {
            Some(plan) => format!("takes back {} → {:?}", plan.removed, plan.forced),
            None => "nothing".into(),
        };
        table.push_str(&format!("{prefix:?}: {described}\n"));
    }
    expect![[r#"
        "def fibonacci(n):\n    ": takes back 2 → "\n    "
        "fn main() {\n    let ar": takes back 1 → " ar"
        "x = compute(a, b)": takes back 1 → ")"
        "    return n\n": takes back 1 → "\n"
        "// a comment\n\n": takes back 1 → "\n\n"
        "a": nothing
    "#]]
    .assert_eq(&table);
}

#[test]
fn healed_completions_spell_out_the_taken_back_text_and_return_only_what_follows() {
    for seed in [3, 4, 5] {
        for prefix in ["def fibonacci(n):\n    ", "fn main() {\n    let ar", "x = 1\n"] {
            let mut engine = engine_with_embedded_tokenizer(seed);
            let ids = engine.tokenizer().encode(prefix);
            let vocab = ghostline_model::heal::VocabText::new(engine.tokenizer());
            let plan = ghostline_model::heal::plan(&vocab, engine.tokenizer(), &ids).unwrap();
            let req = request(prefix, Sampling::Greedy);
            let mut streamed = String::new();
            let healed = engine
                .generate(&req, &CancelFlag::new(), &mut |t| streamed.push_str(t))
                .unwrap();
            assert_eq!(healed.prompt_tokens, ids.len() - plan.removed, "{prefix:?}");
            let completion = &healed.completions[0];
            let decoded = engine.tokenizer().decode(&completion.tokens);
            assert!(
                decoded.starts_with(&plan.forced),
                "seed {seed} {prefix:?}: {decoded:?} does not start with {:?}",
                plan.forced
            );
            let after = &decoded[plan.forced.len()..];
            assert_eq!(completion.text, after.trim_end_matches('\u{FFFD}'));
            assert_eq!(streamed, completion.text, "only the completion's own text streams");
            // The healed text does not use up the completion's own token budget.
            let own_tokens = engine.tokenizer().encode(&completion.text).len();
            assert!(own_tokens >= 1, "seed {seed} {prefix:?}: nothing after the healed text");

            engine.set_token_healing(false);
            let plain = run(&mut engine, &req);
            assert_eq!(plain.prompt_tokens, ids.len());
        }
    }
}

#[test]
fn token_healing_applies_where_the_prompt_ends_with_the_prefix() {
    let prefix = "fn main() {\n    ";
    let suffix = Some("\n}\n");
    let mut engine = engine_with_embedded_tokenizer(2);
    let full = |engine: &Engine| engine.prompt_ids(prefix, suffix).len();
    let mut req = request(prefix, Sampling::Greedy);
    req.suffix = suffix.map(str::to_owned);
    // Prefix-suffix-middle: the generation follows <fim_middle>, nothing to heal.
    let psm = run(&mut engine, &req);
    assert_eq!(psm.prompt_tokens, full(&engine));
    // Suffix-prefix-middle: the prompt ends with the prefix, which is healed.
    engine.set_fim_mode(FimMode::SuffixPrefixMiddle);
    let spm = run(&mut engine, &req);
    assert_eq!(spm.prompt_tokens, full(&engine) - 2);
}

#[test]
fn q8_decode_switches_on_and_off_for_float_models_on_the_cpu() {
    let mut engine = tiny_engine(6); // d_model 32, MLP 64: whole Q8_0 blocks
    assert!(!engine.has_quantized_decode(), "float models load with f32 decode");
    let req = request("fn main() {", Sampling::Greedy);
    let exact = run(&mut engine, &req);
    assert!(engine.set_q8_decode(true));
    assert!(engine.has_quantized_decode());
    let blocks = run(&mut engine, &req);
    assert!(!blocks.completions[0].tokens.is_empty(), "generation runs from the blocks");
    assert!(!engine.set_q8_decode(false));
    assert!(!engine.has_quantized_decode());
    assert_eq!(run(&mut engine, &req).completions, exact.completions);
}
