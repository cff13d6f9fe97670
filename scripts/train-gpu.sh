#!/usr/bin/env bash
# One-shot training run of the default model on a lent GPU machine (how the shipped model was
# made; see model/weights/default/MODEL_CARD.md). It runs from a bundle prepared on the build
# machine, because the GPU machine has no Rust toolchain and no network:
#   .gpu/ghostline-train.xz   stripped `ghostline-train` (dev profile) built here
#   .gpu/train.tokens.xz, .gpu/heldout.tokens.xz, .gpu/{train,heldout}.json, .gpu/tokenizer.json
#                             `ghostline-train prepare` output for the corpus (scripts/corpus/gather.sh)
#   .gpu/heldout.jsonl.xz     data/corpus/heldout.jsonl (FIM exact-match evaluation)
#   .gl/*.deb                 the Vulkan loader (Debian's libvulkan1 and friends)
# Training uses burn's wgpu backend (Vulkan on the NVIDIA driver) with a wall-clock budget: the
# trainer times its first steps and fits the cosine schedule into TRAIN_BUDGET seconds.
# Output in $OUT: train.log, run.tar (run_config.json, state.json, evals.json, loss.svg) and the
# f32 model directory split into <16 MiB parts (model.tar.part-*).
# Usage: OUT=dir [TRAIN_BUDGET=s] [DEADLINE=s] [CONFIG=file] bash scripts/train-gpu.sh
#
# DATA=v2: continue the shipped model on corpus v2 (`CORPUS=v2 scripts/corpus/gather.sh`) from the
# bundle .gpu-v2/ made by `scripts/bundle-gpu-v2.sh` (the same files as above, plus the Vulkan
# loader in .gpu-v2/gl/), with trainer/configs/gpu-v2.json (init_from model/weights/default, a
# fresh optimizer), into runs/gpu-v2. If the bundle carries train.jsonl.xz instead of
# train.tokens.xz, the corpus is tokenized here first with the shipped tokenizer.
set -uo pipefail
T0=$(date +%s)
OUT="${OUT:?set OUT}"
DEADLINE="${DEADLINE:-560}"        # seconds after start by which training must have stopped
DATA="${DATA:-v1}"
if [ "$DATA" = v2 ]; then
  BUNDLE=.gpu-v2 DATA_DIR=runs/data-v2 CORPUS_DIR=data/corpus-v2 RUN=runs/gpu-v2
  CONFIG="${CONFIG:-trainer/configs/gpu-v2.json}"
else
  BUNDLE=.gpu DATA_DIR=runs/data-full CORPUS_DIR=data/corpus RUN=runs/gpu
  CONFIG="${CONFIG:-trainer/configs/gpu.json}"
fi
DEVICE="${DEVICE:-gpu}"
mkdir -p "$OUT"
log() { echo "[train-gpu $(( $(date +%s) - T0 ))s] $*"; }

# The Vulkan loader from .gl/ (v1 bundle) or $BUNDLE/gl/, installed only for a GPU run.
debs="$(ls .gl/*.deb "$BUNDLE"/gl/*.deb 2>/dev/null || true)"
if [ "$DEVICE" = gpu ] && [ -n "$debs" ] && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in $debs; do dpkg -x "$f" /; done
  ldconfig
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
done
export XDG_RUNTIME_DIR=/tmp
log "vulkan driver: ${VK_DRIVER_FILES:-none found}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
nproc

WORK="$(mktemp -d /tmp/train-gpu.XXXXXX)"   # binary, configs and export: nothing shared in /tmp is overwritten
trap 'rm -rf "$WORK"' EXIT
BIN="$WORK/ghostline-train"
xz -dc "$BUNDLE/ghostline-train.xz" > "$BIN" && chmod +x "$BIN" || { log "no trainer binary"; exit 1; }
mkdir -p "$DATA_DIR" "$CORPUS_DIR"
xz -dc "$BUNDLE/heldout.jsonl.xz" > "$CORPUS_DIR/heldout.jsonl"
cp "$BUNDLE/tokenizer.json" "$DATA_DIR/"
if [ -f "$BUNDLE/train.tokens.xz" ]; then
  xz -T0 -dc "$BUNDLE/train.tokens.xz" > "$DATA_DIR/train.tokens"
  xz -dc "$BUNDLE/heldout.tokens.xz" > "$DATA_DIR/heldout.tokens"
  cp "$BUNDLE/train.json" "$BUNDLE/heldout.json" "$DATA_DIR/"
else
  xz -T0 -dc "$BUNDLE/train.jsonl.xz" > "$CORPUS_DIR/train.jsonl"
  "$BIN" prepare --corpus "$CORPUS_DIR" --tokenizer "$DATA_DIR/tokenizer.json" --out "$DATA_DIR" \
    --max-train-bytes "${MAX_TRAIN_BYTES:-115000000}" >> "$OUT/train.log" 2>&1 || { log "prepare failed"; exit 1; }
fi
log "data ready: $(stat -c %s "$DATA_DIR/train.tokens") bytes of training tokens"

# Writes $CONFIG with a time budget of what is left before DEADLINE (less a margin for the final
# evaluation and export) to $1, then trains on device $2 with a watchdog that touches STOP past
# the deadline.
train_until_deadline() {
  local config_out=$1 device=$2 budget pid
  budget="${TRAIN_BUDGET:-$(( DEADLINE - ($(date +%s) - T0) - 25 ))}"
  python3 - "$CONFIG" "$budget" > "$config_out" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config["time_budget_secs"] = float(sys.argv[2])
print(json.dumps(config, indent=2))
EOF
  log "training on $device with a budget of ${budget}s"
  rm -rf "$RUN"
  "$BIN" train --config "$config_out" --out "$RUN" --device "$device" >> "$OUT/train.log" 2>&1 &
  pid=$!
  ( while kill -0 "$pid" 2>/dev/null; do
      if [ $(( $(date +%s) - T0 )) -ge "$DEADLINE" ]; then touch "$RUN/STOP"; break; fi
      sleep 2
    done ) &
  wait "$pid"
  log "trainer exited with $?"
}

train_until_deadline "$WORK/run-config.json" "$DEVICE"
grep -E "training on|parameters|time budget|eval at|checkpoint at|done:|rror|panick" "$OUT/train.log" | tail -40
if [ ! -f "$RUN/checkpoint/model.bpk" ]; then
  # No usable adapter (or the wgpu path failed early): train on the CPU cores for what is left.
  log "no GPU checkpoint; falling back to the CPU (flex)"
  unset TRAIN_BUDGET
  train_until_deadline "$WORK/run-config-cpu.json" cpu
  [ -f "$RUN/checkpoint/model.bpk" ] || { log "no checkpoint at all"; exit 1; }
fi
"$BIN" export --run "$RUN" --out "$WORK/model" --dtype f32 >> "$OUT/train.log" 2>&1 || { log "export failed"; exit 1; }
tar -C "$RUN" -cf "$OUT/run.tar" run_config.json checkpoint/state.json evals.json loss.svg
cp "$DATA_DIR/train.json" "$OUT/train-data.json" 2>/dev/null
tar -C "$WORK" -cf - model | split -b 15M - "$OUT/model.tar.part-"
ls -la "$OUT"
log "done"
