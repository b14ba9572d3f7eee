"""Run in a fresh process: what importing ``databuddy_source``, building the source and our
destinations, and then syncing, change in the process. Prints a JSON report.

    python -m tests.integration.import_probe <emulator url> <api key> <workdir>

Before importing us it loads dlt's modules a sync uses and runs a small dlt pipeline (so dlt's
own lazy set-up is done), then records: every function and attribute of every class and module
of dlt, every logger's level, handlers and flags, the environment, and every lookup and call of
glibc's ``mallopt`` (through ``ctypes``, as any Python code must reach it).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

MALLOPT_CALLS: list[tuple[Any, ...]] = []
_lookup = ctypes.CDLL.__getitem__


def _recording_lookup(self: ctypes.CDLL, name: Any) -> Any:
    function = _lookup(self, name)
    if name != "mallopt":
        return function

    def mallopt(*args: Any) -> Any:
        MALLOPT_CALLS.append(args)
        return function(*args)

    return mallopt


ctypes.CDLL.__getitem__ = _recording_lookup  # type: ignore[assignment,method-assign]

DLT_MODULES = (
    "dlt.destinations.impl.duckdb.duck",
    "dlt.destinations.impl.duckdb.factory",
    "dlt.destinations.impl.postgres.postgres",
    "dlt.destinations.impl.postgres.factory",
    "dlt.destinations.job_client_impl",
    "dlt.destinations.sql_jobs",
    "dlt.destinations.insert_job_client",
    "dlt.destinations._adbc_jobs",
    "dlt.common.destination.client",
    "dlt.common.destination.reference",
    "dlt.common.storages.load_package",
    "dlt.extract.extractors",
    "dlt.normalize.normalize",
    "dlt.load.load",
    "dlt.pipeline.pipeline",
)


CODE = (type, staticmethod, classmethod, property)


def dlt_members() -> dict[str, str]:
    """``module.function``, ``module.Class`` and ``module.Class.method`` (every function,
    class, method and property of dlt) -> the identity of what it holds."""
    members: dict[str, str] = {}
    for name, module in sorted(sys.modules.items()):
        if not (name == "dlt" or name.startswith("dlt.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if callable(value):
                members[f"{name}.{attr}"] = f"{id(value)}"
            if isinstance(value, type) and value.__module__ == name:
                for key, member in vars(value).items():
                    if callable(member) or isinstance(member, CODE):
                        members[f"{name}.{attr}.{key}"] = f"{id(member)}"
    return members


def loggers() -> dict[str, Any]:
    """Every logger but ours: level, handlers, propagate, disabled."""
    found: dict[str, Any] = {}
    manager = logging.Logger.manager
    named = [(n, lg) for n, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)]
    for name, logger in [("", logging.getLogger()), *named]:
        if name.startswith("databuddy_source"):
            continue
        handlers = [id(h) for h in logger.handlers]
        found[name] = [logger.level, handlers, logger.propagate, logger.disabled]
    found["<logging>"] = [logging.getLoggerClass().__name__, id(logging.lastResort)]
    return found


def snapshot() -> dict[str, Any]:
    return {"dlt": dlt_members(), "loggers": loggers(), "env": dict(os.environ)}


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """Per kind, the keys whose value changed or that vanished (new keys are not changes: a
    module imported later adds its own)."""
    out: dict[str, list[str]] = {}
    for kind in before:
        keys = [k for k, v in before[kind].items() if after[kind].get(k, "<gone>") != v]
        if kind == "env":
            keys += [k for k in after[kind] if k not in before[kind]]
        out[kind] = sorted(keys)
    return out


def warm_up_dlt(workdir: Path) -> None:
    import dlt

    for module in DLT_MODULES:
        importlib.import_module(module)
    pipeline = dlt.pipeline(
        "warm_up",
        pipelines_dir=str(workdir / "warm"),
        destination=dlt.destinations.duckdb(str(workdir / "warm.duckdb")),
        dataset_name="warm_data",
    )
    pipeline.run([{"id": 1}], table_name="t", write_disposition="merge", primary_key="id")


def main(url: str, api_key: str, workdir: str) -> None:
    work = Path(workdir)
    warm_up_dlt(work)
    before = snapshot()

    import dlt

    import databuddy_source
    from databuddy_source import destinations
    from databuddy_source.merge.duckdb_client import SliceDuckDbClient
    from databuddy_source.merge.postgres_client import SlicePostgresClient

    source = databuddy_source.databuddy(
        api_key=api_key, base_url=url, queries=["top_pages"], as_of="2026-03-15"
    )
    duckdb, postgres = destinations.duckdb(work / "w.duckdb"), destinations.postgres("postgres://")
    assert (duckdb.client_class, postgres.client_class) == (SliceDuckDbClient, SlicePostgresClient)
    built = snapshot()
    built_mallopt = list(MALLOPT_CALLS)

    pipeline = dlt.pipeline(
        "probe", pipelines_dir=str(work / "p"), destination=duckdb, dataset_name="databuddy"
    )
    pipeline.run(source)
    synced = snapshot()
    synced_mallopt = list(MALLOPT_CALLS)

    from databuddy_source.memory import limit_malloc_arenas

    limit_malloc_arenas()  # what our CLI does: proves the recorder sees a call
    report = {
        "built": changed(before, built),
        "synced": changed(before, synced)["dlt"],
        "mallopt_when_built": built_mallopt,
        "mallopt_when_synced": synced_mallopt,
        "mallopt_by_the_cli": MALLOPT_CALLS[len(synced_mallopt) :],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
