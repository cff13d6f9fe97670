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

# llama.cpp (llama-cpp-python, built once into ~/.cache) and the SmolLM2-135M GGUF: the real
# OpenAI-compatible server for the remote-backend test (tests/lsp/remote.rs) and the model for the
# llama.cpp reference test (model/tests/gguf_reference.rs, whose llama.cpp outputs are a committed
# fixture). The install is idempotent and a no-op once done.
echo "== llama.cpp reference tools"
GHOSTLINE_SMOLLM2_GGUF="$(bash scripts/install-llamacpp.sh --print-gguf)"
export GHOSTLINE_SMOLLM2_GGUF
export GHOSTLINE_LLAMACPP_PYTHON="${GHOSTLINE_LLAMACPP_VENV:-$HOME/.cache/ghostline/llamacpp-venv}/bin/python"
export GHOSTLINE_REQUIRE_REMOTE="${GHOSTLINE_REQUIRE_REMOTE:-1}"
export GHOSTLINE_REQUIRE_SMOLLM2="${GHOSTLINE_REQUIRE_SMOLLM2:-1}"

echo "== corpus builder tests (python)"
python3 -m unittest discover -s scripts/corpus -p 'test_*.py'

echo "== build"
cargo build --workspace --bins --tests

echo "== rust tests (unit, model numerics, LSP end-to-end)"
cargo test --workspace --no-fail-fast

echo "== fuzz smoke (cargo-fuzz: each target 20 s; FUZZ_SECONDS to change)"
bash scripts/fuzz-smoke.sh

echo "== benchmark and eval smoke runs"
bash scripts/bench-smoke.sh

echo "== editors (headless Neovim and code-server)"
bash tests/editors/run.sh
