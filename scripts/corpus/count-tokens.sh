#!/usr/bin/env bash
# Tokens per language of a corpus directory ({train,heldout}.jsonl) with a given tokenizer, as
# `ghostline-train prepare` counts them (train with the FIM transform, held-out without).
# Usage: scripts/corpus/count-tokens.sh data/corpus-v2 model/weights/default/tokenizer.json
set -euo pipefail
CORPUS="$1" TOKENIZER="$2"
T="${CARGO_TARGET_DIR:-/root/.cache/ghostline/target}/debug/ghostline-train"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 - "$CORPUS" "$TMP" <<'PY'
import json, sys
from pathlib import Path
corpus, tmp = Path(sys.argv[1]), Path(sys.argv[2])
group = {"javascript": "js+ts", "typescript": "js+ts"}
for split in ("train", "heldout"):
    outs = {}
    for line in open(corpus / f"{split}.jsonl"):
        lang = group.get(json.loads(line)["lang"], json.loads(line)["lang"])
        if lang not in outs:
            (tmp / lang).mkdir(exist_ok=True)
            outs[lang] = open(tmp / lang / f"{split}.jsonl", "w")
        outs[lang].write(line)
    for f in outs.values():
        f.close()
for d in tmp.iterdir():
    for split in ("train", "heldout"):
        (d / f"{split}.jsonl").touch()
PY
printf 'language\ttrain_bytes\ttrain_tokens\theldout_tokens\n'
for d in "$TMP"/*/; do
  "$T" prepare --corpus "$d" --tokenizer "$TOKENIZER" --out "$d/out" --max-train-bytes 4000000000 >/dev/null 2>&1
  python3 -c "import json,sys; t=json.load(open(sys.argv[1]+'/out/train.json')); h=json.load(open(sys.argv[1]+'/out/heldout.json')); print(f\"{sys.argv[2]}\t{t['bytes']}\t{t['tokens']}\t{h['tokens']}\")" "$d" "$(basename "$d")"
done
