#!/usr/bin/env bash
# The oldest dlt and DuckDB that pyproject.toml allows, in .venv-low (made once, reused while
# pyproject.toml and this script are unchanged), and a representative part of the suite on
# them: unit and client tests, a DuckDB sync against ground truth, the good-citizen tests
# (DuckDB and PostgreSQL), dlt's conventions, destination config and a replayed load job.
# scripts/test.sh runs it after the full suite (on the newest versions); needs PostgreSQL
# (scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
LOWEST=("dlt[parquet,postgres]==1.28.0" "duckdb==1.4.0")
python="${PYTHON:-python3}"
if [ ! -x .venv-low/bin/python ]; then
  "$python" -m venv .venv-low
fi
stamp=".venv-low/.installed-$(cat pyproject.toml emulator/pyproject.toml scripts/test_low.sh | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv-low/bin/python -m pip install --quiet --upgrade pip
  .venv-low/bin/python -m pip install --quiet -e ./emulator -e ".[postgres,emulator]" "${LOWEST[@]}" \
    "pytest>=8" "pytest-xdist>=3.5"
  touch "$stamp"
fi
export RUNTIME__DLTHUB_TELEMETRY=false
.venv-low/bin/python -c 'import dlt, duckdb; print(f"== pytest on dlt {dlt.__version__}, duckdb {duckdb.__version__}")'
.venv-low/bin/python -m pytest -n 2 --dist loadfile -q -p no:cacheprovider \
  tests/unit tests/client tests/emulator/test_admin_switch.py \
  "tests/integration/test_sync_duckdb.py::test_first_run_equals_ground_truth" \
  tests/integration/test_good_citizen.py tests/integration/test_import_side_effects.py \
  tests/integration/test_dlt_conventions.py tests/integration/test_destinations.py \
  tests/reliability/test_replayed_job.py "$@"
