"""Deterministic synthetic raw data, loaded into an in-process DuckDB.

Everything is drawn from ``numpy.random.default_rng(seed)`` in a fixed order, so one seed, profile
and clock start always give the same rows. Each row has an ``ingested_at`` at or after its event
time: most arrive within two minutes, a tail arrives hours to two days late, so the last two days
of any range keep changing as the virtual clock moves.

Tables (all timestamps are naive UTC):

* ``events``: page views (``event_name = 'screen_view'``) with session, visitor, page, referrer,
  UTM, geo, device, timing and engagement columns.
* ``error_spans``, ``web_vitals_spans``, ``outgoing_links``: per page view signals.
* ``custom_events``: named events with JSON ``properties`` (owner = organization).
* ``link_visits``: clicks on short links. ``uptime_monitor``: monitor checks.
* ``revenue``: transactions, attributed to a session when ``session_id`` is not null.
* ``ai_call_spans``: LLM calls per organization.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from . import dimensions as dim
from . import tdigest
from .config import EmulatorConfig
from .fixtures import Registry

MS_PER_DAY = 86_400_000
# Relative traffic by weekday, Monday first.
WEEKDAY_FACTOR = np.array([1.0, 1.08, 1.06, 1.02, 0.93, 0.62, 0.58])
# Relative traffic by UTC hour: a broad afternoon peak.
HOUR_WEIGHTS = np.array(
    [
        2,
        1.5,
        1.2,
        1,
        1,
        1.2,
        2,
        3,
        4.5,
        5.5,
        6,
        6.5,
        6.8,
        7,
        7,
        6.8,
        6.5,
        6,
        5.5,
        5,
        4.5,
        4,
        3.2,
        2.5,
    ],
    dtype=float,
)


@dataclass(slots=True)
class Span:
    """The generated time span: whole UTC days from ``start`` to ``end`` (exclusive)."""

    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def _weights(values: list[float] | np.ndarray) -> np.ndarray:
    w = np.asarray(values, dtype=float)
    return np.asarray(w / w.sum())


def _dict_array(indices: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))


def _ms(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[ms]"))


def _ingestion_delay_ms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly seconds; 4% minutes to hours; 1.5% up to two days late."""
    delay = rng.exponential(20_000, n) + 500
    kind = rng.random(n)
    delay = np.where(kind > 0.945, rng.uniform(120_000, 6 * 3_600_000, n), delay)
    delay = np.where(kind > 0.985, rng.uniform(6 * 3_600_000, 47 * 3_600_000, n), delay)
    return delay.astype(np.int64)


class _Geo:
    def __init__(self) -> None:
        self.country: list[str] = []
        self.region: list[str] = []
        self.city: list[str] = []
        self.timezone: list[str] = []
        self.language: list[str] = []
        weights: list[float] = []
        for code, _name, weight, tz, lang, regions in dim.COUNTRIES:
            for region, cities in regions:
                for city in cities:
                    self.country.append(code)
                    self.region.append(region)
                    self.city.append(city)
                    self.timezone.append(tz)
                    self.language.append(lang)
                    weights.append(
                        weight / len(regions) / len(cities) * (1.6 if city == cities[0] else 1.0)
                    )
        self.p = _weights(weights)


class _Devices:
    def __init__(self) -> None:
        self.device: list[str] = []
        self.browser: list[str] = []
        self.browser_version: list[str] = []
        self.os: list[str] = []
        self.os_version: list[str] = []
        self.screens: list[list[str]] = []
        self.viewports: list[list[str]] = []
        weights: list[float] = []
        for device, dw, browsers, oses, screens, viewports in dim.DEVICES:
            bw_total = sum(b[2] for b in browsers)
            ow_total = sum(o[2] for o in oses)
            for browser, bversions, bw in browsers:
                for bi, bversion in enumerate(bversions):
                    for os_name, oversions, ow in oses:
                        for oi, oversion in enumerate(oversions):
                            self.device.append(device)
                            self.browser.append(browser)
                            self.browser_version.append(bversion)
                            self.os.append(os_name)
                            self.os_version.append(oversion)
                            self.screens.append(screens)
                            self.viewports.append(viewports)
                            weights.append(dw * bw / bw_total * ow / ow_total * 0.6**bi * 0.6**oi)
        self.p = _weights(weights)


def _page_universe(domain: str, n: int) -> list[str]:
    """Normalized paths of a site, most popular first."""
    fixed = [
        "/",
        "/pricing",
        "/features",
        "/about",
        "/blog",
        "/contact",
        "/login",
        "/signup",
        "/docs",
        "/changelog",
        "/careers",
        "/privacy",
        "/terms",
    ]
    if domain.startswith("docs."):
        fixed = [
            "/",
            "/getting-started",
            "/api",
            "/sdk/javascript",
            "/sdk/python",
            "/guides",
            "/api/query",
            "/api/rpc",
            "/self-hosting",
            "/faq",
        ]
        stems = ["guides", "api", "sdk/javascript", "sdk/python", "integrations", "reference"]
    elif domain.startswith("blog."):
        stems = ["posts", "tags", "authors"]
    else:
        stems = ["products", "blog", "category", "docs", "compare", "use-cases", "collections"]
    paths = fixed[: min(len(fixed), n)]
    i = 0
    while len(paths) < n:
        stem = stems[i % len(stems)]
        paths.append(f"/{stem}/item-{i // len(stems):06d}")
        i += 1
    return paths


class Generator:
    """Builds every raw table for a registry and config, in a fixed order of draws."""

    def __init__(self, config: EmulatorConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self.rng = np.random.default_rng(config.seed)
        now = config.now.replace(tzinfo=None)
        first = min(w["createdAt"] for w in registry.collection("websites").values())
        self.span = Span(
            start=first.replace(hour=0, minute=0, second=0, microsecond=0),
            end=(now + timedelta(days=config.future_days + 1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            ),
        )
        self.geo = _Geo()
        self.devices = _Devices()

    # ------------------------------------------------------------------ helpers
    def _epoch_ms(self, when: datetime) -> int:
        return int((when - datetime(1970, 1, 1)).total_seconds() * 1000)

    def _daily_counts(self, base: float, first: datetime, last: datetime) -> np.ndarray:
        """Events per day over the span: weekday seasonality, growth and noise; 0 outside."""
        days = np.arange(self.span.days)
        day_dates = np.datetime64(self.span.start.date()) + days
        weekday = (day_dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 = Thu
        growth = 1.0 + 0.35 * days / max(self.span.days, 1)
        noise = self.rng.lognormal(0.0, 0.12, self.span.days)
        counts: np.ndarray = self.rng.poisson(base * WEEKDAY_FACTOR[weekday] * growth * noise)
        start_day = (first.date() - self.span.start.date()).days
        end_day = (last.date() - self.span.start.date()).days
        counts[: max(start_day, 0)] = 0
        counts[end_day + 1 :] = 0
        return counts

    def _times_in_days(self, counts: np.ndarray) -> np.ndarray:
        """One epoch-ms timestamp per unit of ``counts``, following the diurnal curve."""
        day = np.repeat(np.arange(len(counts)), counts)
        hour = self.rng.choice(24, size=len(day), p=_weights(HOUR_WEIGHTS))
        offset = hour * 3_600_000 + self.rng.integers(0, 3_600_000, len(day))
        return self._epoch_ms(self.span.start) + day * MS_PER_DAY + offset

    # ------------------------------------------------------------------ events
    def build(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create and fill every raw table in ``con``."""
        sessions = self._build_events(con)
        self._build_page_signals(con)
        self._build_custom_events(con, sessions)
        self._build_revenue(con, sessions)
        self._build_link_visits(con)
        self._build_uptime(con)
        self._build_llm_calls(con)

    def _build_events(self, con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
        batches: list[pa.Table] = []
        session_parts: list[dict[str, np.ndarray]] = []
        session_offset = 0
        visitor_offset = 0
        websites = sorted(
            self.registry.collection("websites").values(), key=lambda w: (w["createdAt"], w["id"])
        )
        self.site_ids = [w["id"] for w in websites]
        self.site_orgs = [w["organizationId"] for w in websites]
        self.site_paths: list[list[str]] = []
        last_day = self.span.end - timedelta(days=1)
        for site_index, site in enumerate(websites):
            traffic = self.registry.traffic[site["id"]]
            paths = _page_universe(site["domain"], traffic.distinct_paths)
            self.site_paths.append(paths)
            last = site["deletedAt"] or last_day
            per_day = self._daily_counts(traffic.daily_sessions, site["createdAt"], last)
            n = int(per_day.sum())
            if n == 0:
                continue
            start = self._times_in_days(per_day)
            # Visitors: a pool where low indices come back often (returning visitors).
            pool = max(int(traffic.daily_sessions * self.span.days * 0.5), 10)
            visitor = (pool * self.rng.random(n) ** 2.4).astype(np.int64)
            visitor_geo = self.rng.choice(len(self.geo.p), size=pool, p=self.geo.p)
            visitor_device = self.rng.choice(len(self.devices.p), size=pool, p=self.devices.p)
            visitor_screen = self.rng.integers(0, 6, pool)
            referrer = self.rng.choice(
                len(dim.REFERRERS), size=n, p=_weights([r[1] for r in dim.REFERRERS])
            )
            has_utm = self.rng.random(n) < 0.14
            utm = np.where(
                has_utm,
                self.rng.choice(len(dim.UTM), size=n, p=_weights([u[3] for u in dim.UTM])),
                -1,
            )
            pages = np.minimum(1 + self.rng.geometric(0.42, n) - 1, 40)
            pages = np.where(self.rng.random(n) < 0.44, 1, np.maximum(pages, 2))
            session = {
                "site": np.full(n, site_index),
                "id": session_offset + np.arange(n),
                "visitor": visitor_offset + visitor,
                "start": start,
                "pages": pages,
                "geo": visitor_geo[visitor],
                "device": visitor_device[visitor],
                "screen": visitor_screen[visitor],
                "referrer": referrer,
                "utm": utm,
            }
            session_parts.append(session)
            batches.append(self._pageviews(session, paths, len(batches)))
            session_offset += n
            visitor_offset += pool
        con.register(
            "site_raw",
            pa.table(
                {
                    "site": pa.array(np.arange(len(websites))),
                    "client_id": self.site_ids,
                    "owner_id": self.site_orgs,
                    "domain": [w["domain"] for w in websites],
                }
            ),
        )
        con.execute("CREATE TABLE site_lookup AS SELECT * FROM site_raw")
        con.unregister("site_raw")
        events = pa.concat_tables(batches)
        con.register("events_raw", events)
        con.execute(_EVENTS_SQL)
        con.unregister("events_raw")
        return {k: np.concatenate([s[k] for s in session_parts]) for k in session_parts[0]}

    def _pageviews(self, s: dict[str, np.ndarray], paths: list[str], _i: int) -> pa.Table:
        rng = self.rng
        n_sessions = len(s["id"])
        rep = np.repeat(np.arange(n_sessions), s["pages"])
        n = len(rep)
        first_in_session = np.r_[0, np.cumsum(s["pages"])[:-1]]
        position = np.arange(n) - np.repeat(first_in_session, s["pages"])
        gaps = (rng.exponential(42_000, n) + 2_000).astype(np.int64)
        gaps[position == 0] = 0
        offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first_in_session], s["pages"])
        offset += np.repeat(gaps[first_in_session], s["pages"])  # first gap is 0: keeps offsets
        time = s["start"][rep] + offset
        next_gap = np.r_[gaps[1:], 0]
        is_last = np.r_[position[1:] == 0, True]
        time_on_page = np.where(is_last, rng.exponential(35.0, n) + 1, next_gap / 1000.0)
        time_on_page = np.where(rng.random(n) < 0.07, np.nan, np.round(time_on_page, 1))
        exponent = 1.05 if len(paths) < 50_000 else 0.62
        ranks = np.arange(1, len(paths) + 1, dtype=float) ** -exponent
        page = np.searchsorted(np.cumsum(ranks) / ranks.sum(), rng.random(n))
        page = np.minimum(page, len(paths) - 1)
        trailing = (rng.random(n) < 0.1) & (page > 0)
        qs_kind = np.where(rng.random(n) < 0.09, rng.integers(1, 4, n), 0)
        device = s["device"][rep]
        screen = s["screen"][rep] % np.array([len(x) for x in self.devices.screens])[device]
        load = rng.lognormal(np.log(1300), 0.55, n)
        load = np.where(rng.random(n) < 0.12, np.nan, load)
        ttfb = load * rng.uniform(0.15, 0.35, n)
        dom = load * rng.uniform(0.55, 0.8, n)
        render = load * rng.uniform(0.3, 0.6, n)
        scroll = np.where(rng.random(n) < 0.1, np.nan, np.round(rng.beta(2.2, 1.6, n) * 100, 0))
        interactions = rng.poisson(1.3, n)
        delay = _ingestion_delay_ms(rng, n)
        screens_flat, screen_idx = self._flat_choice(self.devices.screens, device, screen)
        viewports_flat, viewport_idx = self._flat_choice(self.devices.viewports, device, screen)
        utm = s["utm"][rep]
        campaign = rng.integers(0, 3, n)
        utm_term = np.where((utm >= 0) & (rng.random(n) < 0.5), rng.integers(0, 5, n), -1)
        utm_content = np.where((utm >= 0) & (rng.random(n) < 0.5), rng.integers(0, 5, n), -1)
        site = int(s["site"][0]) if n_sessions else 0
        return pa.table(
            {
                "seq": pa.array(np.arange(n)),
                "site": pa.array(np.full(n, site)),
                "session": pa.array(s["id"][rep]),
                "visitor": pa.array(s["visitor"][rep]),
                "position": pa.array(position),
                "time": _ms(time),
                "ingested_at": _ms(time + delay),
                "page": _dict_array(page, paths),
                "trailing": pa.array(trailing),
                "qs_kind": pa.array(qs_kind),
                "referrer": _dict_array(s["referrer"][rep], [r[0] for r in dim.REFERRERS]),
                "utm": pa.array(utm),
                "campaign": pa.array(campaign),
                "utm_term": pa.array(utm_term),
                "utm_content": pa.array(utm_content),
                "geo": pa.array(s["geo"][rep]),
                "device": pa.array(device),
                "screen": _dict_array(screen_idx, screens_flat),
                "viewport": _dict_array(viewport_idx, viewports_flat),
                "time_on_page": pa.array(time_on_page, from_pandas=True),
                "scroll_depth": pa.array(scroll, from_pandas=True),
                "load_time": pa.array(np.round(load), from_pandas=True),
                "ttfb": pa.array(np.round(ttfb), from_pandas=True),
                "dom_ready_time": pa.array(np.round(dom), from_pandas=True),
                "render_time": pa.array(np.round(render), from_pandas=True),
                "interaction_count": pa.array(interactions),
            }
        )

    @staticmethod
    def _flat_choice(
        options: list[list[str]], row: np.ndarray, pick: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """Map (option list index, position in it) pairs to indices into one sorted list."""
        flat = sorted({x for xs in options for x in xs})
        width = max(len(xs) for xs in options)
        table = np.array([[flat.index(xs[k % len(xs)]) for k in range(width)] for xs in options])
        return flat, table[row, pick] if len(row) else np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ per page view signals
    def _build_page_signals(self, con: duckdb.DuckDBPyConnection) -> None:
        pv = con.execute(
            "SELECT rowid AS r, epoch_ms(time) AS t FROM events "
            "WHERE event_name = 'screen_view' ORDER BY r"
        ).fetchnumpy()
        pv = {"rowid": np.asarray(pv["r"]), "t": np.asarray(pv["t"])}
        n = len(pv["rowid"])
        rng = self.rng
        # errors: 2.5% of page views
        err = np.flatnonzero(rng.random(n) < 0.025)
        kind = rng.choice(
            len(dim.ERROR_KINDS), size=len(err), p=_weights([k[2] for k in dim.ERROR_KINDS])
        )
        msg_i = rng.integers(0, 3, len(err))
        messages = [
            dim.ERROR_KINDS[k][1][m % len(dim.ERROR_KINDS[k][1])]
            for k, m in zip(kind, msg_i, strict=True)
        ]
        t = pv["t"]
        err_time = t[err] + rng.integers(200, 30_000, len(err))
        con.register(
            "errors_raw",
            pa.table(
                {
                    "event_row": pa.array(pv["rowid"][err]),
                    "timestamp": _ms(err_time),
                    "ingested_at": _ms(err_time + _ingestion_delay_ms(rng, len(err))),
                    "error_type": _dict_array(kind, [k[0] for k in dim.ERROR_KINDS]),
                    "message": pa.array(messages, pa.string()),
                    "lineno": pa.array(rng.integers(1, 4000, len(err))),
                    "colno": pa.array(rng.integers(1, 120, len(err))),
                    "chunk": pa.array(rng.integers(100, 999, len(err))),
                }
            ),
        )
        con.execute(_ERRORS_SQL)
        con.unregister("errors_raw")
        # web vitals: about half the page views report, each metric with its own probability
        parts = []
        for mi, (metric, median, sigma) in enumerate(dim.VITAL_METRICS):
            p = {"FCP": 0.5, "LCP": 0.45, "CLS": 0.42, "INP": 0.25, "TTFB": 0.5}[metric]
            rows = np.flatnonzero(rng.random(n) < p)
            value = rng.lognormal(np.log(median), sigma, len(rows))
            value = np.round(value, 4) if metric == "CLS" else np.round(value, 0)
            vt = t[rows] + rng.integers(500, 20_000, len(rows))
            parts.append(
                pa.table(
                    {
                        "event_row": pa.array(pv["rowid"][rows]),
                        "metric": pa.array(np.full(len(rows), mi)),
                        "metric_value": pa.array(value),
                        "timestamp": _ms(vt),
                        "ingested_at": _ms(vt + _ingestion_delay_ms(rng, len(rows))),
                    }
                )
            )
        vitals = pa.concat_tables(parts)
        vitals = vitals.append_column(
            "metric_name",
            _dict_array(vitals["metric"].to_numpy(), [m[0] for m in dim.VITAL_METRICS]),
        )
        con.register("vitals_raw", vitals)
        con.execute(_VITALS_SQL)
        con.unregister("vitals_raw")
        # outbound link clicks: 3% of page views
        out = np.flatnonzero(rng.random(n) < 0.03)
        target = rng.choice(
            len(dim.OUTBOUND_TARGETS),
            size=len(out),
            p=_weights([o[2] for o in dim.OUTBOUND_TARGETS]),
        )
        ot = t[out] + rng.integers(2_000, 60_000, len(out))
        con.register(
            "outbound_raw",
            pa.table(
                {
                    "event_row": pa.array(pv["rowid"][out]),
                    "href": _dict_array(target, [o[0] for o in dim.OUTBOUND_TARGETS]),
                    "text": _dict_array(target, [o[1] for o in dim.OUTBOUND_TARGETS]),
                    "timestamp": _ms(ot),
                    "ingested_at": _ms(ot + _ingestion_delay_ms(rng, len(out))),
                }
            ),
        )
        con.execute(_OUTBOUND_SQL)
        con.unregister("outbound_raw")

    def _build_custom_events(
        self, con: duckdb.DuckDBPyConnection, s: dict[str, np.ndarray]
    ) -> None:
        rng = self.rng
        per_session = rng.poisson(0.35, len(s["id"]))
        rep = np.repeat(np.arange(len(s["id"])), per_session)
        n = len(rep)
        kind = rng.choice(
            len(dim.CUSTOM_EVENTS), size=n, p=_weights([c[1] for c in dim.CUSTOM_EVENTS])
        )
        choice = rng.integers(0, 1_000_000, (n, 3))
        props: list[str | None] = []
        for k, c in zip(kind, choice, strict=True):
            _name, _w, spec = dim.CUSTOM_EVENTS[k]
            if c[2] % 10 == 0:
                props.append(None)  # some events carry no properties
                continue
            props.append(
                json.dumps(
                    {
                        key: values[c[i % 2] % len(values)]
                        for i, (key, values) in enumerate(spec.items())
                    },
                    separators=(",", ":"),
                )
            )
        when = s["start"][rep] + rng.integers(5_000, 600_000, n)
        con.register(
            "custom_raw",
            pa.table(
                {
                    "session": pa.array(s["id"][rep]),
                    "visitor": pa.array(s["visitor"][rep]),
                    "site": pa.array(s["site"][rep]),
                    "event_name": _dict_array(kind, [c[0] for c in dim.CUSTOM_EVENTS]),
                    "properties": pa.array(props, pa.string()),
                    "source": _dict_array(
                        rng.choice(2, size=n, p=[0.85, 0.15]), ["browser", "server"]
                    ),
                    "timestamp": _ms(when),
                    "ingested_at": _ms(when + _ingestion_delay_ms(rng, n)),
                }
            ),
        )
        con.execute(_CUSTOM_SQL)
        con.unregister("custom_raw")

    def _build_revenue(self, con: duckdb.DuckDBPyConnection, s: dict[str, np.ndarray]) -> None:
        rng = self.rng
        revenue_sites = [
            i for i, sid in enumerate(self.site_ids) if self.registry.traffic[sid].revenue
        ]
        eligible = np.flatnonzero(np.isin(s["site"], revenue_sites))
        buyers = eligible[rng.random(len(eligible)) < 0.02]
        n = len(buyers)
        product = rng.choice(len(dim.PRODUCTS), size=n, p=_weights([5, 2, 1, 3, 3, 1.5]))
        price = np.array([p[2] for p in dim.PRODUCTS])[product]
        qty = np.where(
            np.array([p[3] == "sale" for p in dim.PRODUCTS])[product], rng.integers(1, 4, n), 1
        )
        when = s["start"][buyers] + rng.integers(60_000, 1_800_000, n)
        attributed = rng.random(n) < 0.82
        refund = rng.random(n) < 0.05
        refund_when = when + rng.integers(1, 20, n) * MS_PER_DAY
        tx_type = np.array([0 if p[3] == "sale" else 1 for p in dim.PRODUCTS])[product]
        tx = pa.table(
            {
                "tx": pa.array(np.arange(n)),
                "site": pa.array(s["site"][buyers]),
                "session": pa.array(np.where(attributed, s["id"][buyers], -1)),
                "visitor": pa.array(np.where(attributed, s["visitor"][buyers], -1)),
                "customer": pa.array(s["visitor"][buyers]),
                "provider": _dict_array(rng.choice(2, size=n, p=[0.8, 0.2]), ["stripe", "paddle"]),
                "type": _dict_array(tx_type, ["sale", "subscription", "refund"]),
                "product": _dict_array(product, [p[0] for p in dim.PRODUCTS]),
                "product_name": _dict_array(product, [p[1] for p in dim.PRODUCTS]),
                "amount": pa.array(np.round(price * qty, 2)),
                "created": _ms(when),
                "ingested_at": _ms(when + _ingestion_delay_ms(rng, n)),
                "refund": pa.array(refund),
                "refund_created": _ms(refund_when),
                "refund_ingested_at": _ms(refund_when + _ingestion_delay_ms(rng, n)),
            }
        )
        con.register("revenue_raw", tx)
        con.execute(_REVENUE_SQL)
        con.unregister("revenue_raw")

    def _build_link_visits(self, con: duckdb.DuckDBPyConnection) -> None:
        rng = self.rng
        links = sorted(
            self.registry.collection("links").values(),
            key=lambda link: (link["createdAt"], link["id"]),
        )
        parts = []
        last_day = self.span.end - timedelta(days=1)
        for li, link in enumerate(links):
            counts = self._daily_counts(
                float(rng.uniform(8, 70)), link["createdAt"], link["deletedAt"] or last_day
            )
            when = self._times_in_days(counts)
            n = len(when)
            parts.append(
                pa.table(
                    {
                        "link": pa.array(np.full(n, li)),
                        "timestamp": _ms(when),
                        "ingested_at": _ms(when + _ingestion_delay_ms(rng, n)),
                        "geo": pa.array(rng.choice(len(self.geo.p), size=n, p=self.geo.p)),
                        "device": pa.array(
                            rng.choice(len(self.devices.p), size=n, p=self.devices.p)
                        ),
                        "referrer": pa.array(
                            rng.choice(
                                len(dim.REFERRERS),
                                size=n,
                                p=_weights([r[1] for r in dim.REFERRERS]),
                            )
                        ),
                        "ip": pa.array(rng.integers(0, 2**40, n)),
                    }
                )
            )
        con.register("links_raw", pa.concat_tables(parts))
        con.execute(
            _LINKS_SQL,
            [[link["id"] for link in links], *self._lookups(), [r[0] for r in dim.REFERRERS]],
        )
        con.unregister("links_raw")

    def _build_uptime(self, con: duckdb.DuckDBPyConnection) -> None:
        rng = self.rng
        schedules = sorted(
            self.registry.collection("uptimeSchedules").values(),
            key=lambda x: (x["createdAt"], x["id"]),
        )
        parts = []
        end = self._epoch_ms(self.span.end)
        for si, sch in enumerate(schedules):
            start = self._epoch_ms(sch["createdAt"].replace(second=0, microsecond=0))
            start -= start % 600_000
            when = np.arange(start + 600_000, end, 600_000) + rng.integers(0, 4_000, 1)
            n = len(when)
            down = np.zeros(n, dtype=bool)
            for _ in range(max(1, n // 1500)):  # incidents of 10-90 minutes
                at = int(rng.integers(0, max(n - 10, 1)))
                down[at : at + int(rng.integers(1, 10))] = True
            total = rng.lognormal(np.log(240 + 60 * si), 0.35, n)
            region = rng.integers(0, len(dim.PROBE_REGIONS), n)
            parts.append(
                pa.table(
                    {
                        "schedule": pa.array(np.full(n, si)),
                        "timestamp": _ms(when),
                        "ingested_at": _ms(when + rng.integers(200, 5_000, n)),
                        "down": pa.array(down),
                        "total_ms": pa.array(np.round(total).astype(np.int64)),
                        "ttfb_ms": pa.array(
                            np.round(total * rng.uniform(0.3, 0.6, n)).astype(np.int64)
                        ),
                        "region": pa.array(region),
                        "ssl_expiry_day": pa.array(
                            (
                                60
                                + 30 * si
                                + (when - self._epoch_ms(self.span.start)) // MS_PER_DAY // 90 * 90
                            ).astype(np.int32)
                        ),
                    }
                )
            )
        con.register("uptime_raw", pa.concat_tables(parts))
        con.execute(
            _UPTIME_SQL,
            [
                [x["id"] for x in schedules],
                [x["url"] for x in schedules],
                [r[0] for r in dim.PROBE_REGIONS],
                [r[1] for r in dim.PROBE_REGIONS],
                self.span.start,
            ],
        )
        con.unregister("uptime_raw")

    def _build_llm_calls(self, con: duckdb.DuckDBPyConnection) -> None:
        rng = self.rng
        orgs = [(self.registry.demo_org_id, 260.0), (self.registry.other_org_id, 40.0)]
        scale = {"small": 0.2, "default": 1.0, "large": 1.0}[self.config.profile]
        parts = []
        for org_id, base in orgs:
            org = self.registry.collection("organizations")[org_id]
            counts = self._daily_counts(
                base * scale, org["createdAt"], self.span.end - timedelta(days=1)
            )
            when = self._times_in_days(counts)
            n = len(when)
            model = rng.choice(
                len(dim.LLM_MODELS), size=n, p=_weights([m[2] for m in dim.LLM_MODELS])
            )
            latency = rng.lognormal(0, 0.45, n) * np.array([m[5] for m in dim.LLM_MODELS])[model]
            error = np.where(rng.random(n) < 0.035, rng.integers(0, len(dim.LLM_ERRORS), n), -1)
            parts.append(
                pa.table(
                    {
                        "org": pa.array([org_id] * n, pa.string()),
                        "timestamp": _ms(when),
                        "ingested_at": _ms(when + _ingestion_delay_ms(rng, n)),
                        "model": pa.array(model),
                        "duration": pa.array(np.round(latency).astype(np.int64)),
                        "input_tokens": pa.array(
                            rng.lognormal(np.log(900), 0.9, n).astype(np.int64)
                        ),
                        "output_tokens": pa.array(
                            rng.lognormal(np.log(300), 0.8, n).astype(np.int64)
                        ),
                        "cached": pa.array(rng.random(n) < 0.22),
                        "error": pa.array(error),
                        "tools": pa.array(np.where(rng.random(n) < 0.3, rng.integers(1, 4, n), 0)),
                        "tool": pa.array(rng.integers(0, len(dim.LLM_TOOLS), n)),
                        "web_search": pa.array(rng.random(n) < 0.08),
                        "trace": pa.array(rng.integers(0, max(n // 3, 1), n)),
                        "user": pa.array(rng.integers(0, 400, n)),
                        "finish": pa.array(rng.choice(3, size=n, p=[0.86, 0.09, 0.05])),
                        "stream": pa.array(rng.random(n) < 0.6),
                        "site": pa.array(rng.integers(0, 3, n)),
                    }
                )
            )
        con.register("llm_raw", pa.concat_tables(parts))
        demo_sites = [w["id"] for w in self.registry.websites_of(self.registry.demo_org_id)][:3]
        con.execute(
            _LLM_SQL,
            [
                [m[0] for m in dim.LLM_MODELS],
                [m[1] for m in dim.LLM_MODELS],
                [m[3] for m in dim.LLM_MODELS],
                [m[4] for m in dim.LLM_MODELS],
                [e[0] for e in dim.LLM_ERRORS],
                [e[1] for e in dim.LLM_ERRORS],
                [e[2] for e in dim.LLM_ERRORS],
                dim.LLM_TOOLS,
                demo_sites,
            ],
        )
        con.unregister("llm_raw")

    def _lookups(self) -> list[Any]:
        return [
            self.geo.country,
            self.geo.region,
            self.geo.city,
            self.devices.device,
            self.devices.browser,
            self.devices.os,
        ]


def build_database(config: EmulatorConfig, registry: Registry) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB holding every raw table for ``config`` and ``registry``."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    gen = Generator(config, registry)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # long statements would draw one on stdout
    con.execute(_TDIGEST_QUANTILE)
    tdigest.register(con)
    _create_lookups(con, gen)
    gen.build(con)
    con.execute("CHECKPOINT")
    return con


# ClickHouse's quantileTDigest over a group small enough that every value stays its own
# centroid (values kept as 32-bit floats): no interpolation, the value at the level's rank.
# Large groups are compressed by ClickHouse and then differ slightly (see docs/conformance.md).
_TDIGEST_QUANTILE = """
CREATE MACRO tdigest_quantile(vals, q) AS (
    CASE WHEN len(vals) = 0 THEN NULL ELSE CAST(list_sort(vals)[
        CASE WHEN ceil(q * len(vals) - 0.5) < 1 THEN 1
             WHEN q * len(vals) <= ceil(q * len(vals) - 0.5)
                 THEN CAST(ceil(q * len(vals) - 0.5) AS INTEGER)
             ELSE CAST(ceil(q * len(vals) - 0.5) AS INTEGER) + 1 END] AS DOUBLE) END)
"""


def _create_lookups(con: duckdb.DuckDBPyConnection, gen: Generator) -> None:
    geo = gen.geo
    con.register(
        "geo_raw",
        pa.table(
            {
                "geo": pa.array(np.arange(len(geo.country))),
                "country": geo.country,
                "region": geo.region,
                "city": geo.city,
                "timezone": geo.timezone,
                "language": geo.language,
            }
        ),
    )
    con.execute("CREATE TABLE geo_lookup AS SELECT * FROM geo_raw")
    d = gen.devices
    con.register(
        "device_raw",
        pa.table(
            {
                "device": pa.array(np.arange(len(d.device))),
                "device_type": d.device,
                "browser_name": d.browser,
                "browser_version": d.browser_version,
                "os_name": d.os,
                "os_version": d.os_version,
            }
        ),
    )
    con.execute("CREATE TABLE device_lookup AS SELECT * FROM device_raw")
    con.register(
        "utm_raw",
        pa.table(
            {
                "utm": pa.array(np.arange(len(dim.UTM))),
                "utm_source": [u[0] for u in dim.UTM],
                "utm_medium": [u[1] for u in dim.UTM],
                "campaigns": pa.array([u[2] for u in dim.UTM], pa.list_(pa.string())),
            }
        ),
    )
    con.execute("CREATE TABLE utm_lookup AS SELECT * FROM utm_raw")
    con.register(
        "country_raw",
        pa.table({"code": [c[0] for c in dim.COUNTRIES], "name": [c[1] for c in dim.COUNTRIES]}),
    )
    con.execute("CREATE TABLE country_names AS SELECT * FROM country_raw")
    for name in ("geo_raw", "device_raw", "utm_raw", "country_raw"):
        con.unregister(name)


# Rows as Databuddy's ingestion writes them: a ``screen_view`` per page view (no time on page) and,
# when the page reported one, a ``page_exit`` at the moment the visitor left it, carrying
# ``time_on_page`` (seconds). ``path`` and ``url`` both hold the full URL. Referrer, UTM values and
# the UTM query string are on the session's entry page only; later pages have the previous page's
# URL as their referrer. ``ingested_at`` (exported as ``created_at``) is when the row arrived;
# ``query_string`` is the URL's query, kept for filters.
_EVENTS_SQL = """
CREATE TABLE events AS
WITH v AS (
    SELECT e.*, s.client_id, s.domain,
        u.utm_source AS u_source, u.utm_medium AS u_medium,
        u.campaigns[1 + e.campaign % len(u.campaigns)] AS u_campaign,
        'https://' || s.domain || CAST(e.page AS VARCHAR)
            || CASE WHEN e.trailing THEN '/' ELSE '' END AS page_url
    FROM events_raw e JOIN site_lookup s USING (site) LEFT JOIN utm_lookup u ON u.utm = e.utm
), q AS (
    SELECT v.*,
        CASE WHEN v.position = 0 AND v.u_source IS NOT NULL
                 THEN 'utm_source=' || v.u_source || '&utm_medium=' || v.u_medium
                      || '&utm_campaign=' || v.u_campaign
             WHEN v.qs_kind = 1 THEN 'ref=nav'
             WHEN v.qs_kind = 2 THEN 'page=2'
             ELSE '' END AS qs
    FROM v
), pv AS (
    SELECT q.*,
        q.page_url || CASE WHEN q.qs = '' THEN '' ELSE '?' || q.qs END AS full_url,
        min(q.time) OVER (PARTITION BY q.session) AS session_start
    FROM q
), pv2 AS (
    SELECT pv.*,
        CASE WHEN pv.position = 0 THEN CAST(pv.referrer AS VARCHAR)
             ELSE lag(pv.full_url) OVER (PARTITION BY pv.session ORDER BY pv.position) END
            AS referrer_url
    FROM pv
), rows AS (
    SELECT pv2.*, 'screen_view' AS event_name, 0 AS kind, pv2.time AS at,
        pv2.ingested_at AS arrived, NULL::FLOAT AS top
    FROM pv2
    UNION ALL
    SELECT pv2.*, 'page_exit', 1,
        pv2.time + to_milliseconds(CAST(round(pv2.time_on_page * 1000) AS BIGINT) - 100),
        pv2.ingested_at + to_milliseconds(CAST(round(pv2.time_on_page * 1000) AS BIGINT)),
        pv2.time_on_page::FLOAT
    FROM pv2 WHERE pv2.time_on_page IS NOT NULL
)
SELECT
    printf('%08x-0000-4000-8000-%012x', r.site, r.seq * 2 + r.kind) AS id,
    r.client_id,
    printf('anon_%010x', r.visitor) AS anonymous_id,
    printf('sess_%010x', r.session) AS session_id,
    r.event_name,
    r.at::TIMESTAMP AS time,
    r.arrived::TIMESTAMP AS ingested_at,
    r.session_start::TIMESTAMP AS session_start_time,
    r.full_url AS path,
    r.full_url AS url,
    r.qs AS query_string,
    r.referrer_url AS referrer,
    CASE WHEN r.position = 0 THEN r.u_source END AS utm_source,
    CASE WHEN r.position = 0 THEN r.u_medium END AS utm_medium,
    CASE WHEN r.position = 0 THEN r.u_campaign END AS utm_campaign,
    CASE WHEN r.position = 0 THEN ($terms)[r.utm_term + 1] END AS utm_term,
    CASE WHEN r.position = 0 THEN ($contents)[r.utm_content + 1] END AS utm_content,
    g.country, g.region, g.city, g.timezone, g.language,
    d.device_type, d.browser_name, d.browser_version, d.os_name, d.os_version,
    CAST(r.screen AS VARCHAR) AS screen_resolution,
    CAST(r.viewport AS VARCHAR) AS viewport_size,
    CASE WHEN d.device_type = 'mobile' THEN '4g' ELSE 'wifi' END AS connection_type,
    r.top AS time_on_page, r.scroll_depth::FLOAT AS scroll_depth,
    r.load_time::INTEGER AS load_time, r.ttfb::INTEGER AS ttfb,
    r.dom_ready_time::INTEGER AS dom_ready_time, r.render_time::INTEGER AS render_time,
    r.interaction_count::SMALLINT AS interaction_count,
    '{}' AS properties
FROM rows r
JOIN geo_lookup g USING (geo)
JOIN device_lookup d USING (device)
ORDER BY time, id
""".replace("$terms", repr(dim.UTM_TERMS)).replace("$contents", repr(dim.UTM_CONTENTS))

_EVENT_COPY = """
    ev.client_id, ev.anonymous_id, ev.session_id, ev.path, ev.browser_name, ev.browser_version,
    ev.os_name, ev.os_version, ev.device_type, ev.country, ev.region, ev.city"""

_ERRORS_SQL = f"""
CREATE TABLE error_spans AS
SELECT {_EVENT_COPY},
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    CAST(r.error_type AS VARCHAR) AS error_type, r.message,
    'https://' || w.domain || '/_next/static/chunks/' || r.chunk || '-app.js' AS filename,
    r.lineno::INTEGER AS lineno, r.colno::INTEGER AS colno,
    CAST(r.error_type AS VARCHAR) || ': ' || r.message || chr(10) || '    at render ('
        || 'https://' || w.domain || '/_next/static/chunks/' || r.chunk || '-app.js:'
        || r.lineno || ':' || r.colno || ')' AS stack
FROM errors_raw r
JOIN events ev ON ev.rowid = r.event_row
JOIN site_lookup w ON w.client_id = ev.client_id
ORDER BY timestamp
"""

_VITALS_SQL = f"""
CREATE TABLE web_vitals_spans AS
SELECT {_EVENT_COPY},
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    CAST(r.metric_name AS VARCHAR) AS metric_name, r.metric_value
FROM vitals_raw r JOIN events ev ON ev.rowid = r.event_row
ORDER BY timestamp
"""

_OUTBOUND_SQL = f"""
CREATE TABLE outgoing_links AS
SELECT {_EVENT_COPY},
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    CAST(r.href AS VARCHAR) AS href, CAST(r.text AS VARCHAR) AS text
FROM outbound_raw r JOIN events ev ON ev.rowid = r.event_row
ORDER BY timestamp
"""

_CUSTOM_SQL = """
CREATE TABLE custom_events AS
SELECT
    printf('cev_%010x', row_number() OVER (ORDER BY r.timestamp, r.session)) AS id,
    s.owner_id, s.client_id AS website_id,
    printf('anon_%010x', r.visitor) AS anonymous_id,
    printf('sess_%010x', r.session) AS session_id,
    CAST(r.event_name AS VARCHAR) AS event_name,
    CASE WHEN CAST(r.event_name AS VARCHAR) IN ('add_to_cart', 'checkout_started')
         THEN 'commerce' ELSE 'app' END AS namespace,
    coalesce(ev.path, '/') AS path,
    r.properties, CAST(r.source AS VARCHAR) AS source,
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at
FROM custom_raw r JOIN site_lookup s USING (site)
ASOF LEFT JOIN events ev
    ON ev.session_id = printf('sess_%010x', r.session) AND ev.time <= r.timestamp::TIMESTAMP
ORDER BY timestamp
"""

_REVENUE_SQL = """
CREATE TABLE revenue AS
WITH tx AS (
    SELECT r.*, s.client_id, s.owner_id FROM revenue_raw r JOIN site_lookup s USING (site)
)
SELECT printf('txn_%08x', tx) AS transaction_id, owner_id, client_id AS website_id,
    CAST(provider AS VARCHAR) AS provider, CAST(type AS VARCHAR) AS type,
    'completed' AS status, amount, 'USD' AS currency,
    CAST(product AS VARCHAR) AS product_id, CAST(product_name AS VARCHAR) AS product_name,
    CASE WHEN visitor >= 0 THEN printf('anon_%010x', visitor) END AS anonymous_id,
    CASE WHEN session >= 0 THEN printf('sess_%010x', session) END AS session_id,
    printf('cus_%010x', customer) AS customer_id,
    created::TIMESTAMP AS created, ingested_at::TIMESTAMP AS ingested_at
FROM tx
UNION ALL
SELECT printf('txn_%08x_r', tx), owner_id, client_id, CAST(provider AS VARCHAR), 'refund',
    'completed', -amount, 'USD', CAST(product AS VARCHAR), CAST(product_name AS VARCHAR),
    CASE WHEN visitor >= 0 THEN printf('anon_%010x', visitor) END,
    CASE WHEN session >= 0 THEN printf('sess_%010x', session) END,
    printf('cus_%010x', customer),
    refund_created::TIMESTAMP, refund_ingested_at::TIMESTAMP
FROM tx WHERE refund
ORDER BY created
"""

_LINKS_SQL = """
CREATE TABLE link_visits AS
SELECT printf('lv_%010x', row_number() OVER (ORDER BY r.timestamp, r.link)) AS id,
    ($1)[r.link + 1] AS link_id,
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    ($8)[r.referrer + 1] AS referrer,
    ($2)[r.geo + 1] AS country, ($3)[r.geo + 1] AS region, ($4)[r.geo + 1] AS city,
    ($5)[r.device + 1] AS device_type, ($6)[r.device + 1] AS browser_name,
    ($7)[r.device + 1] AS os_name,
    printf('%016x', hash(r.ip)) AS ip_hash
FROM links_raw r
ORDER BY timestamp
"""

_UPTIME_SQL = """
CREATE TABLE uptime_monitor AS
SELECT ($1)[r.schedule + 1] AS site_id, ($2)[r.schedule + 1] AS url,
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    CASE WHEN r.down THEN 0 ELSE 1 END::UTINYINT AS status,
    CASE WHEN r.down THEN 503 ELSE 200 END::USMALLINT AS http_code,
    CASE WHEN r.down THEN r.total_ms * 4 ELSE r.total_ms END::UINTEGER AS total_ms,
    r.ttfb_ms::UINTEGER AS ttfb_ms,
    ($3)[r.region + 1] AS probe_region, ($4)[r.region + 1] AS probe_ip,
    $5::TIMESTAMP + to_days(r.ssl_expiry_day) AS ssl_expiry,
    1::UTINYINT AS ssl_valid,
    CASE WHEN r.down THEN 'HTTP 503: Service Unavailable' ELSE '' END AS error
FROM uptime_raw r
ORDER BY timestamp
"""

_LLM_SQL = """
CREATE TABLE ai_call_spans AS
SELECT r.org AS owner_id,
    CASE WHEN r.org = (SELECT owner_id FROM site_lookup WHERE client_id = ($9)[1])
         THEN ($9)[r.site + 1] END AS website_id,
    r.timestamp::TIMESTAMP AS timestamp, r.ingested_at::TIMESTAMP AS ingested_at,
    printf('trace_%08x', r.trace) AS trace_id, printf('user_%04d', r.user) AS user_id,
    ($1)[r.model + 1] AS provider, ($2)[r.model + 1] AS model,
    CASE WHEN r.stream THEN 'stream' ELSE 'generate' END AS type,
    CASE WHEN r.error >= 0 THEN 'error'
         ELSE ['stop', 'length', 'tool_calls'][r.finish + 1] END AS finish_reason,
    r.input_tokens::UINTEGER AS input_tokens, r.output_tokens::UINTEGER AS output_tokens,
    (r.input_tokens + r.output_tokens)::UINTEGER AS total_tokens,
    CASE WHEN r.cached THEN (r.input_tokens // 2) ELSE 0 END::UINTEGER AS cached_input_tokens,
    round(r.input_tokens * ($3)[r.model + 1] / 1e6, 6) AS input_token_cost_usd,
    round(r.output_tokens * ($4)[r.model + 1] / 1e6, 6) AS output_token_cost_usd,
    round(r.input_tokens * ($3)[r.model + 1] / 1e6 + r.output_tokens * ($4)[r.model + 1] / 1e6, 6)
        AS total_token_cost_usd,
    r.duration::UINTEGER AS duration_ms,
    CASE WHEN r.error >= 0 THEN ($7)[r.error + 1] ELSE 200 END::USMALLINT AS http_status,
    CASE WHEN r.error >= 0 THEN ($5)[r.error + 1] END AS error_name,
    CASE WHEN r.error >= 0 THEN ($6)[r.error + 1] END AS error_message,
    CASE WHEN r.error >= 0 THEN ($5)[r.error + 1] || ': ' || ($6)[r.error + 1]
         || chr(10) || '    at callModel (llm.ts:42:13)' END AS error_stack,
    r.tools::UTINYINT AS tool_call_count,
    CASE WHEN r.tools > 0 THEN r.tools ELSE 0 END::UTINYINT AS tool_result_count,
    CASE WHEN r.tools > 0 THEN [($8)[r.tool + 1]] ELSE []::VARCHAR[] END AS tool_names,
    CASE WHEN r.web_search THEN 1 ELSE 0 END::UTINYINT AS web_search_count
FROM llm_raw r
ORDER BY timestamp
"""
