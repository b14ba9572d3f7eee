#!/usr/bin/env bash
# Set up (the `bench` extra: emulator + pandas for a peer), start PostgreSQL, run the benchmark
# suite B1-B5 (about an hour; --quick for minutes). Prints a table, writes benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench
export RUNTIME__DLTHUB_TELEMETRY=false
exec .venv/bin/python -m benchmarks "$@"
