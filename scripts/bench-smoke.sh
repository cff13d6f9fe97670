#!/usr/bin/env bash
# Short smoke runs of the measurement commands (they are benchmarks, not pass/fail tests: this
# only proves each command runs end to end and prints its report). Full runs: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
bin="$GHOSTLINE_BIN"
echo "-- eval (reference completions through the test runner)"
"$bin" eval data/devset/humaneval_python.jsonl data/devset/humaneval_rust.jsonl --oracle --limit 5 --test-jobs 2 --json --out "$tmp/oracle.jsonl"
echo "-- eval (embedded model, two tasks per file)"
"$bin" eval data/devset/*.jsonl --limit 2 --device cpu --json --out "$tmp/eval-smoke.jsonl"
echo "-- bench latency"
"$bin" bench latency --smoke --json
echo "-- feedback bench (recording cost and writer throughput)"
"$bin" feedback bench --paced 50 --decisions 10 --flood 500 --dir "$tmp" --json
echo "-- bench model"
"$bin" bench model --smoke --json
echo "-- bench context"
"$bin" bench context --smoke --json
