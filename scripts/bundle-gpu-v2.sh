#!/usr/bin/env bash
# Prepares the ignored folder .gpu-v2/ that `DATA=v2 scripts/train-gpu.sh` runs from on a lent GPU
# machine (no Rust toolchain, no network there):
#   ghostline-train.xz          stripped `ghostline-train` (dev profile) built here
#   train.tokens.xz, heldout.tokens.xz, {train,heldout}.json
#                               `ghostline-train prepare` of data/corpus-v2 with the SHIPPED
#                               tokenizer (model/weights/default/tokenizer.json, also tokenizer.json)
#   heldout.jsonl.xz            data/corpus-v2/heldout.jsonl (FIM exact-match evaluation)
#   gl/*.deb                    Debian's Vulkan loader (libvulkan1) and GL dispatch libraries
# TEXT=1 carries train.jsonl.xz instead of the token files (tokenized on the GPU machine).
# MAX_TRAIN_BYTES (default 115 MB, ~38M tokens) caps the training text that is tokenized: about
# what one run on the lent H100 consumes (~72k tokens/s for ~500 s), so that the bundle stays under
# 64 MiB; train.jsonl is shuffled, so its first bytes keep the language mix.
# Everything that travels (tracked + untracked-not-ignored files + the carried .gpu-v2) must stay
# under 64 MiB; the script prints that total and fails above it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/ghostline/target}"
B=.gpu-v2
MAX_TRAIN_BYTES="${MAX_TRAIN_BYTES:-115000000}"
[ -f data/corpus-v2/train.jsonl ] || CORPUS=v2 bash scripts/corpus/gather.sh
cargo build -q -p ghostline-train
T="$CARGO_TARGET_DIR/debug/ghostline-train"
rm -rf "$B" && mkdir -p "$B/gl" runs/data-v2
strip -o "$B/ghostline-train" "$T" && xz -T2 -6 "$B/ghostline-train"
cp model/weights/default/tokenizer.json runs/data-v2/tokenizer.json
cp model/weights/default/tokenizer.json "$B/tokenizer.json"
xz -T2 -6 -c data/corpus-v2/heldout.jsonl > "$B/heldout.jsonl.xz"
if [ "${TEXT:-0}" = 1 ]; then
  xz -T2 -6 -c data/corpus-v2/train.jsonl > "$B/train.jsonl.xz"
else
  "$T" prepare --corpus data/corpus-v2 --tokenizer runs/data-v2/tokenizer.json --out runs/data-v2 \
    --max-train-bytes "$MAX_TRAIN_BYTES"
  for f in train heldout; do
    xz -T2 -6 -c "runs/data-v2/$f.tokens" > "$B/$f.tokens.xz"
    cp "runs/data-v2/$f.json" "$B/"
  done
fi
(cd "$B/gl" && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libgles2 libglx0 libopengl0 >/dev/null)
tracked=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
carried=$(du -sb "$B" | cut -f1)
total=$((tracked + carried))
echo "bundle: tracked+untracked $tracked bytes + $B $carried bytes = $total bytes ($((total / 1048576)) MiB of 64)"
[ "$total" -lt $((64 * 1048576)) ] || { echo "bundle: over 64 MiB" >&2; exit 1; }
