#!/usr/bin/env bash
# Latency of the remote backend next to the local one, through the real LSP path
# (`ghostline bench latency`: typing replayed into `ghostline lsp`), same files, seed and typing.
#   remote: SmolLM2-135M (GGUF, Q4_1) served by llama-cpp-python's OpenAI-compatible server on
#           127.0.0.1 (installed by scripts/install-llamacpp.sh)
#   local:  the embedded default model on the burn engine (or --server-arg=--model=DIR via LOCAL_ARGS)
# Usage: bash scripts/bench-remote.sh [extra `bench latency` args, e.g. --n-files 2]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
GGUF="$(bash scripts/install-llamacpp.sh --print-gguf)"
PY="${GHOSTLINE_LLAMACPP_VENV:-$HOME/.cache/ghostline/llamacpp-venv}/bin/python"
BIN="${GHOSTLINE_BIN:-}"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  cargo build -q -p ghostline --bin ghostline
  BIN="$CARGO_TARGET_DIR/debug/ghostline"
fi
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$(mktemp -t ghostline-llama-server.XXXXXX.log)"
"$PY" -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" --n_ctx 2048 ${SERVER_ARGS:-} >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done
# One request to warm the server (the first one pays llama.cpp's lazy set-up).
"$PY" - "$PORT" <<'PYEOF'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/completions",
    data=json.dumps({"prompt": "def f():", "max_tokens": 4}).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=120).read()
PYEOF
# Settings both runs share (JSON members), e.g. SETTINGS='"prefixChars": 1000' for a smaller window.
SETTINGS="${SETTINGS:-}"
SEP="${SETTINGS:+, }"
echo "## remote: openai backend, SmolLM2-135M Q4_1 via llama-cpp-python on 127.0.0.1:$PORT"
"$BIN" bench latency "$@" --init-options "{\"timings\": true$SEP$SETTINGS, \"backend\": \"openai\", \"endpoint\": \"http://127.0.0.1:$PORT\", \"remoteModel\": \"SmolLM2-135M\"}"
echo
echo "## local: embedded default model (burn engine)"
"$BIN" bench latency "$@" --init-options "{\"timings\": true$SEP$SETTINGS}" ${LOCAL_ARGS:-}
