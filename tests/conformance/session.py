"""One conformance run end to end: load the events on both sides, run both matrices, keep the
results (used by the pytest suite and by ``scripts/conformance.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from databuddy_emulator.rawdata import load_project_rows
from databuddy_emulator.store import Store

from .harness import (
    PAID_DOMAIN,
    PAID_SITE,
    RANGES,
    REAL_DOMAIN,
    REAL_ORG,
    REAL_SITE,
    SOURCE_DOMAIN,
    ClickHouse,
    Diff,
    RealServer,
    Target,
    current_types,
    emulator_plan,
    emulator_with,
    generated_rows,
    is_gated,
    project_types,
    retarget,
)
from .matrix import Run, Runner
from .projects import (
    DB_SKIP_REASON,
    Project,
    database_url,
    load_real_rows,
    source_projects,
    write_real_projects,
)

PAID_COPY_DOMAIN = "docs.acme.example"  # the emulator website that gets site_paid's rows
PACE = 0.6  # seconds between requests to the real server: 100/min, under its 120/min


def _normalizer(pairs: list[tuple[str, str]]) -> Callable[[Any], Any]:
    def norm(v: Any) -> Any:
        if isinstance(v, str):
            for old, new in pairs:
                v = v.replace(old, new)
            return v
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    return norm


def load_emulator_project(store: Store, p: Project) -> str:
    """Give the emulator's link or monitor of the same kind and name ``p``'s rows; its id."""
    kind = "links" if p.project == "link" else "uptimeSchedules"
    field = "slug" if p.project == "link" else "name"
    own = next(x for x in store.registry.collection(kind).values() if x[field] == p.source[field])
    load_project_rows(store, p.table, own["id"], p.rows)
    return str(own["id"])


def conformance_run(real: RealServer, log: Callable[[str], None] = print) -> Run:
    started = time.monotonic()
    rows, n_events = generated_rows()
    log(f"generated {n_events} events for {SOURCE_DOMAIN}")
    ch = ClickHouse(real.clickhouse_url)
    real_rows = retarget(rows, site=REAL_SITE, owner=REAL_ORG, domains=(SOURCE_DOMAIN, REAL_DOMAIN))
    ch.replace_site(REAL_SITE, real_rows)
    log(f"loaded {sum(len(v) for v in real_rows.values())} rows into the real {REAL_SITE}")
    loads: list[tuple[str, Any]] = [(SOURCE_DOMAIN, rows)]
    paid_rows = None
    if real.key_paid:
        paid_rows = ch.site_rows(PAID_SITE)
        copy = retarget(paid_rows, site="", owner="", domains=(PAID_DOMAIN, PAID_COPY_DOMAIN))
        loads.append((PAID_COPY_DOMAIN, copy))
    projects: list[Project] = []
    db_url = database_url()
    if db_url:
        projects = source_projects()
        write_real_projects(db_url, projects)
        load_real_rows(ch, projects)
        log(f"loaded {sum(len(p.rows) for p in projects)} link clicks and monitor checks")
    run = Run()
    with emulator_with(loads) as (url, store, sites):
        pairs = [(sites[0]["id"], REAL_SITE), (SOURCE_DOMAIN, REAL_DOMAIN)]
        emu = Target(url, store.config.api_key, sites[0]["id"], SOURCE_DOMAIN)
        real_t = Target(real.api_url, real.key_free, REAL_SITE, REAL_DOMAIN, pace=PACE)
        runner = Runner(real_t, emu, _normalizer(pairs), run)
        runner.matrix(gated=False)
        log(f"non-gated types done: {run.requests} requests")
        gated = [t for t in current_types() if is_gated(t) and t["name"] in runner.known]
        start, end = RANGES["week"]
        # The real site_beta's organization is on the free plan; the emulator's is on a paid
        # plan (its other websites compare the error types' rows), so it plays free for this.
        with emulator_plan(store, sites[0], "free"):
            runner.request(
                "plan gate (free org)",
                gated,
                {"startDate": start, "endDate": end},
                "UTC",
                expect_status=402,
            )
        if real.key_paid and paid_rows is not None:
            paid_pairs = [(sites[1]["id"], PAID_SITE), (PAID_COPY_DOMAIN, PAID_DOMAIN)]
            paid_emu = Target(url, store.config.api_key, sites[1]["id"], PAID_COPY_DOMAIN)
            paid_real = Target(real.api_url, real.key_paid, PAID_SITE, PAID_DOMAIN, pace=PACE)
            Runner(paid_real, paid_emu, _normalizer(paid_pairs), run).matrix(gated=True)
        else:
            for t in current_types():
                if is_gated(t):
                    run.record(t["name"], "UTC", "paid", Diff(["not run: no paid key"]))
        for p in projects:
            emu_id = load_emulator_project(store, p)
            p_emu = Target(url, store.config.api_key, emu_id, SOURCE_DOMAIN, param=p.param)
            p_real = Target(
                real.api_url, real.key_free, p.real_id, REAL_DOMAIN, pace=PACE, param=p.param
            )
            pairs = [(emu_id, p.real_id)]
            Runner(p_real, p_emu, _normalizer(pairs), run).matrix(
                gated=False, types=project_types(p.project)
            )
        if not projects:
            for kind in ("link", "schedule"):
                for t in project_types(kind):
                    run.not_run[t["name"]] = DB_SKIP_REASON
    log(f"{run.requests} requests, {run.rows_compared} rows in {time.monotonic() - started:.0f} s")
    return run
