#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz + libFuzzer, nightly) and runs each for a short
# while: FUZZ_SECONDS each (default 20). Any crash fails the script and leaves the input in
# fuzz/artifacts/<target>/. Usage: scripts/fuzz-smoke.sh [target ...]   (default: all)
# Longer campaigns: FUZZ_SECONDS=600 scripts/fuzz-smoke.sh edits
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-fuzz.sh

# Its own target dir (sanitizer-instrumented builds never mix with the project's).
export CARGO_TARGET_DIR="$HOME/.cache/ghostline/fuzz-target"
# The corpus grows across runs on the same machine; fuzz/seeds/ holds the committed seeds.
CORPUS_ROOT="${FUZZ_CORPUS:-$HOME/.cache/ghostline/fuzz-corpus}"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(lsp_input positions edits model_config model_safetensors gguf)
fi

cd fuzz
start=$(date +%s)
cargo +nightly fuzz build
echo "fuzz build: $(( $(date +%s) - start )) s"

for target in "${TARGETS[@]}"; do
    corpus="$CORPUS_ROOT/$target"
    mkdir -p "$corpus" "seeds/$target"
    log="$CARGO_TARGET_DIR/$target.log"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: memory blow-ups are bugs.
    if ! cargo +nightly fuzz run "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FUZZ FAILURE in $target (input saved under fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]*' | tail -n 1)
    ft=$(grep -E '^#[0-9]+' "$log" | grep -o 'ft: [0-9]*' | tail -n 1)
    echo "fuzz $target: ${SECONDS_EACH}s, $runs executions, $cov, $ft, corpus $(ls "$corpus" | wc -l) inputs"
done
