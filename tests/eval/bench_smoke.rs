//! Smoke tests of `ghostline bench latency` and `ghostline bench model`: the real binary, the real
//! server over stdio and the real engine, in their short `--smoke` modes. They check that the
//! harness measures and reports, not how fast anything is.

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ghostline"))
        .arg("bench")
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    assert!(output.status.success(), "bench {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}):\n{}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn latency_smoke_replays_typing_against_the_real_server() {
    let report = bench(&["latency", "--smoke", "--json"]);
    let typed = report["chars_typed"].as_u64().unwrap();
    assert!(typed >= 12, "{report:#}");
    // One request per keystroke, each with exactly one outcome.
    let requests = report["requests"].as_array().unwrap();
    assert_eq!(requests.len() as u64, typed);
    let counted: u64 = report["outcomes"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(counted, typed);
    assert!(report["initialize_ms"].as_f64().unwrap() > 0.0);
    assert!(report["first_response_ms"].as_f64().unwrap() >= report["initialize_ms"].as_f64().unwrap());
    // The last keystroke is followed by a pause and must be answered (not left hanging).
    let last = requests.last().unwrap();
    assert_eq!(last["before_pause"], true);
    assert_ne!(last["outcome"], "unanswered", "{report:#}");
    // The server reports its stages through ghostline/timings.
    assert!(report["stages_ms"]["stages.context_ms"]["n"].as_u64().unwrap() >= 1, "{:#}", report["stages_ms"]);
    assert!(report["server_peak_rss_mib"].as_f64().unwrap() > 1.0);
}

#[test]
fn model_smoke_measures_the_embedded_model_on_the_cpu() {
    let report = bench(&["model", "--smoke", "--json", "--models", "embedded"]);
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{report:#}");
    let case = &cases[0];
    assert!(case["skipped"].is_null(), "{case:#}");
    assert_eq!(case["model"], "embedded");
    assert!(case["n_params"].as_u64().unwrap() > 0);
    assert!(case["prefill_tokens_per_s"].as_f64().unwrap() > 0.0);
    assert!(case["decode_tokens_per_s"].as_f64().unwrap() > 0.0);
    assert!(case["peak_rss_mib"].as_f64().unwrap() > 1.0);
}

#[test]
fn model_bench_reports_an_unknown_model_as_skipped() {
    let report = bench(&["model", "--smoke", "--json", "--models", "nonexistent"]);
    let reason = report["cases"][0]["skipped"].as_str().unwrap();
    assert!(reason.contains("unknown model"), "{reason}");
}
