#!/usr/bin/env bash
# Installs the system packages the Rust tests need. Idempotent: does nothing when present.
set -euo pipefail
need=()
for pkg in mesa-vulkan-drivers libvulkan1 python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "install-test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
