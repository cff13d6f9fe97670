#!/usr/bin/env bash
# Rebuilds data/corpus/{train,heldout}.jsonl and data/manifest.tsv from sources on this machine.
# Idempotent: the outputs are overwritten, identical for identical inputs. Go and npm sources are
# fetched once by fetch-extra.sh (apt and npm); nothing else touches the network.
set -euo pipefail
cd "$(dirname "$0")/../.."
REGISTRY="${REGISTRY:-$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)}"
PY_STDLIB="${PY_STDLIB:-$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}"
EXTRA="$(bash scripts/corpus/fetch-extra.sh)"
python3 scripts/corpus/build_corpus.py --registry "$REGISTRY" --python-stdlib "$PY_STDLIB" \
  --go-src "$EXTRA/go/x/usr/share/go-1.19/src" --npm "$EXTRA/npm" \
  --out data/corpus --manifest data/manifest.tsv --sources-list data/train-sources.tsv --devset data/devset \
  --exclude bstr --exclude more-itertools --exclude commander "$@"
