#!/usr/bin/env bash
# Builds ghostline and asks the embedded default model for a suggestion on a sample file,
# exactly as the language server would answer an editor at that position.
# Usage: scripts/demo.sh [FILE LINE COLUMN]   (default: examples/demo.py, line 2, column 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
file="${1:-examples/demo.py}"; line="${2:-2}"; column="${3:-5}"
cargo build -p ghostline --bin ghostline
echo "--- $file, line $line, column $column:"
cat -n "$file"
echo "--- suggestion:"
"$GHOSTLINE_BIN" complete "$file" --line "$line" --column "$column"
