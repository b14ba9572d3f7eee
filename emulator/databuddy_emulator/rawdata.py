"""A website's raw rows in the shape Databuddy's ingestion writes them, out of and into a store.

``export_rows`` gives the rows the emulator holds for one website, table by table, with the
columns and value formats of Databuddy's ClickHouse tables (JSON-ready: times as
``YYYY-MM-DD HH:MM:SS.mmm`` UTC). ``load_rows`` replaces a website's rows with such rows (from
an export, or read from a real ClickHouse), so the emulator and a real server can answer from
the same events. Columns only the emulator has are derived: ``ingested_at`` is the row's
``created_at`` (events) or its time; a span's device and geo columns are those of its session's
first event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from .store import Store

# Per table: the website column and the columns Databuddy's table has (the ones we fill).
EVENT_COLUMNS = (
    "id",
    "client_id",
    "event_name",
    "anonymous_id",
    "time",
    "session_id",
    "session_start_time",
    "referrer",
    "url",
    "path",
    "browser_name",
    "browser_version",
    "os_name",
    "os_version",
    "device_type",
    "country",
    "region",
    "city",
    "screen_resolution",
    "viewport_size",
    "language",
    "timezone",
    "connection_type",
    "time_on_page",
    "scroll_depth",
    "interaction_count",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "load_time",
    "dom_ready_time",
    "ttfb",
    "render_time",
    "properties",
)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # table: (website column, time column, columns)
    "events": ("client_id", "time", EVENT_COLUMNS),
    "error_spans": (
        "client_id",
        "timestamp",
        (
            "client_id",
            "anonymous_id",
            "session_id",
            "timestamp",
            "path",
            "message",
            "filename",
            "lineno",
            "colno",
            "stack",
            "error_type",
        ),
    ),
    "web_vitals_spans": (
        "client_id",
        "timestamp",
        (
            "client_id",
            "anonymous_id",
            "session_id",
            "timestamp",
            "path",
            "metric_name",
            "metric_value",
        ),
    ),
    "custom_events": (
        "website_id",
        "timestamp",
        (
            "owner_id",
            "website_id",
            "timestamp",
            "event_name",
            "namespace",
            "path",
            "properties",
            "anonymous_id",
            "session_id",
            "source",
        ),
    ),
    "outgoing_links": (
        "client_id",
        "timestamp",
        (
            "id",
            "client_id",
            "anonymous_id",
            "session_id",
            "href",
            "text",
            "properties",
            "timestamp",
        ),
    ),
}
# Per table of a short link's clicks or a monitor's checks: the project column (link id,
# schedule id), the time column and the columns Databuddy's table has that the emulator keeps.
PROJECT_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "link_visits": (
        "link_id",
        "timestamp",
        (
            "link_id",
            "timestamp",
            "referrer",
            "ip_hash",
            "country",
            "region",
            "city",
            "browser_name",
            "device_type",
        ),
    ),
    "uptime_monitor": (
        "site_id",
        "timestamp",
        (
            "site_id",
            "url",
            "timestamp",
            "status",
            "http_code",
            "ttfb_ms",
            "total_ms",
            "probe_region",
            "probe_ip",
            "ssl_expiry",
            "ssl_valid",
            "error",
        ),
    ),
}
_TIMES = frozenset({"time", "timestamp", "session_start_time", "created_at", "ssl_expiry"})
# Span columns copied from the session's first event (filters on spans use them).
_SPAN_DIMENSIONS = (
    "browser_name",
    "browser_version",
    "os_name",
    "os_version",
    "device_type",
    "country",
    "region",
    "city",
)


def _fmt(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return value


def _select(table: str, columns: Sequence[str]) -> str:
    out = []
    for c in columns:
        if c == "properties":  # no properties: an empty JSON object, as the tracker sends
            out.append(
                "coalesce(properties, '{}') AS properties"
                if table == "custom_events"
                else "'{}' AS properties"
            )
        elif c == "id" and table == "outgoing_links":
            out.append(
                "printf('%08x-0000-4000-9000-%012x', 0, row_number() OVER (ORDER BY timestamp, "
                "session_id, href)) AS id"
            )
        else:
            out.append(c)
    return ", ".join(out)


def export_rows(store: Store, website_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``website_id`` visible at the store's virtual now, per Databuddy table."""
    now = store.now().isoformat(sep=" ")
    out: dict[str, list[dict[str, Any]]] = {}
    with store.cursor() as cur:
        for table, (key, time_col, columns) in TABLES.items():
            sql = (
                f"SELECT {_select(table, columns)}"
                + (", ingested_at AS created_at" if table == "events" else "")
                + f" FROM {table} WHERE {key} = ? AND ingested_at <= ?::TIMESTAMP"
                f" AND {time_col} <= ?::TIMESTAMP ORDER BY {time_col}"
            )
            result = cur.execute(sql, [website_id, now, now])
            names = [d[0] for d in result.description or ()]
            out[table] = [
                {n: _fmt(v) for n, v in zip(names, row, strict=True) if v is not None}
                for row in result.fetchall()
            ]
    return out


def export_project_rows(store: Store, table: str, project_id: str) -> list[dict[str, Any]]:
    """Every row of a link's clicks or a monitor's checks (``table`` in ``PROJECT_TABLES``)
    visible at the store's virtual now, in Databuddy's shape."""
    key, time_col, columns = PROJECT_TABLES[table]
    now = store.now().isoformat(sep=" ")
    with store.cursor() as cur:
        result = cur.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ? AND ingested_at <= "
            f"?::TIMESTAMP AND {time_col} <= ?::TIMESTAMP ORDER BY {time_col}",
            [project_id, now, now],
        )
        names = [d[0] for d in result.description or ()]
        return [
            {n: _fmt(v) for n, v in zip(names, row, strict=True) if v is not None}
            for row in result.fetchall()
        ]


def load_project_rows(
    store: Store, table: str, project_id: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Replace a link's clicks or a monitor's checks with ``rows`` (Databuddy's shape; their own
    project column is replaced by ``project_id``; ingested at their own time). Returns the row
    count. Cached answers are dropped."""
    if table not in PROJECT_TABLES:
        raise ValueError(f"unknown project table {table!r}; known: {sorted(PROJECT_TABLES)}")
    key, time_col, columns = PROJECT_TABLES[table]
    with store.lock, store.cursor() as cur:
        cur.execute(f"DELETE FROM {table} WHERE {key} = ?", [project_id])
        cur.register("incoming", _arrow(rows, columns))
        try:
            cur.execute(_insert_sql(table, key, time_col, columns), [project_id])
        finally:
            cur.unregister("incoming")
    store.changed()
    return len(rows)


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("T", " ").rstrip("Z"))


def _arrow(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pa.Table:
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for row in rows:
        for c in columns:
            v = row.get(c)
            data[c].append(_parse_time(v) if c in _TIMES else v)
    arrays = {}
    for c, values in data.items():
        if c in _TIMES:
            arrays[c] = pa.array(values, pa.timestamp("ms"))
        elif all(v is None or isinstance(v, str) for v in values):
            arrays[c] = pa.array(values, pa.string())
        else:
            arrays[c] = pa.array(values)
    return pa.table(arrays)


def load_rows(
    store: Store, website_id: str, tables: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, int]:
    """Replace the rows of ``website_id`` in each given table with ``tables[name]`` (rows in
    Databuddy's shape; their own website/owner columns are replaced by this website's). Returns
    the row count loaded per table. Cached answers are dropped."""
    site = store.registry.get("websites", website_id)
    if site is None:
        raise ValueError(f"unknown website {website_id!r}")
    counts: dict[str, int] = {}
    with store.lock, store.cursor() as cur:
        for table, rows in tables.items():
            if table not in TABLES:
                raise ValueError(f"unknown raw table {table!r}; known: {sorted(TABLES)}")
            key, time_col, columns = TABLES[table]
            cols = (*columns, "created_at") if table == "events" else columns
            arrow = _arrow(rows, cols)
            cur.execute(f"DELETE FROM {table} WHERE {key} = ?", [website_id])
            have = {r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
            cur.register("incoming", arrow)
            try:
                cur.execute(
                    _insert_sql(table, key, time_col, [c for c in columns if c in have]),
                    [website_id],
                )
            finally:
                cur.unregister("incoming")
            counts[table] = len(rows)
        cur.execute(
            "UPDATE custom_events SET owner_id = ? WHERE website_id = ?",
            [site["organizationId"], website_id],
        )
        for span in ("error_spans", "web_vitals_spans", "outgoing_links"):
            if span in tables:
                _fill_span_dimensions(cur, span, website_id)
    store.changed()
    return counts


def _insert_sql(table: str, key: str, time_col: str, columns: Sequence[str]) -> str:
    select = []
    for c in columns:
        if c == key:
            select.append(f"?::VARCHAR AS {c}")
        elif c == "properties":  # ClickHouse's default for a missing String is ''
            select.append("coalesce(properties, '') AS properties")
        else:
            select.append(c)
    if table == "events":
        select.append("coalesce(created_at, time) AS ingested_at")
        select.append("coalesce(regexp_extract(path, '\\?([^#]*)', 1), '') AS query_string")
    else:
        select.append(f"{time_col} AS ingested_at")
    return f"INSERT INTO {table} BY NAME SELECT {', '.join(select)} FROM incoming"


def _fill_span_dimensions(cur: Any, table: str, website_id: str) -> None:
    sets = ", ".join(f"{c} = f.{c}" for c in _SPAN_DIMENSIONS)
    picks = ", ".join(f"arg_min({c}, time) AS {c}" for c in _SPAN_DIMENSIONS)
    cur.execute(
        f"""UPDATE {table} SET {sets}
        FROM (SELECT session_id, {picks} FROM events WHERE client_id = ? GROUP BY session_id) f
        WHERE {table}.client_id = ? AND {table}.session_id = f.session_id""",
        [website_id, website_id],
    )
