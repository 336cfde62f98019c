#!/usr/bin/env bash
# Check formatting (black, line length 100) and lint (ruff); configured in pyproject.toml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
cd "$ROOT"
"$VENV/bin/black" --check hardkuma_allennlp tests scripts benchmarks setup.py
"$VENV/bin/ruff" check hardkuma_allennlp tests scripts benchmarks setup.py
echo "lint.sh: OK"
