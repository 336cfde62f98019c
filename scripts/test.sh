#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (made by scripts/install.sh).
#   bash scripts/test.sh              # the whole suite
#   bash scripts/test.sh tests/models # pytest arguments pass through
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
if [[ ! -f "$VENV/.hardkuma-allennlp-installed" ]]; then
  echo "test.sh: $VENV is not a complete install; run: bash scripts/install.sh" >&2
  exit 1
fi
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
