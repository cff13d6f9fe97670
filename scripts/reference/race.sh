#!/usr/bin/env bash
# Speed race on one GGUF, same machine, same thread count, one run:
# ghostline (`ghostline bench model --models GGUF`) vs llama.cpp (llama-cpp-python).
#   bash scripts/reference/race.sh [GGUF] [--threads N] [--prompt N] [--decode N] [--repeats N]
# Needs the full reference install (scripts/install-llamacpp.sh, builds llama.cpp once) and a
# built `ghostline` ($GHOSTLINE_BIN from scripts/env.sh). Prints a markdown table with ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
GGUF=""
THREADS="$(nproc)"
PROMPT=128
DECODE=32
REPEATS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --prompt) PROMPT="$2"; shift 2 ;;
    --decode) DECODE="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    *) GGUF="$1"; shift ;;
  esac
done
[ -n "$GGUF" ] || GGUF="$(bash scripts/install-llamacpp.sh --print-gguf)"
PY="${GHOSTLINE_LLAMACPP_VENV:-$HOME/.cache/ghostline/llamacpp-venv}/bin/python"
[ -x "$GHOSTLINE_BIN" ] || cargo build -q -p ghostline --bin ghostline
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

echo "race: $(basename "$GGUF"), $THREADS threads, prompt $PROMPT, decode $DECODE, median of $REPEATS; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Both engines run one after the other, alternating, so background load hits both alike.
RAYON_NUM_THREADS="$THREADS" "$GHOSTLINE_BIN" bench model --models "$GGUF" --devices cpu \
  --prompt-tokens "$PROMPT" --decode-tokens "$DECODE" --repeats "$REPEATS" --json --out "$OUT/ours.json" >/dev/null
"$PY" scripts/reference/llamacpp_speed.py "$GGUF" "$THREADS" "$PROMPT" "$DECODE" "$REPEATS" > "$OUT/llamacpp.json"

python3 - "$OUT/ours.json" "$OUT/llamacpp.json" "$THREADS" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1]))["cases"][0]
ref = json.load(open(sys.argv[2]))
if ours.get("skipped"):
    sys.exit(f"ghostline case failed: {ours['skipped']}")
def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"
print(f"| engine | threads | prefill {ours['prompt_tokens']} tok (tok/s) | decode {ours['decode_tokens']} tok (tok/s) | decode ms/token | load ms |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| ghostline ({ours['device_description']}; f32 prefill, decode from the GGUF blocks) | {sys.argv[3]} | {ours['prefill_tokens_per_s']:.1f} | {ours['decode_tokens_per_s']:.2f} | {ours['decode_ms_per_token']:.1f} | {ours['load_ms']:.0f} |")
print(f"| {ref['engine']} (Q4_1 weights) | {ref['threads']} | {ref['prefill_tokens_per_s']:.1f} | {ref['decode_tokens_per_s']:.2f} | {ref['decode_ms_per_token']:.1f} | {ref['load_ms']:.0f} |")
print(f"| **ghostline / llama.cpp** | | **{ratio(ours['prefill_tokens_per_s'], ref['prefill_tokens_per_s'])}** | **{ratio(ours['decode_tokens_per_s'], ref['decode_tokens_per_s'])}** | | |")
PYEOF
