#!/usr/bin/env bash
# Fetches the Go and JavaScript/TypeScript sources of the training corpus into
# ~/.cache/ghostline/corpus-src (idempotent; through apt and npm only):
#   go/   Debian's golang-1.19-src package (Go's standard library, BSD-3-Clause), unpacked
#   npm/  `npm pack` tarballs of the packages below (licences checked by build_corpus.py)
# None of these packages is in the dev set (data/devset/README.md) or the replay benchmark's
# held-out repositories (commander, bstr, more-itertools).
set -euo pipefail
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
echo "$DEST"
