#!/usr/bin/env bash
# Set up and run the main job. Until the sync pipeline lands, that is the local Databuddy API
# emulator on http://127.0.0.1:8787 (Ctrl-C to stop). Extra arguments go to the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh emulator
export RUNTIME__DLTHUB_TELEMETRY=false
exec .venv/bin/python -m databuddy_source.emulator --host 127.0.0.1 --port "${PORT:-8787}" "$@"
