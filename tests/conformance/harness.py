"""The differential conformance harness: one event set in the real server and in the emulator,
the same requests to both, answers compared.

The real server is addressed only by URL (``DATABUDDY_REAL_API_URL``, its ClickHouse through
``DATABUDDY_REAL_CLICKHOUSE_URL``, keys from ``DATABUDDY_REAL_KEY_FREE`` / ``_PAID``). The events
come from the emulator's own generator: a fixed world (seed, small profile, clock at
``DATA_END``) gives one website's rows in Databuddy's ingestion shape; they replace ``site_beta``'s
rows in the real ClickHouse and the same rows are loaded into an emulator whose clock is the
wall clock (so ``today`` and the realtime windows mean the same on both sides).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.rawdata import TABLES, export_rows, load_rows
from databuddy_emulator.server import serve
from databuddy_emulator.store import Store

from .explained import EXPLAINED

UPSTREAM_COMMIT = "dd2fa1aa9c344e11e7423829971f0e18d5ab4046"
SEED = 42
DATA_END = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # the generated events stop here
REAL_SITE = "site_beta"  # the only real website whose rows we may replace
REAL_DOMAIN = "beta.example.org"
REAL_ORG = "org_seed_acme"
PAID_SITE = "site_paid"  # read only: its seeded rows are copied into the emulator
PAID_DOMAIN = "paid.example.io"
SOURCE_DOMAIN = "blog.acme.example"  # the emulator website whose generated rows are used
FLOAT_ABS = 0.011  # values are rounded to 2 decimals by both; one unit of the last digit
FLOAT_REL = 1e-6
QUERY_TYPES_FILE = (
    Path(__file__).resolve().parents[2] / "databuddy_source/contract/query-types.json"
)

RANGES: dict[str, tuple[str, str]] = {
    "day": ("2026-11-20", "2026-11-20"),
    "week": ("2026-11-16", "2026-11-22"),
    "empty_days": ("2026-10-19", "2026-10-27"),  # the site's events start on 2026-10-24
    "sparse_day": ("2026-11-07", "2026-11-07"),  # custom events of a name without properties
}
TIMEZONES = ("UTC", "America/Los_Angeles")
NEEDS_OTHER_SCOPE = frozenset({"link", "schedule"})


@dataclass(frozen=True, slots=True)
class RealServer:
    api_url: str
    clickhouse_url: str
    key_free: str
    key_paid: str | None

    @classmethod
    def from_env(cls) -> RealServer | None:
        env = os.environ
        api, ch, free = (
            env.get("DATABUDDY_REAL_API_URL"),
            env.get("DATABUDDY_REAL_CLICKHOUSE_URL"),
            env.get("DATABUDDY_REAL_KEY_FREE"),
        )
        if not (api and ch and free):
            return None
        return cls(api.rstrip("/"), ch.rstrip("/"), free, env.get("DATABUDDY_REAL_KEY_PAID"))


def real_server_or_skip() -> RealServer:
    """The configured real server; the calling test is skipped (with the reason) without it."""
    import pytest

    real = RealServer.from_env()
    if real is None:
        pytest.skip(SKIP_REASON)
    return real


SKIP_REASON = (
    "conformance suite needs the real Databuddy server: set DATABUDDY_REAL_API_URL, "
    "DATABUDDY_REAL_CLICKHOUSE_URL and DATABUDDY_REAL_KEY_FREE (and DATABUDDY_REAL_KEY_PAID for "
    "the error types, DATABUDDY_REAL_DATABASE_URL for the link and monitor types, "
    "DATABUDDY_REAL_KEY_LINKS / DATABUDDY_REAL_KEY_DATALINKS for the keyed rate limits, "
    "DATABUDDY_REAL_HARNESS for the probes)"
)


# ---------------------------------------------------------------------------- query types
def all_current_types() -> list[dict[str, Any]]:
    """Every current query type (the catalogue's 2026-05 version), in the catalogue's order."""
    types = json.loads(QUERY_TYPES_FILE.read_text())
    return [t for t in types if "2026-05" in t.get("versions", ())]


def current_types() -> list[dict[str, Any]]:
    """Current query types of a website scope."""
    return [t for t in all_current_types() if t["project"] not in NEEDS_OTHER_SCOPE]


def project_types(project: str) -> list[dict[str, Any]]:
    """Current query types whose project is a link (``link``) or a monitor (``schedule``)."""
    return [t for t in all_current_types() if t["project"] == project]


def emulator_types() -> set[str]:
    return {t["name"] for t in json.loads(QUERY_TYPES_FILE.read_text())}


def is_gated(t: Mapping[str, Any]) -> bool:
    return bool(t.get("plan_gated")) or t.get("category") == "errors"


# ---------------------------------------------------------------------------- ClickHouse
class ClickHouse:
    """The real server's ClickHouse over its HTTP interface."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=120)

    def run(self, sql: str, body: bytes | None = None) -> str:
        if body is None:
            r = self.http.post(self.url + "/", content=sql.encode())
        else:
            r = self.http.post(self.url + "/?query=" + urllib.parse.quote(sql), content=body)
        if r.status_code != 200:
            raise RuntimeError(f"ClickHouse: {r.status_code} {r.text[:300]}")
        return r.text

    def rows(self, sql: str) -> list[dict[str, Any]]:
        text = self.run(sql + " FORMAT JSONEachRow")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def replace_site(self, site: str, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Delete ``site``'s rows in every loaded table, then insert ``tables``' rows."""
        for table, rows in tables.items():
            key = TABLES[table][0]
            self.run(f"DELETE FROM analytics.{table} WHERE {key} = '{site}'")
            self.insert(f"analytics.{table}", rows)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows (JSON-ready dicts) into ``table`` (database-qualified)."""
        for i in range(0, len(rows), 2000):
            body = "\n".join(json.dumps(r) for r in rows[i : i + 2000]).encode()
            self.run(f"INSERT INTO {table} FORMAT JSONEachRow", body)

    def site_rows(self, site: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of ``site`` in the loaded tables (read only)."""
        out = {}
        for table, (key, time_col, columns) in TABLES.items():
            cols = (*columns, "created_at") if table == "events" else columns
            out[table] = [
                {k: v for k, v in r.items() if v is not None}
                for r in self.rows(
                    f"SELECT {', '.join(cols)} FROM analytics.{table} "
                    f"WHERE {key} = '{site}' ORDER BY {time_col}"
                )
            ]
        return out


def retarget(
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    site: str,
    owner: str,
    domains: tuple[str, str],
) -> dict[str, list[dict[str, Any]]]:
    """The rows for another website: website/owner ids replaced, URLs moved to another host."""
    old, new = domains
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in tables.items():
        key = TABLES[table][0]
        moved = []
        for row in rows:
            r = {k: v.replace(old, new) if isinstance(v, str) else v for k, v in row.items()}
            r[key] = site
            if table == "custom_events":
                r["owner_id"] = owner
            moved.append(r)
        out[table] = moved
    return out


# ---------------------------------------------------------------------------- worlds
def generated_rows() -> tuple[dict[str, list[dict[str, Any]]], int]:
    """The generator's rows for the source website (fixed world), and the event count."""
    world = Store(EmulatorConfig(profile="small", seed=SEED, now=DATA_END, frozen=True))
    try:
        site = next(
            w
            for w in world.registry.collection("websites").values()
            if w["domain"] == SOURCE_DOMAIN
        )
        rows = export_rows(world, site["id"])
    finally:
        world.close()
    return rows, len(rows["events"])


@dataclass(slots=True)
class Target:
    """One side of a comparison: where to send requests and for which website."""

    base_url: str
    key: str
    website_id: str  # or the link / monitor id, with ``param``
    domain: str
    pace: float = 0.0  # seconds between requests
    param: str = "website_id"
    _last: float = field(default=0.0)

    def post(self, body: Any, timezone: str = "UTC") -> tuple[int, Any]:
        wait = self._last + self.pace - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        params = {self.param: self.website_id}
        if timezone != "UTC":
            params["timezone"] = timezone
        for _attempt in range(3):
            r = httpx.post(
                self.base_url + "/v1/query",
                params=params,
                json=body,
                headers={"x-api-key": self.key},
                timeout=120,
            )
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("retry-after", "20")) + 1)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, r.text


@contextmanager
def emulator_with(
    loads: Sequence[tuple[str, Mapping[str, Sequence[Mapping[str, Any]]]]],
) -> Iterator[tuple[str, Store, list[dict[str, Any]]]]:
    """An emulator over HTTP (clock = wall clock, frozen) whose websites given by domain hold
    exactly the given rows. Yields (url, store, websites in the order of ``loads``)."""
    now = datetime.now(UTC).replace(microsecond=0)
    store = Store(
        EmulatorConfig(profile="small", seed=SEED, now=now, frozen=True, rate_limit=1_000_000)
    )
    sites = []
    for domain, tables in loads:
        site = next(
            w for w in store.registry.collection("websites").values() if w["domain"] == domain
        )
        load_rows(store, site["id"], tables)
        sites.append(site)
    try:
        with serve(store) as url:
            yield url, store, sites
    finally:
        store.close()


@contextmanager
def emulator_plan(store: Store, site: Mapping[str, Any], plan: str) -> Iterator[None]:
    """Put a website's organization on a billing plan, and back on its own afterwards."""
    org, plans = site["organizationId"], store.registry.plans
    before = store.registry.plan_of(org)

    def put(p: str) -> None:
        with store.lock:
            plans[org] = p
        store.changed()

    put(plan)
    try:
        yield
    finally:
        put(before)


# ---------------------------------------------------------------------------- comparison
def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=FLOAT_REL, abs_tol=FLOAT_ABS)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return bool(a == b)


def _exact_key(row: Mapping[str, Any]) -> str:
    """A row's non-float values (what must match exactly; floats are compared with tolerance)."""
    return json.dumps(
        {k: v for k, v in row.items() if isinstance(v, bool) or not isinstance(v, int | float)},
        sort_keys=True,
        default=str,
    )


def _error_head(message: Any) -> str:
    """A database error up to the identifier it names (ClickHouse then adds suggestions and
    the SQL text); other errors whole."""
    text = str(message or "")
    m = re.match(r"^Unknown expression[^`]*`[^`]*`", text)
    return m.group(0) if m else text


def order_keys(t: Mapping[str, Any], columns: set[str]) -> list[tuple[str, bool]] | None:
    """The type's defined order as (column, descending) pairs present in the rows, or None."""
    spec = t.get("order_by")
    if not spec:
        return None
    resorted = re.search(r"re-sorts? by (\w+) DESC", spec)
    if resorted:  # a plugin re-sorts the page: that is the final order
        spec = f"{resorted.group(1)} DESC"
    keys: list[tuple[str, bool]] = []
    for part in spec.split(" (")[0].split(";")[0].split(","):
        words = part.strip().split()
        if not words:
            continue
        col = words[0].split(".")[-1]
        if col == "time_bucket":
            col = "date"
        if col not in columns:
            return keys or None
        keys.append((col, len(words) > 1 and words[1].upper() == "DESC"))
    return keys or None


@dataclass(slots=True)
class Diff:
    """How one entry differs (empty: identical)."""

    problems: list[str] = field(default_factory=list)
    explained: str | None = None  # an explained column left out whose values differed

    def add(self, what: str) -> None:
        if what not in self.problems:
            self.problems.append(what)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _mask_random_ids(rows: list[Any]) -> list[Any]:
    """``session_list``: the server lists a session's custom events under ids it draws at
    random for each answer; such ids compare as their shape."""
    out = []
    for r in rows:
        events = r.get("events") if isinstance(r, dict) else None
        if isinstance(events, list):
            masked = [
                ["<uuid>", *e[1:]]
                if isinstance(e, list)
                and e
                and e[2:3] not in (["screen_view"], ["page_exit"])
                and _UUID.match(str(e[0]))
                else e
                for e in events
            ]
            r = {**r, "events": masked}
        out.append(r)
    return out


def _tied_ranks(rows: list[Any]) -> list[Any]:
    """``custom_events_property_top_values``: ``rank`` numbers values by count with no
    tie-breaker, so within equal counts of one property the ranks are compared as a set."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.get("event_name"), r.get("property_key"), r.get("count")), []).append(
            r.get("rank")
        )
    return [
        {
            **r,
            "rank": sorted(
                groups[(r.get("event_name"), r.get("property_key"), r.get("count"))], key=str
            ),
        }
        for r in rows
    ]


def _unordered_lists(*columns: str) -> Callable[[list[Any]], list[Any]]:
    """Columns holding distinct values in no defined order: compared sorted."""

    def mask(rows: list[Any]) -> list[Any]:
        return [
            {**r, **{c: sorted(r[c], key=str) for c in columns if isinstance(r.get(c), list)}}
            for r in rows
        ]

    return mask


_URL_COLUMNS = ("referrer", "source", "domain")


def _merged_representatives(rrows: list[Any], erows: list[Any]) -> tuple[list[Any], list[Any]]:
    """``link_top_referrers``: rows merged by readable source keep the URL of the first merged
    row in an order without tie-breaker (clicks DESC), so when both sides name the same source
    with another URL, the URL columns compare as that source's name."""
    real_urls = {r.get("name"): [r.get(c) for c in _URL_COLUMNS] for r in rrows}

    def mask(rows: list[Any], other: dict[Any, list[Any]]) -> list[Any]:
        out = []
        for r in rows:
            name = r.get("name")
            if name in other and other[name] != [r.get(c) for c in _URL_COLUMNS]:
                r = {**r, **dict.fromkeys(_URL_COLUMNS, f"<a URL of {name}>")}
            out.append(r)
        return out

    emu_urls = {r.get("name"): [r.get(c) for c in _URL_COLUMNS] for r in erows}
    return mask(rrows, emu_urls), mask(erows, real_urls)


PAIRED_MASKS: dict[str, Callable[[list[Any], list[Any]], tuple[list[Any], list[Any]]]] = {
    "link_top_referrers": _merged_representatives,
}

RANDOM_VALUES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "interesting_sessions": _unordered_lists("paths", "custom_event_names"),
    "session_list": _mask_random_ids,
    "custom_events_property_top_values": _tied_ranks,
}


def _without(column: str, rrows: list[Any], erows: list[Any]) -> tuple[list[Any], list[Any], bool]:
    """The rows without an explained column, and whether its values differed (matched by the
    rows' other values)."""

    def rest(r: Any) -> str:
        return json.dumps({k: v for k, v in r.items() if k != column}, sort_keys=True, default=str)

    real_values = sorted((rest(r), json.dumps(r.get(column), default=str)) for r in rrows)
    emu_values = sorted((rest(r), json.dumps(r.get(column), default=str)) for r in erows)
    strip = [{k: v for k, v in r.items() if k != column} for r in rrows]
    return (
        strip,
        [{k: v for k, v in r.items() if k != column} for r in erows],
        (real_values != emu_values),
    )


def compare_entry(
    t: Mapping[str, Any],
    real: Mapping[str, Any],
    emu: Mapping[str, Any],
    normalize: Callable[[Any], Any] = lambda v: v,
    *,
    cut: bool = False,
) -> Diff:
    """Compare one ``data`` entry of each side: success, error, columns, types, rows, order."""
    d = Diff()
    if real.get("success") != emu.get("success"):
        d.add(
            f"success real={real.get('success')} emulator={emu.get('success')}"
            f" ({(real.get('error') or emu.get('error') or '')[:80]})"
        )
        return d
    if not real.get("success"):
        # A database error names the failing SQL after "In scope": only the text before it
        # is compared (the emulator's SQL is not Databuddy's).
        if _error_head(real.get("error")) != _error_head(emu.get("error")):
            d.add(f"error text: real {real.get('error')!r} / emulator {emu.get('error')!r}")
        return d
    rrows = list(real.get("data") or [])
    erows = [normalize(r) for r in emu.get("data") or []]
    mask = RANDOM_VALUES.get(str(t.get("name")))
    if mask is not None:
        rrows, erows = mask(rrows), mask(erows)
    paired = PAIRED_MASKS.get(str(t.get("name")))
    if paired is not None:
        rrows, erows = paired(rrows, erows)
    if t.get("name") in EXPLAINED:
        column = EXPLAINED[str(t["name"])][0]
        rrows, erows, differed = _without(column, rrows, erows)
        if differed:
            d.explained = column
    rcols = {k for r in rrows for k in r}
    ecols = {k for r in erows for k in r}
    if rrows and erows and rcols != ecols:
        d.add(f"columns: real only {sorted(rcols - ecols)}, emulator only {sorted(ecols - rcols)}")
    for col in sorted(rcols & ecols):
        rk = {_kind(r.get(col)) for r in rrows} - {"null"}
        ek = {_kind(r.get(col)) for r in erows} - {"null"}
        if rk and ek and rk != ek:
            d.add(f"type of {col}: real {sorted(rk)} emulator {sorted(ek)}")
    if len(rrows) != len(erows):
        d.add(f"row count real {len(rrows)} emulator {len(erows)}")
    common = rcols & ecols
    rproj = [{k: r.get(k) for k in common} for r in rrows]
    eproj = [{k: r.get(k) for k in common} for r in erows]
    keys = order_keys(t, common)
    if keys and cut:
        # A page cut from a longer ordered list: rows tied with the page's first or last sort
        # value may be any of the tied rows (no tie-breaker), so only the sort values count.
        def okey(r: Mapping[str, Any]) -> str:
            return json.dumps([r.get(c) for c, _ in keys], default=str)

        edges = {okey(rproj[0]), okey(rproj[-1])} if rproj else set()
        edges |= {okey(eproj[0]), okey(eproj[-1])} if eproj else set()
        rseq, eseq = [okey(r) for r in rproj], [okey(r) for r in eproj]
        if rseq != eseq:
            d.add(f"page sort values differ ({', '.join(c for c, _ in keys)})")
        rproj = [r for r in rproj if okey(r) not in edges]
        eproj = [r for r in eproj if okey(r) not in edges]
    rsorted = sorted(rproj, key=_exact_key)
    esorted = sorted(eproj, key=_exact_key)
    mismatched = [(a, b) for a, b in zip(rsorted, esorted, strict=False) if not _close(a, b)]
    if mismatched:
        cols = sorted({k for a, b in mismatched for k in common if not _close(a.get(k), b.get(k))})
        d.add(f"values differ in {len(mismatched)} row(s), columns {cols[:6]}")
    if keys and not cut and not mismatched and len(rproj) == len(eproj):
        rseq2 = [[r.get(c) for c, _ in keys] for r in rproj]
        eseq2 = [[r.get(c) for c, _ in keys] for r in eproj]
        if not all(_close(a, b) for a, b in zip(rseq2, eseq2, strict=True)):
            d.add(f"order by {', '.join(c for c, _ in keys)} differs")
    return d
