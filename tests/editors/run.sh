#!/usr/bin/env bash
#! Runs every editor end-to-end test against the real `ghostline` server and its embedded model:
#!   1. installs the editors and tools (scripts/install-editor-deps.sh; a no-op on a warm cache),
#!   2. builds the server (cargo, shared target dir) and packages the VS Code extension (.vsix),
#!   3. runs the Neovim plugin's unit checks, the Neovim end-to-end test and the VS Code end-to-end test.
#! Prints one line per check and closes with `editors: N passed, M failed`; exits non-zero on any failure.
#! Screen captures, screenshots and server logs go to tests/artifacts/ (gitignored).
#!
#! Environment: GHOSTLINE_BIN (use this server binary, skip the cargo build), EDITOR_TESTS ("nvim vscode" by
#! default; pick a subset), GHOSTLINE_SERVER_ARGS (server arguments, default "lsp").
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
artifacts="$repo_root/tests/artifacts"
mkdir -p "$artifacts"
suites="${EDITOR_TESTS:-nvim vscode}"
total_passed=0
total_failed=0
started=$SECONDS

say() { echo "# editors: $*"; }

# Adds the `N passed, M failed` counts of a suite's output (its last such line) to the totals; a suite that
# printed none, or that exited non-zero without a failed check, counts one failure.
tally() { # name exit-status output-file
  local name="$1" status="$2" file="$3" line passed=0 failed=0
  line="$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$file" | tail -1)"
  if [[ -n "$line" ]]; then
    passed="$(sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' <<<"$line")"
    failed="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  fi
  if ((status != 0 && failed == 0)); then
    echo "not ok - $name exited with status $status"
    failed=1
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

finish() {
  say "took $((SECONDS - started)) s"
  echo "editors: $total_passed passed, $total_failed failed"
  ((total_failed == 0))
  exit $?
}

# 1. Editors and tools.
if ! deps="$("$repo_root/scripts/install-editor-deps.sh")"; then
  echo "not ok - scripts/install-editor-deps.sh failed"
  total_failed=1
  finish
fi
eval "$deps"

# 2. The server and the extension.
server_bin="${GHOSTLINE_BIN:-}"
if [[ -z "$server_bin" ]]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/ghostline/target}"
  say "cargo build -p ghostline"
  if ! (cd "$repo_root" && cargo build -q -p ghostline -p ghostline-train --bins); then
    echo "not ok - cargo build -p ghostline -p ghostline-train"
    total_failed=1
    finish
  fi
  server_bin="$CARGO_TARGET_DIR/debug/ghostline"
fi
say "server: $server_bin ($("$server_bin" --version 2>/dev/null || echo 'no --version'))"

# The model the editors' server runs: a seeded random model directory (real engine and loader, the
# embedded model's tokenizer) whose suggestions are deterministic and never empty, so these tests
# check the editor <-> server <-> engine path whatever the embedded model's training state. The
# embedded model's own quality is measured by `ghostline eval` (docs/benchmarks.md).
# GHOSTLINE_TEST_MODEL_PATH=embedded runs them on the embedded model instead.
if [[ -z "${GHOSTLINE_TEST_MODEL_PATH:-}" ]]; then
  trainer_bin="$(dirname "$server_bin")/ghostline-train"
  GHOSTLINE_TEST_MODEL_PATH="$(mktemp -d)/seeded-model"
  if ! (cd "$repo_root" && "$trainer_bin" random-model --out "$GHOSTLINE_TEST_MODEL_PATH" --seed 7 2>/dev/null); then
    echo "not ok - $trainer_bin random-model"
    total_failed=1
    finish
  fi
fi
[[ "$GHOSTLINE_TEST_MODEL_PATH" == embedded ]] && GHOSTLINE_TEST_MODEL_PATH=""
export GHOSTLINE_TEST_MODEL_PATH
say "model: ${GHOSTLINE_TEST_MODEL_PATH:-embedded default}"

# 3. The suites.
run_suite() { # name command...
  local name="$1" out="$artifacts/$1-test.out" status=0
  shift
  say "running $name"
  "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  tally "$name" "$status" "$out"
}

if [[ " $suites " == *" nvim "* ]]; then
  run_suite nvim-unit "$NVIM" --clean --headless -l "$repo_root/tests/editors/nvim/unit.lua" "$repo_root/editors/nvim"
  run_suite nvim "$repo_root/tests/editors/nvim/run.sh" "$NVIM" "$server_bin" "$artifacts"
fi

if [[ " $suites " == *" vscode "* ]]; then
  say "packaging the VS Code extension"
  if (cd "$repo_root/editors/vscode" && npm run -s package >"$artifacts/vscode-package.out" 2>&1); then
    echo "ok - editors/vscode: tsc --noEmit, esbuild and vsce package"
    total_passed=$((total_passed + 1))
    run_suite vscode "$repo_root/tests/editors/vscode/run.sh" "$CODE_SERVER" "$server_bin" \
      "$repo_root/editors/vscode/ghostline.vsix" "$CHROMIUM" "$artifacts"
  else
    echo "not ok - editors/vscode: npm run package"
    tail -n 30 "$artifacts/vscode-package.out"
    total_failed=$((total_failed + 1))
  fi
fi

finish
