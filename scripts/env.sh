# Shared environment for the project's scripts (sourced, not run).
# Builds go to one target directory outside the clone, so a fresh clone (CI) reuses the
# dependency build (burn takes ~25 minutes to build from scratch on 2 cores).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ghostline/target}"
export GHOSTLINE_BIN="$CARGO_TARGET_DIR/debug/ghostline"
# wgpu without a GPU (Mesa lavapipe): quiet its runtime-dir warning, keep autotuning short.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}"
