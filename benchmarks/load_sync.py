"""Load: W websites x T query types x D days from the emulator into DuckDB.

Checks that no slice is lost (the sync log has every planned slice, without errors) and that
memory stays flat (RSS of this process sampled every 0.5 s; the emulator runs in its own).
Defaults: 50 extra websites, 20 types, 30 days.

    .venv/bin/python -m benchmarks.load_sync [--websites 50] [--types 20] [--days 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt
import httpx
from databuddy_emulator.config import DEFAULT_API_KEY

from databuddy_source import databuddy
from databuddy_source.catalog import DEFAULT_QUERY_TYPES, table_spec
from databuddy_source.destinations import duckdb as duckdb_destination

from .common import NOW, emulator, write_result


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--websites", type=int, default=50)
    parser.add_argument("--types", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", default="benchmarks/results/load_sync.json")
    args = parser.parse_args()
    types = [t for t in DEFAULT_QUERY_TYPES if table_spec(t).qtype.project == "website"]
    types = types[: args.types]
    start = NOW.date() - timedelta(days=args.days)
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(round(rss_mb(), 1))
            time.sleep(0.5)

    flags = (
        "--profile",
        "small",
        "--rate-limit-mode",
        "off",
        "--extra-websites",
        str(args.websites),
    )
    with emulator(*flags) as base_url, tempfile.TemporaryDirectory() as tmp:
        listed = httpx.get(
            f"{base_url}/v1/query/websites", headers={"x-api-key": DEFAULT_API_KEY}
        ).json()["websites"]
        sites = [w["id"] for w in listed if (w["name"] or "").startswith("Site")]
        pipeline = dlt.pipeline(
            "load",
            pipelines_dir=tmp,
            dataset_name="databuddy",
            destination=duckdb_destination(f"{tmp}/load.duckdb", memory_limit=None),
        )
        source = databuddy(
            api_key=DEFAULT_API_KEY,
            base_url=base_url,
            websites=sites,
            queries=types,
            start_date=start.isoformat(),
            as_of=NOW.date().isoformat(),
            rpc_collections=["none"],
        )
        report = source.report
        threading.Thread(target=sample, daemon=True).start()
        began = time.monotonic()
        steps = {}
        pipeline.extract(source)
        steps["after_extract_mb"] = round(rss_mb(), 1)
        pipeline.normalize()
        steps["after_normalize_mb"] = round(rss_mb(), 1)
        pipeline.load()
        steps["after_load_mb"] = round(rss_mb(), 1)
        elapsed = time.monotonic() - began
        done.set()
        with pipeline.sql_client() as sql:
            logged = sql.execute_sql("SELECT count(*), count(error), sum(rows) FROM sync_log")[0]
            per = sql.execute_sql(
                "SELECT count(*) FROM (SELECT parent_id, query_type, count(*) n FROM sync_log "
                "GROUP BY 1, 2) WHERE n = ?",
                args.days,
            )[0][0]
    expected = len(sites) * len(types) * args.days
    quarter = max(len(samples) // 4, 1)
    result = {
        "websites": len(sites),
        "types": len(types),
        "days": args.days,
        "slices_expected": expected,
        "slices_logged": logged[0],
        "slices_failed": logged[1],
        "rows": logged[2],
        "pairs_with_every_day": per,
        "requests": report.requests,
        "seconds": round(elapsed, 1),
        "rss_mb_samples_every_5s": samples[::10],
        **steps,
        "rss_peak_mb": max(samples),
        "rss_first_quarter_peak_mb": max(samples[:quarter]),
        "rss_last_quarter_peak_mb": max(samples[-quarter:]),
        "no_slice_lost": logged[0] == expected
        and logged[1] == 0
        and per == len(sites) * len(types),
    }
    print(
        f"{len(sites)} websites x {len(types)} types x {args.days} days: {logged[0]}/{expected}"
        f" slices logged, {logged[1]} failed, {logged[2]} rows, {report.requests} requests, "
        f"{elapsed:.1f} s; RSS peak {max(samples)} MB (first quarter "
        f"{result['rss_first_quarter_peak_mb']}, last quarter "
        f"{result['rss_last_quarter_peak_mb']})"
    )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
