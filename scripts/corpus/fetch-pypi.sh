#!/usr/bin/env bash
# Downloads the PyPI packages listed in pypi-packages.txt into $1 (idempotent: a package with a
# file already there is skipped). Wheels first (`--only-binary :all:`): a wheel holds the package's
# installed .py files and its METADATA (licence) and needs no build, while `pip download` of an
# sdist runs the package's build backend to read its metadata (tens of seconds each, and it fails
# for backends that need a compiler). Packages without any wheel fall back to the sdist.
set -uo pipefail
DEST="$1"
LIST="$(cd "$(dirname "$0")" && pwd)/pypi-packages.txt"
mkdir -p "$DEST"
cd "$DEST"
have() {  # a downloaded file for this project name (names compared PEP 503-normalised)
  local norm
  norm="$(echo "$1" | tr 'A-Z.-' 'a-z__')"
  ls | sed 's/-[0-9].*//' | tr 'A-Z.-' 'a-z__' | grep -qx "$norm"
}
grep -v '^#' "$LIST" | while read -r name; do
  [ -n "$name" ] || continue
  have "$name" && continue
  pip download -q --no-deps --only-binary :all: -d . "$name" >/dev/null 2>&1 \
    || pip download -q --no-deps --no-binary :all: -d . "$name" >/dev/null 2>&1 \
    || echo "fetch-pypi: could not download $name" >&2
done
exit 0
