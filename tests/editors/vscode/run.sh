#!/usr/bin/env bash
#! Runs the VS Code end-to-end test: installs the .vsix into a fresh code-server profile, starts code-server on a free
#! loopback port, and drives it in headless Chromium with test.mjs.
#! Usage: tests/editors/vscode/run.sh CODE_SERVER SERVER_BIN VSIX CHROMIUM [ARTIFACTS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
code_server="$1"
server_bin="$2"
vsix="$3"
chromium_bin="$4"
artifacts="${5:-$repo_root/tests/artifacts}"
mkdir -p "$artifacts"

work="$(mktemp -d /tmp/ghostline-vscode-e2e.XXXXXX)"
code_server_pid=""
cleanup() {
  [[ -n "$code_server_pid" ]] && kill "$code_server_pid" 2>/dev/null && wait "$code_server_pid" 2>/dev/null
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

project="$work/project"
mkdir -p "$project/src" "$work/user-data/User" "$work/extensions" "$work/home"
touch "$project/Cargo.toml"
# Two finished functions and an empty third: a pattern even a small model can continue.
printf 'fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n\nfn mul(a: i32, b: i32) -> i32 {\n}\n' >"$project/src/lib.rs"
log_file="$work/server.log"
python3 - "$work/user-data/User/settings.json" "$server_bin" "$log_file" <<'EOF'
import json, os, sys
path, server, log = sys.argv[1:4]
json.dump({
    "ghostline.serverPath": server,
    "ghostline.logFile": log,
    "ghostline.modelPath": os.environ.get("GHOSTLINE_TEST_MODEL_PATH", ""),
    "ghostline.debounceMs": 30,
    "ghostline.maxLines": 4,
    "editor.inlineSuggest.enabled": True,
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.autoClosingBrackets": "never",
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "update.mode": "none",
    "files.autoSave": "off",
    "chat.disableAIFeatures": True,
}, open(path, "w"), indent=2)
EOF

common=(--user-data-dir "$work/user-data" --extensions-dir "$work/extensions")
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
"$code_server" "${common[@]}" --install-extension "$vsix" >"$work/install.log" 2>&1 || {
  echo "not ok - install the .vsix into code-server"; cat "$work/install.log"; echo "vscode: 0 passed, 1 failed"; exit 1; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$code_server" "${common[@]}" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override --config /dev/null \
  "$project" >"$work/code-server.log" 2>&1 &
code_server_pid=$!
for _ in $(seq 1 100); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

status=0
CODE_URL="http://127.0.0.1:$port/?folder=$project" PROJECT="$project" GHOSTLINE_LOG_FILE="$log_file" \
  CHROMIUM="$chromium_bin" ARTIFACTS="$artifacts" \
  timeout "${DRIVER_TIMEOUT_S:-420}" node "$here/test.mjs" || status=$?
cp "$log_file" "$artifacts/vscode-server.log" 2>/dev/null || true
if ((status != 0)); then
  echo "# server log (last 30 lines):"
  tail -n 30 "$log_file" 2>/dev/null | sed 's/^/#   /' || true
  echo "# code-server log (last 20 lines):"
  tail -n 20 "$work/code-server.log" | sed 's/^/#   /'
  exthost_log="$(find "$work/user-data/logs" -name 'remoteexthost.log' 2>/dev/null | head -1)"
  [[ -n "$exthost_log" ]] && { echo "# extension host log (last 20 lines):"; tail -n 20 "$exthost_log" | sed 's/^/#   /'; }
fi
exit "$status"
