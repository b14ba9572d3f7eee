"""Sync a real Databuddy server with ``pipelines/daily_sync.py``, then compare every loaded slice
with the server's own answer for that one day, and record the run in docs/real-server-runs.md.

    DATABUDDY_REAL_API_URL=http://127.0.0.1:3901 DATABUDDY_REAL_KEY_FREE=dbdy_... \\
      python scripts/real_server_check.py --key free --timezone America/Los_Angeles

Keys come from ``DATABUDDY_REAL_KEY_<NAME>`` (FREE, PAID, ALPHA, LINKS, DATALINKS). The check asks
for each slice on its own (one parameter per day, ``limit`` 10000), with the day's bounds written
here from the definition: a UTC day is its date; a local day is the UTC instants of its first and
last second (except ``uptime_time_series``, whose range the server reads in the zone: its
dates). Rows are compared as multisets over the columns the server sends (numbers to 6 decimals).
Exit 0 when the sync exited 0 and every compared slice is equal, else 1.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databuddy_source.client import Databuddy  # noqa: E402

RECORD = ROOT / "docs" / "real-server-runs.md"
PARENT_COLUMNS = {"website_id", "link_id", "schedule_id", "organization_id"}
# the argument that names a parent of each kind (sync_log's parent_kind)
PARENT_ARGUMENT = {
    "website": "website_id",
    "link": "link_id",
    "schedule": "schedule_id",
    "organization": "organization_id",
}
PER_REQUEST = 50
RANGE_IN_ZONE = {"uptime_time_series"}  # the server parses this type's range in the zone


def day_bounds(day: date, zone: str, name: str) -> tuple[str, str]:
    if zone == "UTC" or name in RANGE_IN_ZONE:
        return day.isoformat(), day.isoformat()
    tz = ZoneInfo(zone)
    first = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    after = day + timedelta(days=1)
    last = datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC)
    last -= timedelta(seconds=1)
    return first.strftime("%Y-%m-%dT%H:%M:%SZ"), last.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else round(float(value), 6)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?", text):
        return (
            text.replace("T", " ").rstrip("0").rstrip(".")
            if "." in text
            else text.replace("T", " ")
        )
    return text


def run_sync(args: argparse.Namespace, key: str, workdir: Path) -> tuple[int, float, str]:
    env = dict(os.environ)
    env.update(
        SOURCES__DATABUDDY__API_KEY=key,
        DLT_DATA_DIR=str(workdir / "dlt"),
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable,
        str(ROOT / "pipelines" / "daily_sync.py"),
        "--base-url",
        args.base_url,
        "--timezone",
        args.timezone,
        "--start-date",
        args.start,
        "--as-of",
        args.as_of,
        "--duckdb-path",
        str(workdir / "check.duckdb"),
        "--pipeline-name",
        "real_server_check",
    ]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    (workdir / "sync.log").write_text(done.stdout + done.stderr)
    return done.returncode, seconds, done.stdout + done.stderr


def loaded_slices(db: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, date, str]]:
    """(table, query type, parent kind, parent id, slice date, zone) of every day slice loaded."""
    rows = db.execute(
        "SELECT table_name, query_type, parent_kind, parent_id, slice_date, timezone "
        "FROM databuddy.sync_log WHERE status = 'loaded' AND start_date = end_date "
        "ORDER BY 1, 4, 5"
    ).fetchall()
    return [(t, q, k, p, d, z) for t, q, k, p, d, z in rows]


def destination_rows(
    db: duckdb.DuckDBPyConnection, table: str, parent: str, day: date
) -> list[dict[str, Any]]:
    columns = [r[0] for r in db.execute(f"DESCRIBE databuddy.{table}").fetchall()]
    parent_column = next(c for c in columns if c in PARENT_COLUMNS)
    cursor = db.execute(
        f'SELECT * FROM databuddy.{table} WHERE "{parent_column}" = ? AND "date" = ?',
        [parent, day],
    )
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def as_server(row: dict[str, Any], api_columns: list[str], day: date) -> tuple[Any, ...]:
    """A destination row in the server's columns: ``date`` is the slice date, a column that
    shares a key column's name is ``api_<name>``."""
    out = []
    for column in api_columns:
        if column == "date" and "api_date" not in row:
            out.append(day.isoformat())
        elif column in PARENT_COLUMNS or column == "date":
            out.append(canonical(row.get(f"api_{column}")))
        else:
            out.append(canonical(row.get(column)))
    return tuple(out)


def slice_difference(
    db: duckdb.DuckDBPyConnection, table: str, parent: str, day: date, server: list[Any]
) -> str | None:
    """None when the loaded rows of one slice equal the server's, else what differs first."""
    columns = sorted({c for row in server for c in row})
    want = sorted((tuple(canonical(r.get(c)) for c in columns) for r in server), key=repr)
    rows = destination_rows(db, table, parent, day)
    got = sorted((as_server(r, columns, day) for r in rows), key=repr)
    if want == got:
        return None
    pairs = zip([*want, None], [*got, None], strict=False)
    first = next(((w, g) for w, g in pairs if w != g), None)
    return f"{table} {parent} {day}: server {len(want)} rows, loaded {len(got)}; first {first}"


def compare(
    args: argparse.Namespace, key: str, db: duckdb.DuckDBPyConnection
) -> tuple[int, int, list[str], dict[str, tuple[int, int]]]:
    client = Databuddy(key, base_url=args.base_url)
    # One request carries one zone: a website's slices are packed per zone of their table.
    by_parent: dict[tuple[str, str, str], list[tuple[str, str, date, str]]] = defaultdict(list)
    for table, name, kind, parent, day, zone in loaded_slices(db):
        by_parent[kind, parent, zone].append((table, name, day, zone))
    compared = equal = 0
    mismatches: list[str] = []
    per_site: dict[str, tuple[int, int]] = {}  # website -> (compared, equal)
    for (kind, parent, _zone), slices in by_parent.items():
        for start in range(0, len(slices), PER_REQUEST):
            chunk = slices[start : start + PER_REQUEST]
            parameters = []
            for i, (_, name, day, zone) in enumerate(chunk):
                first, last = day_bounds(day, zone, name)
                parameters.append(
                    {"name": name, "id": f"p{i}", "start_date": first, "end_date": last}
                )
            answer = client.query.execute(
                parameters=parameters,
                **{PARENT_ARGUMENT[kind]: parent},
                start_date=min(p["start_date"] for p in parameters),
                end_date=max(p["end_date"] for p in parameters),
                timezone=chunk[0][3],
                limit=10_000,
            )
            for i, (table, _, day, _) in enumerate(chunk):
                difference = slice_difference(db, table, parent, day, answer[f"p{i}"])
                compared += 1
                seen, same = per_site.get(parent, (0, 0))
                per_site[parent] = (seen + 1, same + (difference is None))
                if difference is None:
                    equal += 1
                elif len(mismatches) < 20:
                    mismatches.append(difference)
    client.close()
    return compared, equal, mismatches, per_site


def requests_spent(log: str) -> int | None:
    match = re.search(r"Run \w+: (?:[\d,]+ slices in )?([\d,]+) query requests", log)
    return int(match[1].replace(",", "")) if match else None


def fewest_requests(db: duckdb.DuckDBPyConnection, per_request: int = 100) -> dict[str, int]:
    """Each website's fewest first-page requests that could have read what was loaded: its
    loaded slices packed ``per_request`` to a request."""
    counts = db.execute(
        "SELECT parent_id, count(*) FROM databuddy.sync_log WHERE status = 'loaded' GROUP BY 1"
    ).fetchall()
    return {parent: -(-n // per_request) for parent, n in counts}


def spent_requests(db: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each website's query requests (its units' requests, retries included)."""
    rows = db.execute(
        "SELECT parent_id, sum(r) FROM (SELECT DISTINCT parent_id, unit, unit_requests AS r "
        "FROM databuddy.sync_log) GROUP BY 1"
    ).fetchall()
    return {parent: int(n) for parent, n in rows}


def record(line: str, ident: str) -> None:
    """Replace the row of ``ident`` (key and zone) in the results table (the table lines right
    after the marker), or add it there."""
    text = RECORD.read_text() if RECORD.exists() else ""
    marker = "<!-- results -->"
    if marker not in text:
        sys.exit(f"{RECORD} has no '{marker}' line to put results under")
    head, after = text.split(marker, 1)
    lines = after.lstrip("\n").splitlines()
    count = next((i for i, r in enumerate(lines) if not r.startswith("|")), len(lines))
    rows = [r for r in lines[:count] if f"| {ident} |" not in r]
    rest = "\n".join(lines[count:])
    RECORD.write_text(head + marker + "\n" + "\n".join([*rows, line]) + "\n" + rest + "\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--key", required=True, help="free, paid, alpha, links or datalinks")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--start", default="2026-10-27")
    p.add_argument(
        "--as-of", default="2026-12-06", help="'today' of the run (reads to the day before)"
    )
    p.add_argument("--base-url", default=os.environ.get("DATABUDDY_REAL_API_URL"))
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args()
    key = os.environ.get(f"DATABUDDY_REAL_KEY_{args.key.upper()}")
    if not args.base_url or not key:
        print(
            f"set DATABUDDY_REAL_API_URL and DATABUDDY_REAL_KEY_{args.key.upper()} (a real "
            "Databuddy API server run locally, see CONTRIBUTING.md)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="real_server_check_") as tmp:
        workdir = Path(tmp)
        code, seconds, log = run_sync(args, key, workdir)
        print(log[-3000:])
        db = duckdb.connect(str(workdir / "check.duckdb"), read_only=True)
        compared, equal, mismatches, equal_by_site = compare(args, key, db)
        fewest_by_site, spent_by_site = fewest_requests(db), spent_requests(db)
        db.close()
    fewest = sum(fewest_by_site.values())
    per_site = ", ".join(
        f"{site} {spent_by_site.get(site, 0)}/{n} ({same}/{seen} equal)"
        for site, n in sorted(fewest_by_site.items())
        for seen, same in [equal_by_site.get(site, (0, 0))]
    )
    spent = requests_spent(log)
    notes = "; ".join(re.findall(r"^Note: (.*?)\.$", log, re.M)) or "-"
    notes = re.sub(r"website [^:]*\((site_\w+)\): ", r"\1: ", notes)
    print(f"exit {code}, {seconds:.0f} s, {spent} requests (fewest {fewest}), ", end="")
    print(f"{equal}/{compared} slices equal")
    print(f"requests per website (spent/fewest): {per_site}")
    for line in mismatches:
        print("  " + line)
    ident = f"{args.key} | {args.timezone}"
    if not args.no_record:
        record(
            f"| {ident} | {args.start}..{date.fromisoformat(args.as_of) - timedelta(days=1)} | "
            f"{code} | {spent} | {fewest} | {per_site} | {compared} | {equal} | {seconds:.0f} | "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} | {notes} |",
            ident,
        )
    return 0 if code == 0 and compared == equal else 1


if __name__ == "__main__":
    sys.exit(main())
