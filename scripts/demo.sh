#!/usr/bin/env bash
# Set up and run the main job in demo mode: the local Databuddy API emulator is synced into
# ./databuddy_demo.duckdb, then the run prints what was loaded and how to query it.
# Extra arguments go to pipelines/daily_sync.py (e.g. --queries top_pages,country).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh emulator
export RUNTIME__DLTHUB_TELEMETRY=false
exec .venv/bin/python pipelines/daily_sync.py --demo "$@"
