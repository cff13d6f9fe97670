//! Pipeline tests with the scripted test double.

use super::*;
use crate::test_model::ScriptedModel;

fn run(model: &mut ScriptedModel, fixture: &str, trigger: Trigger) -> CompletionOutcome {
    let cursor_byte = fixture.find("$0").expect("fixture has a $0 cursor");
    let text = fixture.replacen("$0", "", 1);
    let cursor = crate::text::byte_to_char_offset(&text, cursor_byte);
    complete_text(
        model,
        &text,
        cursor,
        "rust",
        trigger,
        &CompletionConfig::default(),
        &CancelFlag::new(),
    )
    .expect("pipeline runs")
}

#[test]
fn automatic_gets_one_greedy_item_with_prefix_and_suffix_in_the_prompt() {
    let mut model = ScriptedModel::new(&["a + b\n}"]);
    let outcome = run(
        &mut model,
        "fn add(a: i32, b: i32) -> i32 {\n    $0\n}\n",
        Trigger::Automatic,
    );
    assert_eq!(
        outcome.items,
        vec![CompletionItem {
            insert_text: "a + b".into(),
            replace: 36..36
        }]
    );
    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].sampling, Sampling::Greedy);
    assert!(requests[0].prefix.ends_with("-> i32 {\n    "));
    assert_eq!(requests[0].suffix.as_deref(), Some("\n}\n"));
}

#[test]
fn invoked_gets_deduplicated_alternatives_greedy_first() {
    let mut model = ScriptedModel::new(&["one", "two", "one", "three"]);
    let outcome = run(&mut model, "let x = $0", Trigger::Invoked);
    let texts: Vec<&str> = outcome
        .items
        .iter()
        .map(|item| item.insert_text.as_str())
        .collect();
    assert_eq!(texts, vec!["one", "two"]);
    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(matches!(requests[1].sampling, Sampling::TopP { .. }));
    assert_eq!(requests[1].n, 2);
}

#[test]
fn skipped_trigger_calls_no_model() {
    let mut model = ScriptedModel::new(&["x"]);
    let outcome = run(
        &mut model,
        "let value = fo$0o(bar, baz);",
        Trigger::Automatic,
    );
    assert!(outcome.items.is_empty());
    assert!(matches!(outcome.decision, TriggerDecision::Skip { .. }));
    assert!(model.requests.lock().unwrap().is_empty());
}

#[test]
fn cancelled_generation_reports_cancelled() {
    let mut model = ScriptedModel::new(&["abcdef"]);
    let cancel = CancelFlag::new();
    cancel.cancel();
    let outcome = complete_text(
        &mut model,
        "x = ",
        4,
        "python",
        Trigger::Automatic,
        &CompletionConfig::default(),
        &cancel,
    )
    .unwrap();
    assert!(outcome.cancelled);
    assert!(outcome.items.is_empty());
}

#[test]
fn cursor_past_the_end_is_an_error() {
    let mut model = ScriptedModel::new(&["x"]);
    let result = complete_text(
        &mut model,
        "abc",
        4,
        "rust",
        Trigger::Invoked,
        &CompletionConfig::default(),
        &CancelFlag::new(),
    );
    assert!(matches!(
        result,
        Err(CompletionError::CursorOutOfRange { cursor: 4, len: 3 })
    ));
}

#[test]
fn long_documents_are_trimmed_to_the_context_length() {
    let mut model = ScriptedModel::new(&["x"]);
    let text = "let value = 1;\n".repeat(2000) + "let y = ";
    let cursor = text.chars().count();
    let config = CompletionConfig {
        prefix_chars: 1_000_000,
        ..CompletionConfig::default()
    };
    complete_text(
        &mut model,
        &text,
        cursor,
        "rust",
        Trigger::Automatic,
        &config,
        &CancelFlag::new(),
    )
    .unwrap();
    let requests = model.requests.lock().unwrap();
    let prompt_tokens = model.count_tokens(&requests[0].prefix)
        + model.count_tokens(requests[0].suffix.as_deref().unwrap_or(""));
    assert!(prompt_tokens + config.max_tokens <= 512, "{prompt_tokens}");
    assert!(requests[0].prefix.ends_with("let y = "));
}

#[test]
fn a_second_pass_adds_every_stage() {
    let pass = |ms: f64| StageTimings {
        debounce_ms: ms,
        cache_ms: ms,
        queue_ms: ms,
        context_ms: ms,
        tokenize_ms: ms,
        prefill_ms: ms,
        decode_ms: ms,
        postprocess_ms: ms,
        total_ms: ms,
    };
    let mut timings = pass(1.0);
    timings.add(&pass(2.0));
    assert_eq!(timings, pass(3.0));
}
