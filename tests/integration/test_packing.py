"""Requests packed to a row budget: answers stay small, every row still arrives, the sizes learnt
pack the next run, and parents read side by side count their own requests."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import Databuddy
from databuddy_source.catalog import table_spec
from databuddy_source.fetching import SliceFetcher
from databuddy_source.planning import Parent, Window, plan

from .syncing import assert_table_equals_truth, make_pipeline, sync, table_rows
from .test_sync_duckdb import parents_of

START, YESTERDAY = date(2026, 3, 1), date(2026, 3, 14)
BIG = ("top_pages", "vitals_by_page", "entry_pages", "country", "summary_metrics")


server = emulator_fixture()


def test_units_hold_no_more_rows_than_the_budget(server: EmulatorServer) -> None:
    reg = server.emulator.store.registry
    site = reg.websites_of(reg.demo_org_id)[0]
    parent = Parent("website", site["id"], site["name"], site["id"])
    window = Window(today=date(2026, 3, 15), start_date=START, end_date=YESTERDAY, lookback_days=2)
    specs = [table_spec(n) for n in BIG]
    slices = plan(specs, {"website": [parent]}, window, {})[parent]
    budget = 1_000  # 100 parameters: a first read asks 10 rows a slice
    with Databuddy(server.emulator.config.api_key, base_url=server.url) as client:
        fetcher = SliceFetcher(
            client, timezone="UTC", filters=(), limit=10_000, rows_per_request=budget
        )
        units = list(fetcher.units(parent, slices))
    biggest = max(max(len(r.rows) for r in u.results) for u in units)
    assert biggest > 10, "the data must have slices bigger than a first read"
    for u in units:  # sizes are estimates (the most a slice held so far): about the budget
        rows = sum(len(r.rows) for r in u.results)
        assert len(u.results) == 1 or rows <= 2 * budget, (u.number, len(u.results), rows)
    got = sorted((r.planned.spec.table_name, r.planned.start) for u in units for r in u.results)
    assert got == sorted((s.spec.table_name, s.start) for s in slices), "each slice exactly once"
    assert all(r.error is None and not r.possibly_truncated for u in units for r in u.results)
    assert set(fetcher.estimates) == set(BIG)
    assert max(fetcher.estimates.values()) == biggest


def test_a_small_budget_loads_every_row_and_the_sizes_pack_the_next_run(
    server: EmulatorServer, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    options = {"queries": list(BIG), "start_date": START.isoformat(), "rpc_collections": ["none"]}
    report = sync(pipeline, server, rows_per_request=2_000, **options)
    assert report.failures == [] and report.possibly_truncated == 0
    sites = parents_of(server)["website"]
    for name in BIG:
        assert assert_table_equals_truth(pipeline, server, name, sites, START, YESTERDAY) > 0
    sizes = pipeline.state["sources"]["databuddy"]["resources"]["query_slices"]["rows_per_slice"]
    assert set(sizes) == set(BIG) and sizes["summary_metrics"] == 1
    roomy = sync(pipeline, server, **options)  # the lookback days: one request per website
    assert roomy.requests == len(sites)
    log = table_rows(pipeline, "sync_log", f"WHERE run_id = '{roomy.run_id}'")
    assert {r["unit_requests"] for r in log} == {1}, "each unit counts only its own requests"


def test_side_by_side_parents_equal_one_at_a_time(server: EmulatorServer, tmp_path: Path) -> None:
    options = {"queries": ["top_pages", "country"], "start_date": START.isoformat()}
    results = []
    for concurrency in (1, 4):
        pipeline = make_pipeline(tmp_path / str(concurrency))
        report = sync(
            pipeline, server, concurrency=concurrency, rpc_collections=["none"], **options
        )
        assert report.failures == []
        rows = [  # every column but the load's id, which differs between the two pipelines
            {k: v for k, v in r.items() if k != "_dlt_load_id"}
            for r in table_rows(pipeline, "top_pages")
        ]
        results.append((report.requests, sorted(repr(sorted(r.items())) for r in rows)))
    assert results[0] == results[1]


def test_a_backfill_over_max_rows_per_run_takes_several_runs_and_equals_truth(
    server: EmulatorServer, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    first = date(2026, 2, 1)
    options = {"queries": list(BIG), "start_date": first.isoformat(), "rpc_collections": ["none"]}
    runs, more = [], True
    while more:
        report = sync(pipeline, server, max_rows_per_run=10_000, rows_per_request=2_000, **options)
        assert report.failures == []
        runs.append(report)
        more = report.more
        assert len(runs) < 50
    rows = [r.rows for r in runs]
    assert len(runs) >= 3, f"each run stops near 10,000 rows: {rows}"
    assert all(n < 10_000 + 4 * 2_000 * 2 for n in rows[:-1]), rows  # + the requests in flight
    sites = parents_of(server)["website"]
    for name in BIG:
        assert assert_table_equals_truth(pipeline, server, name, sites, first, YESTERDAY) > 0
    state = pipeline.state["sources"]["databuddy"]["resources"]["query_slices"]["loaded_through"]
    assert {d for table in state.values() for d in table.values()} == {YESTERDAY.isoformat()}
    # the runs share the backfill: a day old enough to be final is read by one run only (the
    # lookback re-reads only the days that were recent when loaded: here the last two)
    log = table_rows(pipeline, "sync_log")
    reads = Counter((r["table_name"], r["parent_id"], r["slice_date"]) for r in log)
    twice = sorted({str(k[2]) for k, n in reads.items() if n > 1})
    assert set(twice) <= {"2026-03-13", "2026-03-14"}, twice
    again = sync(pipeline, server, max_rows_per_run=10_000, **options)
    assert not again.more and again.requests == len(sites), "caught up: one request per site"
