#!/usr/bin/env bash
set -euo pipefail

for file in *.txt; do$0
done
