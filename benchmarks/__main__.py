"""The benchmark suite (issue 6): ``bash scripts/bench.sh`` or ``python -m benchmarks``.

B1 requests sent vs. the fewest the API allows; B2 use of a (time-scaled) rate limit; B3 rows per
second against dlt's rest_api, a plain httpx + pandas script and the ceiling, into DuckDB and
PostgreSQL; B4 peak memory at 2M and 10M rows; B5 a no-change daily run. Each contender runs in
its own process, the emulator in another. Prints a Markdown table, writes JSON.

    python -m benchmarks [--quick] [--only B1,B3] [--out benchmarks/results/suite.json]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from databuddy_source.catalog import DEFAULT_QUERY_TYPES, table_spec
from databuddy_source.settings import MAX_LIMIT, MAX_PARAMETERS_PER_REQUEST

from .common import (
    NOW,
    emulator,
    emulator_requests,
    machine,
    query_posts,
    run_child,
    table,
    websites,
    write_result,
)

PG_DSN = "postgresql://databuddy:databuddy@127.0.0.1:5432/databuddy_test"
PAGE_TYPES = ["top_pages", "entry_pages", "exit_pages", "page_performance"]
WEBSITE_TYPES = [t for t in DEFAULT_QUERY_TYPES if table_spec(t).qtype.project == "website"]
YESTERDAY = NOW.date() - timedelta(days=1)
CONTENDERS = "benchmarks.contenders"
REST_API_DUCKDB_DAYS = 5


def fewest_requests(log: list[list[str]], run_id: str, per_request: int) -> int:
    """The fewest POST /v1/query a run's slices need: per website, the slices that need page p
    packed ``per_request`` at a time (a page holds ``MAX_LIMIT`` rows; a slice needs at least
    one page)."""
    pages: dict[str, list[int]] = defaultdict(list)
    for run, parent, _qtype, _day, _pages, rows in log:
        if run == run_id:
            pages[parent].append(max(1, math.ceil(int(rows) / MAX_LIMIT)))
    return sum(
        math.ceil(sum(1 for n in counts if n >= p) / per_request)
        for counts in pages.values()
        for p in range(1, max(counts) + 1)
    )


def drop_pg_schemas(*names: str) -> None:
    import psycopg2

    con = psycopg2.connect(PG_DSN)
    con.autocommit = True
    with con.cursor() as cur:
        for name in names:
            cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    con.close()


# ------------------------------------------------------------------------------------- B1, B5
def b1_b5(quick: bool, work: Path) -> dict[str, Any]:
    w, t, d = (10, 20, 30) if quick else (10, 20, 90)
    types = WEBSITE_TYPES[:t]
    start = NOW.date() - timedelta(days=d)
    with emulator("--profile", "default", "--extra-websites", str(w)) as url:
        sites = [s["id"] for s in websites(url) if (s["name"] or "").startswith("Site")]
        base = {
            "websites": sites,
            "queries": types,
            "start_date": start.isoformat(),
            "rpc_collections": ["none"],
        }
        tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
        runs = [
            {**base, "as_of": NOW.date().isoformat()},  # backfill through yesterday
            {**base, "as_of": tomorrow, "_advance_seconds": 86_400},  # the next day's run
            {**base, "as_of": tomorrow},  # nothing changed since: B5
        ]
        emulator_requests(url, reset=True)
        out = run_child(
            CONTENDERS,
            {
                "kind": "connector",
                "base_url": url,
                "destination": "duckdb",
                "workdir": str(work),
                "runs": runs,
                "want_log": True,
                "count_requests": True,
            },
        )
    result: dict[str, Any] = {"websites": w, "types": t, "days": d}
    for name, run in zip(("backfill", "daily", "no_change"), out["runs"], strict=True):
        fewest = fewest_requests(out["sync_log"], run["run_id"], MAX_PARAMETERS_PER_REQUEST)
        posts = run["emulator"]["ok"] + run["emulator"]["rate_limited"]
        result[name] = {
            "requests": posts,
            "fewest": fewest,
            "ratio": round(posts / fewest, 3),
            "other_requests": run["emulator"]["other"],
            "slices": run["slices"],
            "rows": run["rows_read"],
            "seconds": run["seconds"],
        }
    return result


# ----------------------------------------------------------------------------------------- B2
def b2(quick: bool, work: Path) -> dict[str, Any]:
    limit, window = 120, 15.0  # the API's 120 per 60 s, four times faster
    sites_n, days = (20, 30) if quick else (40, 60)
    types = WEBSITE_TYPES[:20]
    with emulator("--profile", "small", "--extra-websites", str(sites_n), "--result-cache") as url:
        sites = [s["id"] for s in websites(url) if (s["name"] or "").startswith("Site")]
        options = {
            "websites": sites,
            "queries": types,
            "start_date": (NOW.date() - timedelta(days=days)).isoformat(),
            "as_of": NOW.date().isoformat(),
            "rpc_collections": ["none"],
        }
        httpx.post(f"{url}/__emulator__/rate-limit", json={"mode": "off"})
        warm = {"kind": "connector", "base_url": url, "destination": "duckdb"}
        run_child(CONTENDERS, {**warm, "workdir": str(work / "warm"), "runs": [options]})
        httpx.post(
            f"{url}/__emulator__/rate-limit",
            json={"mode": "code", "limit": limit, "window_seconds": window},
        )
        time.sleep(window)  # the warm-up's requests leave the window
        emulator_requests(url, reset=True)
        paced = {**options, "rate_limit": limit, "rate_window_seconds": window}
        out = run_child(CONTENDERS, {**warm, "workdir": str(work / "paced"), "runs": [paced]})
        counts = query_posts(emulator_requests(url))
    run = out["runs"][0]
    sent = counts["ok"] + counts["rate_limited"]
    span = run["request_span_s"]  # from the first query request sent to the last
    fewest_s = (sent / limit - 1) * window
    return {
        "limit": limit,
        "window_s": window,
        "requests": sent,
        "http_429": counts["rate_limited"],
        "request_span_s": span,
        "minimal_s": round(fewest_s, 2),
        "rate_used": round(fewest_s / span, 5) if span else None,
        "achieved_per_s": round((sent - limit) / span, 2) if span else None,
        "allowed_per_s": round(limit / window, 2),
    }


# ------------------------------------------------------------------------------------- B3, B4
def b3_b4(quick: bool, work: Path, only: set[str]) -> dict[str, Any]:
    days_2m, days_10m = (6, 24) if quick else (50, 240)
    history = (days_10m if "B4" in only else days_2m) + 5
    result: dict[str, Any] = {"types": PAGE_TYPES}
    with emulator(
        "--profile", "large", "--history-days", str(history), "--rate-limit-mode", "off",
        "--result-cache",
    ) as url:  # fmt: skip
        site = next(s["id"] for s in websites(url) if s["domain"].startswith("market."))
        start = YESTERDAY - timedelta(days=days_2m - 1)
        base = {
            "base_url": url,
            "website_id": site,
            "types": PAGE_TYPES,
            "start": start.isoformat(),
            "end": YESTERDAY.isoformat(),
            "postgres_dsn": PG_DSN,
        }
        connector_run = {
            "websites": [site],
            "queries": PAGE_TYPES,
            "start_date": start.isoformat(),
            "as_of": NOW.date().isoformat(),  # read through yesterday
            "rpc_collections": ["none"],
            # local throughput: the API's 120 requests a minute (B1/B2) would bind instead, and
            # the emulator runs with no limit here, as the peers (which keep to none) assume
            "rate_limit": 100_000,
        }
        if "B3" in only:
            for dest in ("duckdb", "postgres"):
                runs: dict[str, Any] = {}
                for kind in ("ceiling", "connector", "pandas", "rest_api"):
                    if dest == "postgres":
                        drop_pg_schemas(
                            "bench_ceiling_arrow", "bench_ceiling_orjson",
                            "bench_connector", "bench_connector_staging",
                            "bench_warm", "bench_warm_staging",
                            "peer_pandas", "peer_rest_api", "peer_rest_api_staging",
                        )  # fmt: skip
                    folder = work / f"b3-{dest}-{kind}"
                    folder.mkdir()
                    task = {**base, "kind": kind, "destination": dest, "workdir": str(folder)}
                    if kind == "connector":
                        task["runs"] = [connector_run]
                        # an untimed run first, so the timed one is answered from the emulator's
                        # cache (its first reads use small limits the ceiling's did not warm)
                        (folder / "warm").mkdir()
                        warm = {**task, "workdir": str(folder / "warm"), "dataset": "bench_warm"}
                        run_child(CONTENDERS, warm)
                    if kind == "rest_api" and dest == "duckdb":
                        # dlt's default insert_values on DuckDB takes ~20 GB per million rows
                        # (measured: 7 GB for 330k): the last REST_API_DUCKDB_DAYS days only
                        first = YESTERDAY - timedelta(days=REST_API_DUCKDB_DAYS - 1)
                        task["start"] = max(first, start).isoformat()
                    out = run_child(CONTENDERS, task)
                    seconds = out["runs"][0]["seconds"] if kind == "connector" else out["seconds"]
                    runs[kind] = {
                        "rows": out["rows"],
                        "seconds": seconds,
                        "rows_per_s": round(out["rows"] / seconds) if seconds else None,
                        "peak_rss_mb": out["peak_rss_mb"],
                    }
                    if kind == "connector":
                        runs[kind]["steps"] = out["runs"][0]["steps"]
                        runs[kind]["requests"] = out["runs"][0]["requests"]
                        runs[kind]["packages"] = out["runs"][0]["packages"]
                    if kind == "ceiling":  # the same, decoded the common way (orjson + Arrow)
                        common = out["orjson"]
                        runs["ceiling_orjson"] = {
                            "rows": common["rows"],
                            "seconds": common["seconds"],
                            "rows_per_s": round(common["rows"] / common["seconds"]),
                            "peak_rss_mb": out["peak_rss_mb"],
                        }
                    print(f"  B3 {dest} {kind}: {runs[kind]}", flush=True)
                ours = runs["connector"]["rows_per_s"]
                for kind in ("ceiling", "ceiling_orjson", "pandas", "rest_api"):
                    runs[kind]["connector_ratio"] = round(ours / runs[kind]["rows_per_s"], 3)
                result[f"B3_{dest}"] = runs
        if "B4" in only:
            memory = {}
            for label, days in (("2M", days_2m), ("10M", days_10m)):
                first = YESTERDAY - timedelta(days=days - 1)
                folder = work / f"b4-{label}"
                folder.mkdir()
                run = {**connector_run, "start_date": first.isoformat()}
                out = run_child(
                    CONTENDERS,
                    {"kind": "connector", "base_url": url, "destination": "duckdb",
                     "workdir": str(folder), "runs": [run]},
                )  # fmt: skip
                samples = out["rss_samples_mb"]
                memory[label] = {
                    "rows": out["rows"],
                    "seconds": out["runs"][0]["seconds"],
                    "peak_rss_mb": out["peak_rss_mb"],
                    "rss_median_mb": sorted(samples)[len(samples) // 2] if samples else None,
                    "requests": out["runs"][0]["requests"],
                }
                print(f"  B4 {label}: {memory[label]}", flush=True)
            result["B4"] = memory
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not ~1 h)")
    parser.add_argument("--only", default="B1,B2,B3,B4,B5", help="comma-separated subset")
    parser.add_argument("--out", default="benchmarks/results/suite.json")
    args = parser.parse_args()
    only = {x.strip().upper() for x in args.only.split(",")}
    if only & {"B3"}:
        subprocess.run(["bash", "scripts/postgres.sh"], check=True, stdout=subprocess.DEVNULL)
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "started": time.ctime()}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="databuddy-bench-") as tmp:
        work = Path(tmp)
        if only & {"B1", "B5"}:
            (work / "b1").mkdir()
            results["B1_B5"] = b1_b5(args.quick, work / "b1")
            print(f"B1/B5: {results['B1_B5']}", flush=True)
        if "B2" in only:
            (work / "b2").mkdir()
            results["B2"] = b2(args.quick, work / "b2")
            print(f"B2: {results['B2']}", flush=True)
        if only & {"B3", "B4"}:
            results.update(b3_b4(args.quick, work, only))
    results["seconds"] = round(time.monotonic() - began)
    out = write_result(args.out, results)
    print()
    print(report(results))
    print(f"\nJSON: {out}")


def report(r: dict[str, Any]) -> str:
    """The result table (docs/benchmarks.md shows the latest one)."""
    rows: list[list[Any]] = []
    if "B1_B5" in r:
        b = r["B1_B5"]
        shape = f"{b['websites']} websites x {b['types']} types x {b['days']} days"
        for name in ("backfill", "daily"):
            x = b[name]
            rows.append(
                [f"B1 requests, {name}", f"{shape}: {x['requests']} sent, fewest {x['fewest']}",
                 f"{x['ratio']} x", "<= 1.05 x", "yes" if x["ratio"] <= 1.05 else "NO"]
            )  # fmt: skip
        x = b["no_change"]
        rows.append(
            ["B5 no-change daily run", f"{b['websites']} websites, {x['slices']} slices",
             f"{x['requests']} requests, {x['seconds']} s", "", ""]
        )  # fmt: skip
    if "B2" in r:
        x = r["B2"]
        ok = x["http_429"] == 0 and (x["rate_used"] or 0) >= 0.95
        rows.append(
            ["B2 rate use", f"{x['requests']} requests at {x['limit']}/{x['window_s']:g} s",
             f"{x['rate_used']:.2%} of the rate, {x['http_429']} x 429",
             ">= 95 %, 0 x 429", "yes" if ok else "NO"]
        )  # fmt: skip
    for dest in ("duckdb", "postgres"):
        runs = r.get(f"B3_{dest}")
        if not runs:
            continue
        c = runs["connector"]
        rows.append(
            [f"B3 {dest}: connector", f"{c['rows']:,} rows in {c['seconds']} s",
             f"{c['rows_per_s']:,} rows/s, {c['peak_rss_mb']} MB", "", ""]
        )  # fmt: skip
        for kind, target in (
            ("ceiling", 0.5),
            ("ceiling_orjson", None),
            ("rest_api", 10.0),
            ("pandas", None),
        ):
            if kind not in runs:
                continue
            x = runs[kind]
            goal = "" if target is None else (f">= {target:g} x" if target > 1 else ">= 50 %")
            met = "" if target is None else ("yes" if x["connector_ratio"] >= target else "NO")
            rows.append(
                [f"B3 {dest}: vs {kind}", f"{x['rows']:,} rows in {x['seconds']} s "
                 f"({x['rows_per_s']:,} rows/s, {x['peak_rss_mb']} MB)",
                 f"{x['connector_ratio']} x", goal, met]
            )  # fmt: skip
    if "B4" in r:
        peaks = {k: v["peak_rss_mb"] for k, v in r["B4"].items()}
        flat = max(peaks.values()) <= 500 and peaks["10M"] <= peaks["2M"] * 1.15
        rows.append(
            ["B4 peak RSS", ", ".join(f"{k}: {r['B4'][k]['rows']:,} rows" for k in peaks),
             ", ".join(f"{k} {v} MB" for k, v in peaks.items()),
             "<= 500 MB, flat", "yes" if flat else "NO"]
        )  # fmt: skip
    m = r["machine"]
    head = f"{m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB, Python {m['python']}"
    return head + "\n\n" + table(["benchmark", "workload", "result", "target", "met"], rows)


if __name__ == "__main__":
    main()
