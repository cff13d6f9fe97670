#!/usr/bin/env bash
# Fetches the Go and JavaScript/TypeScript sources of the training corpus into
# ~/.cache/ghostline/corpus-src (idempotent; through apt and npm only):
#   go/   Debian's golang-1.19-src package (Go's standard library, BSD-3-Clause), unpacked
#   npm/  `npm pack` tarballs of the packages below (licences checked by build_corpus.py)
# None of these packages is in the dev set (data/devset/README.md) or the replay benchmark's
# held-out repositories (commander, bstr, more-itertools).
# `fetch-extra.sh v2` also fetches the sources of corpus v2 (see gather.sh; lists beside this
# script; every licence is checked by build_corpus.py), each into its own folder so that the
# shipped corpus (which reads go/, npm/ and the shared cargo registry) stays as it was:
#   pypi/      `pip download` of pypi-packages.txt (fetch-pypi.sh)
#   go-deb/    `apt-get download` of go-packages.txt, unpacked into go-deb/x/PACKAGE/
#   npm-v2/    `npm pack` of npm-packages.txt
#   cargo-v2/  `cargo fetch` of a throwaway crate depending on crates-v2.txt, with its own
#              CARGO_HOME (cargo-v2/home), so the shared registry cache is untouched
set -euo pipefail
LISTS="$(cd "$(dirname "$0")" && pwd)"
DEST="${CORPUS_SRC:-$HOME/.cache/ghostline/corpus-src}"
mkdir -p "$DEST/go" "$DEST/npm"
cd "$DEST/go"
if [ ! -d x/usr/share/go-1.19/src ]; then
  ls golang-1.19-src_*.deb >/dev/null 2>&1 || apt-get download golang-1.19-src
  dpkg -x golang-1.19-src_*.deb x
fi
cd "$DEST/npm"
PACKAGES=(express koa lodash underscore moment dayjs axios chalk minimist debug ws mocha webpack
  eslint acorn esprima handlebars mustache d3-array d3-scale d3-shape three jquery node-fetch
  superagent luxon ajv graphql preact immer rxjs fp-ts io-ts effect @tanstack/query-core
  @trpc/server mobx fastify pino winston estraverse postcss uglify-js terser joi yargs-parser
  async marked cheerio @sinclair/typebox inversify ts-pattern kysely)
if [ "$(ls ./*.tgz 2>/dev/null | wc -l)" -lt "${#PACKAGES[@]}" ]; then
  npm pack --silent "${PACKAGES[@]}" >/dev/null
fi
if [ "${1:-}" = v2 ]; then
  lines() { grep -v '^#' "$1" | grep -v '^$'; }
  bash "$LISTS/fetch-pypi.sh" "$DEST/pypi" >&2
  mkdir -p "$DEST/go-deb/x" && cd "$DEST/go-deb"
  ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq >&2
  for p in $(lines "$LISTS/go-packages.txt"); do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || echo "fetch-extra: no Debian package $p" >&2
    if [ ! -d "x/$p" ] && ls "${p}"_*.deb >/dev/null 2>&1; then
      dpkg-deb -x "$(ls "${p}"_*.deb | head -1)" "x/$p.tmp" && mv "x/$p.tmp" "x/$p"
    fi
  done
  mkdir -p "$DEST/npm-v2" && cd "$DEST/npm-v2"
  for p in $(lines "$LISTS/npm-packages.txt"); do
    f="$(echo "$p" | sed 's|^@||; s|/|-|')"
    ls "$f"-[0-9]*.tgz >/dev/null 2>&1 || npm pack --silent "$p" >/dev/null 2>&1 || echo "fetch-extra: no npm package $p" >&2
  done
  mkdir -p "$DEST/cargo-v2/home" "$DEST/cargo-v2/scratch/src" && cd "$DEST/cargo-v2/scratch"
  if [ ! -f fetched ] || ! cmp -s "$LISTS/crates-v2.txt" fetched; then
    echo 'fn main() {}' > src/main.rs
    { printf '[package]\nname = "corpus-v2-scratch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n'
      lines "$LISTS/crates-v2.txt" | sed 's/.*/& = "*"/'; } > Cargo.toml
    # crates-v2.lock pins the versions that made data/manifest-v2.tsv.
    [ -f Cargo.lock ] || cp "$LISTS/crates-v2.lock" Cargo.lock 2>/dev/null \
      || CARGO_HOME="$DEST/cargo-v2/home" cargo generate-lockfile -q >&2
    CARGO_HOME="$DEST/cargo-v2/home" cargo fetch -q >&2 && cp "$LISTS/crates-v2.txt" fetched
  fi
fi
echo "$DEST"
