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
set -uo pipefail
T0=$(date +%s)
OUT="${OUT:?set OUT}"
DEADLINE="${DEADLINE:-560}"        # seconds after start by which training must have stopped
CONFIG="${CONFIG:-trainer/configs/gpu.json}"
DEVICE="${DEVICE:-gpu}"
mkdir -p "$OUT"
log() { echo "[train-gpu $(( $(date +%s) - T0 ))s] $*"; }

if ls .gl/*.deb >/dev/null 2>&1 && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
done
export XDG_RUNTIME_DIR=/tmp
log "vulkan driver: ${VK_DRIVER_FILES:-none found}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
nproc

BIN=/tmp/ghostline-train
xz -dc .gpu/ghostline-train.xz > "$BIN" && chmod +x "$BIN" || { log "no trainer binary"; exit 1; }
mkdir -p runs/data-full data/corpus
xz -dc .gpu/train.tokens.xz > runs/data-full/train.tokens
xz -dc .gpu/heldout.tokens.xz > runs/data-full/heldout.tokens
cp .gpu/train.json .gpu/heldout.json .gpu/tokenizer.json runs/data-full/
xz -dc .gpu/heldout.jsonl.xz > data/corpus/heldout.jsonl
log "data ready: $(stat -c %s runs/data-full/train.tokens) bytes of training tokens"

# The budget is what is left before DEADLINE, less a margin for the final evaluation and export.
BUDGET="${TRAIN_BUDGET:-$(( DEADLINE - ($(date +%s) - T0) - 25 ))}"
python3 - "$CONFIG" "$BUDGET" > /tmp/run-config.json <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config["time_budget_secs"] = float(sys.argv[2])
print(json.dumps(config, indent=2))
EOF
log "training on $DEVICE with a budget of ${BUDGET}s"
RUN=runs/gpu
rm -rf "$RUN"
"$BIN" train --config /tmp/run-config.json --out "$RUN" --device "$DEVICE" > "$OUT/train.log" 2>&1 &
PID=$!
# Watchdog: past the deadline, ask the trainer to checkpoint and stop.
( while kill -0 "$PID" 2>/dev/null; do
    if [ $(( $(date +%s) - T0 )) -ge "$DEADLINE" ]; then touch "$RUN/STOP"; break; fi
    sleep 2
  done ) &
wait "$PID"; RC=$?
log "trainer exited with $RC"
grep -E "training on|parameters|time budget|eval at|checkpoint at|done:|rror|panick" "$OUT/train.log" | tail -40
if [ ! -f "$RUN/checkpoint/model.bpk" ]; then
  # No usable adapter (or the wgpu path failed early): train on the CPU cores for what is left.
  BUDGET=$(( DEADLINE - ($(date +%s) - T0) - 25 ))
  log "no GPU checkpoint; falling back to the CPU (flex) for ${BUDGET}s"
  python3 - /tmp/run-config.json "$BUDGET" > /tmp/run-config-cpu.json <<'EOF2'
import json, sys
config = json.load(open(sys.argv[1]))
config["time_budget_secs"] = float(sys.argv[2])
print(json.dumps(config, indent=2))
EOF2
  rm -rf "$RUN"
  "$BIN" train --config /tmp/run-config-cpu.json --out "$RUN" --device cpu >> "$OUT/train.log" 2>&1 &
  PID=$!
  ( while kill -0 "$PID" 2>/dev/null; do
      if [ $(( $(date +%s) - T0 )) -ge "$DEADLINE" ]; then touch "$RUN/STOP"; break; fi
      sleep 2
    done ) &
  wait "$PID"
  [ -f "$RUN/checkpoint/model.bpk" ] || { log "no checkpoint at all"; exit 1; }
fi
"$BIN" export --run "$RUN" --out /tmp/model --dtype f32 >> "$OUT/train.log" 2>&1 || { log "export failed"; exit 1; }
tar -C "$RUN" -cf "$OUT/run.tar" run_config.json checkpoint/state.json evals.json loss.svg
tar -C /tmp -cf - model | split -b 15M - "$OUT/model.tar.part-"
ls -la "$OUT"
log "done"
