#!/usr/bin/env bash
#! Runs the Neovim end-to-end test: Neovim (in tmux, so the screen can be captured) with the plugin and the server,
#! driven over RPC by driver.lua. Usage: tests/editors/nvim/run.sh NVIM SERVER_BIN [ARTIFACTS]
#! GHOSTLINE_SERVER_ARGS (default "lsp") replaces the server's arguments; the log file is added to them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
nvim_bin="$1"
server_bin="$2"
artifacts="${3:-$repo_root/tests/artifacts}"
mkdir -p "$artifacts"

work="$(mktemp -d /tmp/ghostline-nvim-e2e.XXXXXX)"
session="ghostline-nvim-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  sleep 0.3 # let Neovim exit before its state directory goes
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work/project/src" "$work/xdg/config" "$work/xdg/data" "$work/xdg/state" "$work/xdg/cache"
touch "$work/project/Cargo.toml"
# Two finished functions and an empty third: a pattern even a small model can continue.
printf 'fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n\nfn mul(a: i32, b: i32) -> i32 {\n}\n' >"$work/project/src/lib.rs"
log_file="$work/server.log"
read -r -a server_args <<<"${GHOSTLINE_SERVER_ARGS:-lsp}"
cmd_json="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$server_bin" "${server_args[@]}" --log-file "$log_file")"

export XDG_CONFIG_HOME="$work/xdg/config" XDG_DATA_HOME="$work/xdg/data" XDG_STATE_HOME="$work/xdg/state"
export XDG_CACHE_HOME="$work/xdg/cache"
export GHOSTLINE_PLUGIN_DIR="$repo_root/editors/nvim" GHOSTLINE_CMD="$cmd_json"
socket="$work/nvim.sock"
editor=("$nvim_bin" -u "$here/init.lua" -i NONE -n --listen "$socket" "$work/project/src/lib.rs")

if command -v tmux >/dev/null; then
  tmux new-session -d -s "$session" -x 100 -y 30 -c "$work/project" \
    -e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" -e "XDG_DATA_HOME=$XDG_DATA_HOME" -e "XDG_STATE_HOME=$XDG_STATE_HOME" \
    -e "XDG_CACHE_HOME=$XDG_CACHE_HOME" -e "GHOSTLINE_PLUGIN_DIR=$GHOSTLINE_PLUGIN_DIR" -e "GHOSTLINE_CMD=$GHOSTLINE_CMD" -e "GHOSTLINE_TEST_MODEL_PATH=${GHOSTLINE_TEST_MODEL_PATH:-}" \
    -e "TERM=xterm-256color" "$(printf '%q ' "${editor[@]}")"
  export TMUX_TARGET="$session"
else
  echo "# tmux not found: running Neovim headless, no screen capture" >&2
  (cd "$work/project" && "${editor[@]}" --headless >"$work/editor.out" 2>&1 &)
fi

status=0
NVIM_SOCKET="$socket" GHOSTLINE_LOG_FILE="$log_file" ARTIFACTS="$artifacts" \
  timeout "${DRIVER_TIMEOUT_S:-420}" "$nvim_bin" --clean -l "$here/driver.lua" || status=$?
cp "$log_file" "$artifacts/nvim-server.log" 2>/dev/null || true
if ((status != 0)); then
  echo "# server log (last 30 lines):"
  tail -n 30 "$log_file" 2>/dev/null | sed 's/^/#   /' || true
  lsp_log="$XDG_STATE_HOME/nvim/lsp.log"
  [[ -f "$lsp_log" ]] && { echo "# lsp.log (last 20 lines):"; tail -n 20 "$lsp_log" | sed 's/^/#   /'; }
fi
exit "$status"
