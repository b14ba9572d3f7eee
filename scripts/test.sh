#!/usr/bin/env bash
# Set up and run the whole test suite: lint (ruff), types (mypy --strict), then pytest; with no
# arguments, then a representative part on the oldest supported dlt and DuckDB (test_low.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export RUNTIME__DLTHUB_TELEMETRY=false
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
bash scripts/postgres.sh
if [ ! -x /usr/bin/chromium ]; then  # the HTML report is tested in headless Chromium
  echo "installing Debian's chromium for the report test"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi
.venv/bin/python -m pytest -n 2 --dist loadfile -q "$@"
if [ $# -eq 0 ]; then
  echo "== pytest, oldest supported versions"
  bash scripts/test_low.sh
fi
