"""Run the differential conformance suite against a real Databuddy server and write
``docs/conformance.md`` (type -> identical / how it differs, for UTC and America/Los_Angeles).

    DATABUDDY_REAL_API_URL=http://127.0.0.1:3901 \\
    DATABUDDY_REAL_CLICKHOUSE_URL=http://127.0.0.1:8124 \\
    DATABUDDY_REAL_KEY_FREE=... DATABUDDY_REAL_KEY_PAID=... \\
    PYTHONPATH=$PWD python scripts/conformance.py [--out docs/conformance.md]

Exit codes: 0 written, 2 the real server is not configured.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.conformance.explained import EXPLAINED
from tests.conformance.harness import (
    FLOAT_ABS,
    FLOAT_REL,
    RANGES,
    SKIP_REASON,
    TIMEZONES,
    UPSTREAM_COMMIT,
    RealServer,
    current_types,
)
from tests.conformance.matrix import FILTERS, Run
from tests.conformance.session import conformance_run

ERROR_PATHS_EMUAPI = (
    "unknown query type",
    "removed query type (e.g. llm_time_series)",
    "unknown type inside a batch",
    "bad bodies (missing parameters, bad limit/page, bad dates)",
    "bad key / missing key / wrong scope",
    "rate limit 429 and its headers",
    "RPC lists the source syncs",
)


def _cell(run: Run, name: str, tz: str) -> str:
    out = run.outcomes.get((name, tz))
    if out is None:
        return "not run"
    if out.identical:
        return f"identical ({out.cases} cases)"
    parts = []
    for case, problems in list(out.diffs.items())[:3]:
        parts.append(f"{case}: {'; '.join(problems)[:160]}")
    more = f" (+{len(out.diffs) - 3} cases)" if len(out.diffs) > 3 else ""
    return ("; ".join(parts) + more).replace("|", "\\|")


def render(run: Run) -> str:
    types = current_types()
    counts = {
        tz: sum(1 for t in types if (o := run.outcomes.get((t["name"], tz))) and o.identical)
        for tz in TIMEZONES
    }
    lines = [
        "# Conformance: the emulator against the real Databuddy API",
        "",
        f"Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, against Databuddy upstream "
        f"commit `{UPSTREAM_COMMIT}` (run locally, addressed only by URL).",
        "",
        "How: the emulator's generator makes one website's events in Databuddy's ingestion shape "
        "(a `screen_view` per page view, a `page_exit` with `time_on_page`, full URLs, UTM on "
        "session entry, vitals, errors, custom events, outgoing links). They replace `site_beta`'s "
        "rows in the real server's ClickHouse and are loaded into an emulator website; the error "
        "types (plan-gated on the free plan) are compared on `site_paid`'s seeded rows, read from "
        "the real ClickHouse and loaded into the emulator. Each request goes to both sides.",
        "",
        f"Cases per type: ranges {', '.join(f'{k} {a}..{b}' for k, (a, b) in RANGES.items())}; "
        "hourly granularity on the week (hourly types); per time zone. In UTC also: filters "
        f"({', '.join(FILTERS)}) on a sample of types, `limit=5` pages 1 and 2, and a batch "
        "(array) body. Compared: HTTP status, envelope keys and `meta`, entry success and error "
        "text, columns, JSON types, row count, row set, values (numbers within "
        f"{FLOAT_ABS} absolute or {FLOAT_REL:g} relative), and the order of the type's sort "
        "columns where the real order is defined (rows tied on them have no defined order; on a "
        "page cut from a longer list only the sort values are compared for rows tied with the "
        "page's first or last row). A database error is compared up to the identifier it names "
        "(the rest quotes the server's own SQL). Values the server draws at random (custom event "
        "ids in `session_list`) compare by shape; ranks among equal counts "
        "(`custom_events_property_top_values`) as a set.",
        "",
        "What the emulator follows from this (see the emulator's query types for each rule): the "
        "range is read in UTC whatever the time zone (which only moves buckets); breakdowns "
        "order by visitors with no defined tie order; page views carry their session's first "
        "referrer, UTM, country, device, browser and OS; bounce and session duration come from "
        "`page_exit` time on page (a session without one neither bounces nor enters the median); "
        "an empty `summary_metrics` range answers `[]`; `top_referrers`/`traffic_sources` merge "
        "a page's rows by readable source; country breakdowns merge a page's rows by country "
        "code and recompute the share on the page; `screen_resolution` groups by (viewport, "
        "device type); `outbound_links` counts a click once per event of its session within "
        "60 s; small-group `quantileTDigest` and ClickHouse's half-to-even rounding are "
        "reproduced.",
        "",
        f"Requests: {run.requests}; real rows compared: {run.rows_compared}.",
        "",
        f"**Identical: UTC {counts['UTC']} of {len(types)}, America/Los_Angeles "
        f"{counts['America/Los_Angeles']} of {len(types)}** (website-scope types; the 17 "
        "`link_*`/`uptime_*` types need a link or monitor id and the real server has no such "
        "data).",
        "",
        "| type | UTC | America/Los_Angeles | why (when it differs) |",
        "|---|---|---|---|",
    ]
    for t in types:
        name = t["name"]
        utc = _cell(run, name, "UTC")
        la = _cell(run, name, "America/Los_Angeles")
        lines.append(f"| `{name}` | {utc} | {la} | {EXPLAINED.get(name, '')} |")
    lines += [
        "",
        "## Error paths",
        "",
        "| path | result |",
        "|---|---|",
    ]
    gate = [p for c, p in run.request_level if c.startswith("plan gate")]
    gate_diffs = {
        o
        for (n, _tz), out in run.outcomes.items()
        for c, o in ((c, "; ".join(p)) for c, p in out.diffs.items())
        if c.startswith("plan gate")
    }
    lines.append(
        "| plan gate: error types on a free-plan website (whole request 402) | "
        + (
            "identical"
            if not gate and not gate_diffs
            else "; ".join(sorted(gate_diffs) + gate)[:300]
        )
        + " |"
    )
    lines.append(
        "| plan gate: error types on a paid website (200, rows) | "
        + "row comparison above (site_paid's seeded rows, read only) |"
    )
    for p in ERROR_PATHS_EMUAPI:
        lines.append(f"| {p} | see emuapi (owned by the API-behaviour work) |")
    for case, problem in run.request_level:
        if not case.startswith("plan gate"):
            lines.append(f"| {case} | {problem} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/conformance.md")
    args = parser.parse_args(argv)
    real = RealServer.from_env()
    if real is None:
        print(SKIP_REASON, file=sys.stderr)
        return 2
    run = conformance_run(real, log=lambda m: print(m, file=sys.stderr))
    Path(args.out).write_text(render(run))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
