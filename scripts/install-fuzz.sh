#!/usr/bin/env bash
# Installs what the fuzz smoke run needs, idempotently: a nightly toolchain (libFuzzer's
# instrumentation needs -Z flags) and cargo-fuzz from the crate registry.
set -euo pipefail
CARGO_FUZZ_VERSION=0.13.2

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    # Its own target dir: never the project's shared one.
    CARGO_TARGET_DIR="$HOME/.cache/ghostline/cargo-fuzz-install" \
        cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
