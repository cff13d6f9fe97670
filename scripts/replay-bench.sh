#!/usr/bin/env bash
#! Replay benchmark of issue 10: `ghostline replay` on the three held-out repositories (fed) and
#! on each primed with another one and not fed its own walk (the "not fed" check), then a
#! Markdown table of the numbers. Re-run it on a new model to compare.
#!
#! Usage: scripts/replay-bench.sh [OUT_DIR]
#! Environment: GHOSTLINE_BIN (the server binary; default: the dev build), REPOS_DIR (where the
#! repositories are unpacked; default /tmp/learn-repos, fetched there when missing with cargo's
#! registry cache, pip download and npm pack), REPLAY_ARGS (extra arguments, e.g. "--model DIR"),
#! SKIP_NOT_FED=1 (only the fed runs), PARALLEL=1 (the fed runs two at a time, then the not-fed
#! runs: each run times its baseline and adapted asks interleaved, so the comparison stays fair),
#! TUNE_SECONDS=N (the adapted run also switches to a model tuned at the half — `--tune-at-half N`:
#! fed runs on the walk's text written so far, not-fed runs on the primed repository's files),
#! TUNE_ARGS (more tuning options, e.g. "--tune-max-steps 40 --tune-layers 2").
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${GHOSTLINE_BIN:-${CARGO_TARGET_DIR:-$repo_root/target}/debug/ghostline}"
repos="${REPOS_DIR:-/tmp/learn-repos}"
out="${1:-/tmp/replay-bench-$(date -u +%Y%m%dT%H%M%S)}"
mkdir -p "$repos" "$out"

# The held-out repositories (none is in data/train-sources.tsv or data/manifest.tsv).
bstr="$repos/bstr-1.14.0"
itertools="$repos/more-itertools-10.5.0"
commander="$repos/commander-12.1.0/package"
if [[ ! -d "$bstr/src" ]]; then
  src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/bstr-1.14.0 2>/dev/null | head -1)"
  if [[ -z "$src" ]]; then
    (cd "$repos" && cargo new -q --lib fetch-bstr && cd fetch-bstr && cargo add -q bstr@=1.14.0 && cargo fetch -q)
    src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/bstr-1.14.0 | head -1)"
  fi
  cp -r "$src" "$bstr"
fi
if [[ ! -d "$itertools/more_itertools" ]]; then
  mkdir -p "$repos/py"
  python3 -m pip download -q --no-deps --only-binary :all: -d "$repos/py" more-itertools==10.5.0
  python3 -m zipfile -e "$repos/py/more_itertools-10.5.0-py3-none-any.whl" "$itertools"
fi
if [[ ! -d "$commander" ]]; then
  mkdir -p "$repos/commander-12.1.0"
  (cd "$repos" && npm pack -q commander@12.1.0 >/dev/null && tar -xzf commander-12.1.0.tgz -C commander-12.1.0)
fi

model_sha="$(sha256sum "$repo_root/model/weights/default/model.safetensors" | cut -c1-16)"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "binary: $bin ($("$bin" --version 2>/dev/null || true))"
  echo "embedded model.safetensors sha256: $model_sha… (REPLAY_ARGS: ${REPLAY_ARGS:-none})"
  echo "commit: $(git -C "$repo_root" rev-parse --short HEAD)"
  echo "tuning: ${TUNE_SECONDS:+--tune-at-half $TUNE_SECONDS ${TUNE_ARGS:-}}"
} | tee "$out/meta.txt"

run() { # name repo extra-args...
  local name="$1" repo="$2"
  shift 2
  echo "# $name: load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/meta.txt"
  # shellcheck disable=SC2086
  local tune=()
  if [[ -n "${TUNE_SECONDS:-}" ]]; then
    # shellcheck disable=SC2206
    tune=(--tune-at-half "$TUNE_SECONDS" ${TUNE_ARGS:-})
    # Not fed: the model is tuned on the primed (other) repository, not on the walk.
    local args=("$@") i
    for ((i = 0; i < ${#args[@]}; i++)); do
      [[ "${args[$i]}" == "--prime" ]] && tune+=(--tune-texts "${args[$((i + 1))]}")
    done
  fi
  # shellcheck disable=SC2086
  "$bin" replay --repo "$repo" --json ${REPLAY_ARGS:-} "${tune[@]}" "$@" >"$out/$name.json" 2>"$out/$name.err"
}
jobs=(
  "bstr|$bstr"
  "more-itertools|$itertools"
  "commander|$commander"
)
if [[ -z "${SKIP_NOT_FED:-}" ]]; then
  jobs+=(
    "notfed-commander|$commander|--prime|$bstr|--no-walk-feed"
    "notfed-more-itertools|$itertools|--prime|$commander|--no-walk-feed"
    "notfed-bstr|$bstr|--prime|$itertools|--no-walk-feed"
  )
fi
running=0
for job in "${jobs[@]}"; do
  IFS='|' read -r -a args <<<"$job"
  if [[ -n "${PARALLEL:-}" ]]; then
    run "${args[@]}" &
    running=$((running + 1))
    if ((running == 2)); then
      wait -n
      running=$((running - 1))
    fi
  else
    run "${args[@]}"
  fi
done
wait

python3 - "$out" <<'PY' | tee "$out/table.md"
import json, os, sys
out = sys.argv[1]
print("| run | baseline accept | adapted accept | 2nd half base → adapted | Δ 2nd half (points) | exact base → adapted | chars/pos base → adapted | p95 ms base → adapted (interleaved) | per-position time ratio adapted/base: median, p95 |")
print("|---|---|---|---|---|---|---|---|---|")
for name in ["bstr", "more-itertools", "commander", "notfed-commander", "notfed-more-itertools", "notfed-bstr"]:
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))
    b, a = r["baseline"], r["adapted"]
    pct = lambda x: f"{100 * x:.1f} %"
    delta = 100 * (a["second_half_acceptance_rate"] - b["second_half_acceptance_rate"])
    print(f"| {name} | {pct(b['acceptance_rate'])} | {pct(a['acceptance_rate'])} | "
          f"{pct(b['second_half_acceptance_rate'])} → {pct(a['second_half_acceptance_rate'])} | {delta:+.1f} | "
          f"{pct(b['exact_match'])} → {pct(a['exact_match'])} | "
          f"{b['accepted_chars_per_suggestion']:.2f} → {a['accepted_chars_per_suggestion']:.2f} | "
          f"{b['p95_latency_ms']:.0f} → {a['p95_latency_ms']:.0f} ({100 * (a['p95_latency_ms'] / max(b['p95_latency_ms'], 1e-9) - 1):+.1f} %) | "
          + (f"{r['latency']['median_paired_ratio']:.3f}, {r['latency']['p95_paired_ratio']:.3f} |" if r.get("latency") else "– |"))
tuned = [(n, json.load(open(os.path.join(out, n + ".json")))) for n in
         ["bstr", "more-itertools", "commander", "notfed-commander", "notfed-more-itertools", "notfed-bstr"]
         if os.path.exists(os.path.join(out, n + ".json"))]
tuned = [(n, r) for n, r in tuned if r.get("tune")]
if tuned:
    print()
    print("| run | tuned on | 1st / 2nd half adapted | 2nd-half p95 ms base → adapted | tune steps | tokens seen / data tokens | train loss first → last | later-text loss base → tuned | tune s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, r in tuned:
        t, a, l = r["tune"], r["adapted"], r.get("latency") or {}
        rep = t["report"]
        later = t.get("later_text_loss")
        later = f"{later[0]:.3f} → {later[1]:.3f}" if later else "–"
        half = (f"{l['second_half_baseline_p95_ms']:.0f} → {l['second_half_adapted_p95_ms']:.0f} "
                f"({100 * (l['second_half_adapted_p95_ms'] / max(l['second_half_baseline_p95_ms'], 1e-9) - 1):+.1f} %)"
                if "second_half_baseline_p95_ms" in l else "–")
        print(f"| {n} | {os.path.basename(t['source']) if '/' in t['source'] else 'its first half'} | "
              f"{100 * a['first_half_acceptance_rate']:.1f} / {100 * a['second_half_acceptance_rate']:.1f} % | {half} | "
              f"{rep['steps']} | {rep['tokens_seen']} / {rep['data_tokens']} | {rep['first_loss']:.3f} → {rep['last_loss']:.3f} | "
              f"{later} | {rep['seconds']:.0f} |")
PY
