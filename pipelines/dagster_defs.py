"""Dagster definitions for the Databuddy sync: ``dagster dev -f pipelines/dagster_defs.py``.

One asset per table (``databuddy/<table>``), daily partitions (a backfill is "materialize these
partitions", one run per range), the ``databuddy_daily`` job and its schedule, and the ``dlt``
and ``databuddy`` resources. Everything comes from dlt config, as for ``daily_sync.py``:
``[sources.databuddy]`` in ``.dlt/config.toml`` (``start_date`` is the first partition,
``timezone`` what a day is, ``queries``/``rpc_collections`` which tables are assets),
``SOURCES__DATABUDDY__API_KEY`` or ``.dlt/secrets.toml`` for the key, and ``destination_type``
(e.g. ``DESTINATION_TYPE=postgres``) for the destination: if unset, DuckDB in
``./databuddy_warehouse.duckdb``.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # loadable with -f from a checkout, without installing it
    sys.path.insert(0, str(ROOT))

from databuddy_source.dagster import databuddy_definitions  # noqa: E402

defs = databuddy_definitions()
