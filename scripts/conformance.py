"""Run the differential conformance suite against a real Databuddy server and write
``docs/conformance.md`` (type -> identical / how it differs, for UTC and America/Los_Angeles).

    DATABUDDY_REAL_API_URL=http://127.0.0.1:3901 \\
    DATABUDDY_REAL_CLICKHOUSE_URL=http://127.0.0.1:8124 \\
    DATABUDDY_REAL_KEY_FREE=... DATABUDDY_REAL_KEY_PAID=... \\
    DATABUDDY_REAL_KEY_LINKS=... DATABUDDY_REAL_KEY_DATALINKS=... \\
    DATABUDDY_REAL_DATABASE_URL=postgresql://... DATABUDDY_REAL_HARNESS=.../real-server \\
    PYTHONPATH=$PWD python scripts/conformance.py [--out docs/conformance.md]

Without DATABUDDY_REAL_DATABASE_URL the link and monitor types are not compared; without the
harness folder the probes are not run; the rate-limit bursts run last (they leave the
read:data + read:links key refused for up to a minute).

Exit codes: 0 written, 2 the real server is not configured.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
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
    all_current_types,
)
from tests.conformance.matrix import FILTERS, Run
from tests.conformance.probes import ProbeResult, harness_dir, run_probes
from tests.conformance.ratelimit import RateLimitResult, run_rate_limits
from tests.conformance.session import conformance_run

PROBES_HOW = (
    "The real-server harness's curl probes (`probes.sh`: removed and unknown types, the plan "
    "gate alone, mixed and in a batch, anonymous and cross-organization access, bad filters, "
    "presets, limits and bodies, the hourly range limit, time zones, the RPC lists a sync reads "
    "with each key) sent to the real server and to a fresh emulator "
    "(`scripts/emulator_probes.sh` maps the seeded world's roles onto the emulator's fixtures: "
    "the demo organization on the free plan plays `org_seed_acme`, Globex on pro plays "
    "`org_seed_paid`), compared with the harness's `shape_diff.py`: status, content type, "
    "envelope keys, error text and details, entries (order, success, error), columns and JSON "
    "types. Values are not compared here: the two worlds hold different data."
)

RATE_LIMIT_HOW = (
    "Rate limit: requests of `summary_metrics` sent as fast as they go until the first 429, to "
    "the real server and to a fresh emulator (its default limits), each burst in a bucket "
    "nobody else uses: anonymous callers on the public website with a client IP of their own "
    "(`X-Forwarded-For`), the read:links-only key (also with an IP of its own) and the "
    "organization's read:data + read:links key. Compared: how many were admitted and their "
    "statuses, the 429's status, body (`success`, `error`, `code`, a `req_` request id), "
    "headers (`Content-Type`, `X-RateLimit-Limit`, `X-RateLimit-Remaining`, no `Retry-After`) "
    "and `X-RateLimit-Reset` minus the moment of the 429 (within 2 s), and that admitted "
    "answers carry no rate-limit headers."
)


def _rate_row(b: RateLimitResult) -> str:
    r = b.real
    seen = (
        f"{r.admitted} admitted ({', '.join(map(str, sorted(r.statuses)))}), then {r.status} "
        f"`{(r.body or {}).get('code')}`, X-RateLimit-Limit {r.headers.get('x-ratelimit-limit')}, "
        f"reset in {r.reset_in:.0f} s (epoch ms)"
        if r.status
        else f"{r.admitted} admitted, no 429"
    )
    result = "identical" if not b.problems else "; ".join(b.problems)
    return f"| {b.case} | {seen} | {result.replace('|', '/')} |"


def _probe_row(r: ProbeResult) -> str:
    if not r.problems:
        result = "identical" + (
            " (whole vs fractional numbers differ with the values: the two worlds hold "
            "different data)"
            if r.number_kinds
            else ""
        )
    else:
        why = r.why or "differs (not explained yet)"
        result = f"{'; '.join(r.problems)[:300]}; why: {why}"
    return f"| `{r.name}` | {r.real_status} | {r.emulator_status} | {result.replace('|', '/')} |"


def _our_commit() -> str:
    """This repository's commit (with ``+changes`` when the work tree differs from it)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "databuddy_source"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def _cell(run: Run, name: str, tz: str) -> str:
    if name in run.not_run:
        return "not run"
    out = run.outcomes.get((name, tz))
    if out is None:
        return "not run"
    if out.identical:
        left_out = EXPLAINED.get(name, ("", ""))[0]
        if left_out:
            return (
                f"identical without `{left_out}` ({out.cases} cases; `{left_out}` differed in "
                f"{out.explained_cases})"
            )
        return f"identical ({out.cases} cases)"
    parts = []
    for case, problems in list(out.diffs.items())[:3]:
        parts.append(f"{case}: {'; '.join(problems)[:160]}")
    more = f" (+{len(out.diffs) - 3} cases)" if len(out.diffs) > 3 else ""
    return ("; ".join(parts) + more).replace("|", "\\|")


def _results(
    results: Sequence[ProbeResult | RateLimitResult], what: str, header: str, rows: list[str]
) -> list[str]:
    """A headline (how many are identical) and a table."""
    same = sum(1 for r in results if not r.problems)
    return [
        f"**Identical: {same} of {len(results)} {what}.**",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
        *rows,
    ]


def render(
    run: Run,
    probes: list[ProbeResult] | None,
    probe_note: str,
    bursts: list[RateLimitResult] | None = None,
) -> str:
    types = all_current_types()
    counts = {
        tz: sum(1 for t in types if (o := run.outcomes.get((t["name"], tz))) and o.identical)
        for tz in TIMEZONES
    }
    explained = {
        tz: sum(
            1
            for t in types
            if t["name"] in EXPLAINED
            and (o := run.outcomes.get((t["name"], tz)))
            and o.identical
            and o.explained_cases
        )
        for tz in TIMEZONES
    }
    not_run = sorted(run.not_run)
    lines = [
        "# Conformance: the emulator against the real Databuddy API",
        "",
        f"Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, emulator at commit "
        f"`{_our_commit()}`, against Databuddy upstream commit `{UPSTREAM_COMMIT}` (run locally, "
        "addressed only by URL).",
        "",
        "How: the emulator's generator makes one website's events in Databuddy's ingestion shape "
        "(a `screen_view` per page view, a `page_exit` with `time_on_page`, full URLs, UTM on "
        "session entry, vitals, errors, custom events, outgoing links). They replace `site_beta`'s "
        "rows in the real server's ClickHouse and are loaded into an emulator website; the error "
        "types (plan-gated on the free plan) are compared on `site_paid`'s seeded rows, read from "
        "the real ClickHouse and loaded into the emulator. The `link_*` and `uptime_*` types "
        "(asked with `link_id=` / `schedule_id=`) read one short link's clicks and one uptime "
        "monitor's checks from the same generator (2,922 clicks, 6,302 checks every 10 minutes "
        "with a few failures); on the real server they belong to a link and a monitor of "
        "`org_seed_acme` (the monitor on `site_beta`) that the run creates in its Postgres and "
        "loads into its ClickHouse (`analytics.link_visits`, `uptime.uptime_monitor`), in the "
        "emulator they replace the rows of the demo organization's link and monitor. Each "
        "request goes to both sides.",
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
        "(`custom_events_property_top_values`) as a set; a `link_top_referrers` row merged from "
        "several referrer URLs keeps the URL of the first in an order without tie-breaker, so "
        "when the two sides picked different URLs of the same source, the URL columns compare "
        "as that source. A column that cannot be identical (the table's last column says why) is "
        "left out of its type's comparison, every other column compared; the run counts the "
        "cases where it differed.",
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
        "reproduced; the uptime types use ClickHouse's `quantileTDigest` value for value over the "
        "checks in time order, `uptime_time_series` the server's downtime model (a failed check "
        "is down until the range's next check, the last one until now, at most a day; hourly "
        "buckets are UTC hours) and `uptime_by_region` orders by uptime; hourly link buckets are "
        "written as the server's ClickHouse writes `%M` (the month's name: `2026-11-20 "
        "13:November:00`); `link_top_referrers` merges by readable source like `top_referrers`; "
        "KR is named 'Korea, Republic of'.",
        "",
        f"Requests: {run.requests}; real rows compared: {run.rows_compared}.",
        "",
        f"**Identical: UTC {counts['UTC']} of {len(types)}, America/Los_Angeles "
        f"{counts['America/Los_Angeles']} of {len(types)}; of these, with one explained column "
        f"left out: UTC {explained['UTC']}, America/Los_Angeles "
        f"{explained['America/Los_Angeles']}** (every current query type"
        + (
            f"; not run: {len(not_run)} ({run.not_run[not_run[0]]})"
            if not_run
            else ", the 17 `link_*`/`uptime_*` ones included"
        )
        + ").",
        "",
        "| type | UTC | America/Los_Angeles | why (when it differs) |",
        "|---|---|---|---|",
    ]
    for t in types:
        name = t["name"]
        utc = _cell(run, name, "UTC")
        la = _cell(run, name, "America/Los_Angeles")
        why = EXPLAINED.get(name, ("", ""))[1]
        lines.append(f"| `{name}` | {utc} | {la} | {why} |")
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
    for case, problem in run.request_level:
        if not case.startswith("plan gate"):
            lines.append(f"| {case} | {problem} |")
    lines += ["", "### Probes", "", probe_note, ""]
    if probes is not None:
        header = "| probe | real status | emulator status | result |"
        lines += _results(probes, "probes", header, [_probe_row(r) for r in probes])
    lines += ["", "### Rate limit", "", RATE_LIMIT_HOW, ""]
    if bursts is None:
        lines.append("Not run: --no-rate-limit.")
    else:
        header = "| burst | real server answered | emulator |"
        lines += _results(bursts, "bursts", header, [_rate_row(b) for b in bursts])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/conformance.md")
    parser.add_argument("--no-probes", action="store_true", help="skip the request-level probes")
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="skip the rate-limit bursts (429)"
    )
    args = parser.parse_args(argv)
    real = RealServer.from_env()
    if real is None:
        print(SKIP_REASON, file=sys.stderr)
        return 2
    run = conformance_run(real, log=lambda m: print(m, file=sys.stderr))
    harness = harness_dir()
    probes = None
    if args.no_probes or harness is None:
        note = "Not run: " + (
            "--no-probes."
            if args.no_probes
            else "no real-server harness "
            "(set DATABUDDY_REAL_HARNESS to the folder of probes.sh and shape_diff.py)."
        )
    else:
        probes = run_probes(real, harness)
        note = PROBES_HOW
    bursts = None if args.no_rate_limit else run_rate_limits(real)
    Path(args.out).write_text(render(run, probes, note, bursts))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
