//! `ghostline replay --json` on a tiny fixture repository with the real binary and the embedded
//! model: the report has the documented shape, and the adaptation (n-gram cache fed by the text
//! written so far and accepted suggestions) raises second-half acceptance on a repository built so
//! that the cache must help (identical files). With the adaptation broken, adapted == baseline
//! and the test fails.

use std::process::Command;

use serde_json::Value;

fn replay(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ghostline"))
        .arg("replay")
        .args([
            "--repo",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/replay/fixture"),
            "--json",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "replay {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

const KEYS: &[&str] = &[
    "acceptance_rate",
    "first_half_acceptance_rate",
    "second_half_acceptance_rate",
    "exact_match",
    "suggestions",
    "accepted_chars_per_suggestion",
    "p95_latency_ms",
];

#[test]
fn adaptation_raises_second_half_acceptance_on_a_repetitive_repository() {
    let report = replay(&["--max-suggestions", "24", "--max-tokens", "24"]);
    assert_eq!(report["files"], 4, "{report:#}");
    for run in ["baseline", "adapted"] {
        for key in KEYS {
            let value = report[run][key]
                .as_f64()
                .unwrap_or_else(|| panic!("{run}.{key} missing: {report:#}"));
            assert!(value >= 0.0);
        }
        assert_eq!(report[run]["positions"], 24, "{report:#}");
        let rate = report[run]["acceptance_rate"].as_f64().unwrap();
        assert!(rate <= 1.0);
    }
    assert_eq!(report["baseline"]["cache_tokens"], 0);
    assert!(
        report["adapted"]["cache_tokens"].as_u64().unwrap() > 100,
        "{report:#}"
    );
    let base = report["baseline"]["second_half_acceptance_rate"]
        .as_f64()
        .unwrap();
    let adapted = report["adapted"]["second_half_acceptance_rate"]
        .as_f64()
        .unwrap();
    assert!(
        adapted >= base + 0.2,
        "adaptation must help on identical files: baseline {base}, adapted {adapted}\n{report:#}"
    );
    // Both runs are timed interleaved position by position; the comparison is in `latency`.
    let latency = &report["latency"];
    assert_eq!(latency["positions"], 24, "{report:#}");
    for (key, run) in [
        ("baseline_p95_ms", "baseline"),
        ("adapted_p95_ms", "adapted"),
    ] {
        assert_eq!(latency[key], report[run]["p95_latency_ms"], "{report:#}");
    }
    for key in ["p95_change", "median_paired_ratio", "p95_paired_ratio"] {
        assert!(latency[key].as_f64().is_some(), "latency.{key}: {report:#}");
    }
    assert!(latency["median_paired_ratio"].as_f64().unwrap() > 0.0);
    // Deterministic: the same seed gives the same numbers, interleaved or alone.
    let again = replay(&[
        "--max-suggestions",
        "24",
        "--max-tokens",
        "24",
        "--adapt",
        "on",
    ]);
    assert_eq!(again["adapted"]["accepted"], report["adapted"]["accepted"]);
    assert!(again["baseline"].is_null() && again["latency"].is_null());
}

/// `--tune-at-half`: the adapted run switches at the half to a second engine tuned on the text
/// written so far; the baseline keeps the untouched model (its figures equal an untuned run's),
/// and on this repository of identical files the tuned model's loss on the text written later
/// (never trained on) drops.
#[test]
fn tuning_at_the_half_changes_only_the_adapted_run() {
    let common = ["--max-suggestions", "12", "--max-tokens", "16"];
    let plain = replay(&common);
    assert!(plain["tune"].is_null(), "{plain:#}");
    let mut args = common.to_vec();
    args.extend([
        "--tune-at-half",
        "120",
        "--tune-max-steps",
        "4",
        "--tune-layers",
        "1",
        "--tune-epochs",
        "20",
    ]);
    let tuned = replay(&args);
    let tune = &tuned["tune"];
    assert_eq!(tune["report"]["steps"], 4, "{tuned:#}");
    assert_eq!(tune["report"]["layers"], 1, "{tuned:#}");
    assert!(tune["texts"].as_u64().unwrap() >= 1, "{tuned:#}");
    for key in [
        "accepted",
        "partially_accepted",
        "second_half_acceptance_rate",
        "exact_match",
    ] {
        assert_eq!(
            tuned["baseline"][key], plain["baseline"][key],
            "the baseline must not see the tuned weights ({key})"
        );
    }
    let (base, after) = (
        tune["later_text_loss"][0].as_f64().unwrap(),
        tune["later_text_loss"][1].as_f64().unwrap(),
    );
    assert!(
        after < base,
        "tuning on identical files must lower the later text's loss: {base} -> {after}"
    );
    for key in ["second_half_baseline_p95_ms", "second_half_adapted_p95_ms"] {
        assert!(tuned["latency"][key].as_f64().unwrap() > 0.0, "{tuned:#}");
    }
}
