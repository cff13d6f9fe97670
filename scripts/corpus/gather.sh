#!/usr/bin/env bash
# Rebuilds data/corpus/{train,heldout}.jsonl and data/manifest.tsv from sources on this machine.
# Idempotent: the outputs are overwritten, identical for identical inputs. Go and npm sources are
# fetched once by fetch-extra.sh (apt and npm); nothing else touches the network.
#
# CORPUS=v2 builds corpus v2 instead (for continuing the shipped model): data/corpus-v2/
# {train,heldout}.jsonl, data/manifest-v2.tsv and data/train-sources-v2.tsv, from sources the
# shipped corpus never used (PyPI packages, Debian's Go libraries, more npm packages, more crates;
# `fetch-extra.sh v2`), without any package of the shipped corpus (data/train-sources.tsv) and
# deduplicated (exact and near) against its documents (data/corpus/*.jsonl, rebuilt first if
# missing), with the languages balanced by leaving out whole packages (--mix) and no repetition.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXCLUDE=(--devset data/devset --exclude bstr --exclude more-itertools --exclude commander)
if [ "${CORPUS:-v1}" = v2 ]; then
  [ -f data/corpus/train.jsonl ] && [ -f data/corpus/heldout.jsonl ] || CORPUS=v1 bash scripts/corpus/gather.sh
  EXTRA="$(bash scripts/corpus/fetch-extra.sh v2)"
  python3 scripts/corpus/build_corpus.py --registry "$(ls -d "$EXTRA"/cargo-v2/home/registry/src/*/ | head -1)" \
    --pypi "$EXTRA/pypi" --go-deb "$EXTRA/go-deb" --npm "$EXTRA/npm-v2" \
    --shipped-corpus data/corpus/train.jsonl --shipped-corpus data/corpus/heldout.jsonl \
    --shipped-sources data/train-sources.tsv \
    --python-repeat 1 --mix "${MIX:-python=0.363,rust=0.291,go=0.16,js=0.186}" \
    --out data/corpus-v2 --manifest data/manifest-v2.tsv --sources-list data/train-sources-v2.tsv \
    "${EXCLUDE[@]}" "$@"
  exit 0
fi
REGISTRY="${REGISTRY:-$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)}"
PY_STDLIB="${PY_STDLIB:-$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}"
EXTRA="$(bash scripts/corpus/fetch-extra.sh)"
python3 scripts/corpus/build_corpus.py --registry "$REGISTRY" --python-stdlib "$PY_STDLIB" \
  --go-src "$EXTRA/go/x/usr/share/go-1.19/src" --npm "$EXTRA/npm" \
  --out data/corpus --manifest data/manifest.tsv --sources-list data/train-sources.tsv "${EXCLUDE[@]}" "$@"
