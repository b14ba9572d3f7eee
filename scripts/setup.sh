#!/usr/bin/env bash
# Create .venv (if missing) and install the project with the given extras, e.g. `emulator` or `dev`;
# the emulator (its own distribution, emulator/) is installed from this tree alongside.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$extras-$(cat pyproject.toml emulator/pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ./emulator -e ".[$extras]"
  touch "$stamp"
fi
