"""Helpers for the model and report tests: sync what the models read, and compute each model's
rows independently, in Python, from the emulator's ground truth (``expected_rows``)."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

from databuddy_source.models import period_sync_options

from .syncing import days, sync

START = date(2026, 3, 5)  # a Thursday: the weekly tables start on Monday 2 March
END = date(2026, 3, 14)  # the day before AS_OF
WEBSITES = 2  # the demo organization's first two websites (Acme Store, Acme Docs)
MONTHS_FROM = date(2026, 2, 1)  # the monthly tables hold a whole month and a partial one
DAILY_QUERIES = [
    "events_by_date",
    "top_referrers",
    "traffic_sources",
    "utm_sources",
    "utm_mediums",
    "utm_campaigns",
    "error_trends",
    "web_vitals_time_series",
    "link_clicks_by_day",
]
CHANNEL_TABLES = {
    "referrer": "top_referrers",
    "utm_source": "utm_sources",
    "utm_medium": "utm_mediums",
    "utm_campaign": "utm_campaigns",
}
VITALS = {"fcp": "_ms", "lcp": "_ms", "cls": "", "inp": "_ms", "ttfb": "_ms"}


def website_ids(store: Store) -> list[str]:
    """The websites the model tests sync (two keep the emulator's work, and the time, small)."""
    reg = store.registry
    return [w["id"] for w in reg.websites_of(reg.demo_org_id)][:WEBSITES]


def sync_for_models(pipeline: Any, server: EmulatorServer) -> None:
    """What every model reads: the daily tables, websites and links from START, the period tables
    per week from START and per month from MONTHS_FROM (each run reads its whole periods)."""
    sites = website_ids(server.emulator.store)
    daily = {"start_date": START.isoformat(), "queries": DAILY_QUERIES, "websites": sites}
    reports = [sync(pipeline, server, **daily, rpc_collections=["websites", "links"])]
    for options in period_sync_options(daily):  # what daily_sync.py --models runs
        if options["grain"] == "month":  # from a month's first day: one whole month too
            options["start_date"] = MONTHS_FROM.isoformat()
        reports.append(sync(pipeline, server, **options))
    assert all(r.failures == [] for r in reports), [r.failures for r in reports]


def view_rows(pipeline: Any, view: str) -> list[dict[str, Any]]:
    return views_rows(pipeline, [view])[view]


def views_rows(pipeline: Any, views: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of each view, over one connection."""
    out = {}
    with pipeline.sql_client() as sql:
        for view in views:
            with sql.execute_query(f"SELECT * FROM {sql.make_qualified_table_name(view)}") as cur:
                names = [d[0] for d in cur.description]
                out[view] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return out


def comparable(rows: Iterable[dict[str, Any]], columns: Iterable[str]) -> list[tuple[Any, ...]]:
    """Rows as tuples of ``columns``, numbers that are not integers rounded to 6 places,
    sorted: equal lists mean equal rows whatever the database's order."""

    def value(v: Any) -> Any:
        if isinstance(v, float | Decimal):
            return round(float(v), 6)
        return v

    names = list(columns)
    return sorted((tuple(value(r[c]) for c in names) for r in rows), key=repr)


def share(part: float, whole: float, scale: int = 100) -> float | None:
    return scale * part / whole if whole else None


def period_end(start: date, grain: str) -> date:
    """The calendar end of a week starting on Monday, or of a month starting on the 1st."""
    if grain == "week":
        return start + timedelta(days=6)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def period_starts(grain: str) -> list[date]:
    """The periods the period syncs read: weeks from the Monday of START, months from
    MONTHS_FROM."""
    first = START - timedelta(days=START.weekday()) if grain == "week" else MONTHS_FROM
    starts = []
    while first <= END:
        starts.append(first)
        first = period_end(first, grain) + timedelta(days=1)
    return starts


def ranks(rows: list[dict[str, Any]]) -> list[int]:
    """SQL's RANK() by page views then visitors, both descending: 1 + the rows strictly
    ahead."""
    keys = [(r["pageviews"], r["visitors"]) for r in rows]
    return [1 + sum(1 for other in keys if other > key) for key in keys]


@dataclass
class Truth:
    """The ground truth of the synced window, one API answer per (type, parent, range),
    asked once and kept."""

    server: EmulatorServer
    answers: dict[tuple[str, str, date, date], list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.server.emulator.store

    @property
    def website_ids(self) -> list[str]:
        return website_ids(self.store)

    @property
    def links(self) -> list[dict[str, Any]]:
        reg = self.store.registry
        return [
            link
            for link in reg.collection("links").values()
            if link["organizationId"] == reg.demo_org_id and not link.get("deletedAt")
        ]

    def rows(
        self, query_type: str, parent: str, start: date, end: date, scope: str = "website_id"
    ) -> list[dict[str, Any]]:
        key = (query_type, parent, start, end)
        if key not in self.answers:
            self.answers[key] = expected_rows(
                self.store,
                query_type,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                limit=10_000,
                **{scope: parent},
            )
        return self.answers[key]

    def daily(
        self, query_type: str, make: Callable[[str, date, dict[str, Any]], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One model row per API row of every website and day."""
        return [
            make(site, day, row)
            for site in self.website_ids
            for day in days(START, END)
            for row in self.rows(query_type, site, day, day)
        ]

    def period(self, query_type: str, grain: str, site: str, start: date) -> list[dict[str, Any]]:
        """What the API answers for a period as the period sync read it (through END)."""
        return self.rows(query_type, site, start, min(period_end(start, grain), END))


def daily_traffic(truth: Truth) -> list[dict[str, Any]]:
    return truth.daily(
        "events_by_date",
        lambda site, day, r: {
            "website_id": site,
            "date": day,
            "pageviews": r["pageviews"],
            "visitors": r["visitors"],
            "sessions": r["sessions"],
            "bounce_rate_pct": r["bounce_rate"],
            "median_session_seconds": r["median_session_duration"],
            "pages_per_session": r["pages_per_session"],
        },
    )


def channel_rows(truth: Truth, kind: str, site: str, day: date) -> list[dict[str, Any]]:
    """One channel type's rows of a day, as the API gives them: referrers with the direct
    visits (from traffic_sources) added, UTM values as tagged."""
    if kind != "referrer":
        return [
            {**r, "channel": r["name"], "domain": None}
            for r in truth.rows(CHANNEL_TABLES[kind], site, day, day)
        ]
    rows = [
        {**r, "channel": r.get("referrer") or r["name"]}
        for r in truth.rows("top_referrers", site, day, day)
    ]
    direct = truth.rows("traffic_sources", site, day, day)
    return rows + [
        {**r, "channel": "direct", "domain": None} for r in direct if r["referrer"] == "direct"
    ]


def channel_mix_daily(truth: Truth) -> list[dict[str, Any]]:
    out = []
    for site in truth.website_ids:
        for day in days(START, END):
            for kind in CHANNEL_TABLES:
                rows = channel_rows(truth, kind, site, day)
                pageviews = sum(r["pageviews"] for r in rows)
                visitors = sum(r["visitors"] for r in rows)
                out += [
                    {
                        "website_id": site,
                        "date": day,
                        "channel_type": kind,
                        "channel": r["channel"],
                        "channel_label": r["name"],
                        "referrer_domain": r.get("domain") or None,
                        "pageviews": r["pageviews"],
                        "visitors": r["visitors"],
                        "visitors_share_pct": share(r["visitors"], visitors),
                        "pageviews_share_pct": share(r["pageviews"], pageviews),
                    }
                    for r in rows
                ]
    return out


def traffic_by_period(truth: Truth, grain: str) -> list[dict[str, Any]]:
    out = []
    for site in truth.website_ids:
        for start in period_starts(grain):
            for r in truth.period("summary_metrics", grain, site, start):
                out.append(
                    {
                        "website_id": site,
                        "period_start": start,
                        "period_end": period_end(start, grain),
                        "pageviews": r["pageviews"],
                        "unique_visitors": r["unique_visitors"],
                        "sessions": r["sessions"],
                        "bounce_rate_pct": r["bounce_rate"],
                        "median_session_seconds": r["median_session_duration"],
                        "pages_per_session": share(r["pageviews"], r["sessions"], 1),
                        "total_events": r["total_events"],
                    }
                )
    return out


Row = dict[str, Any]


def ranked_by_period(
    truth: Truth, grain: str, query_type: str, rank: str, dimension: Callable[[Row], Row]
) -> list[Row]:
    out = []
    for site in truth.website_ids:
        for start in period_starts(grain):
            rows = truth.period(query_type, grain, site, start)
            total = sum(r["pageviews"] for r in rows)
            for r, position in zip(rows, ranks(rows), strict=True):
                out.append(
                    {
                        "website_id": site,
                        "period_start": start,
                        "period_end": period_end(start, grain),
                        rank: position,
                        **dimension(r),
                        "pageviews": r["pageviews"],
                        "visitors": r["visitors"],
                        "visitors_share_pct": r["percentage"],
                        "pageviews_share_pct": share(r["pageviews"], total),
                    }
                )
    return out


def errors_daily(truth: Truth) -> list[dict[str, Any]]:
    def make(site: str, day: date, r: dict[str, Any]) -> dict[str, Any]:
        traffic = truth.rows("events_by_date", site, day, day)
        pageviews = traffic[0]["pageviews"] if traffic else None
        return {
            "website_id": site,
            "date": day,
            "errors": r["errors"],
            "affected_visitors": r["users"],
            "pageviews": pageviews,
            "errors_per_1000_pageviews": share(r["errors"], pageviews or 0, 1000),
        }

    return truth.daily("error_trends", make)


def web_vitals_daily(truth: Truth) -> list[dict[str, Any]]:
    def make(site: str, day: date, r: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"website_id": site, "date": day, "measurements": r["measurements"]}
        for metric, unit in VITALS.items():
            for stat in ("p50", "avg"):
                row[f"{metric}_{stat}{unit}"] = r[f"{stat}_{metric}"]
        return row

    return truth.daily("web_vitals_time_series", make)


def link_clicks_daily(truth: Truth) -> list[dict[str, Any]]:
    return [
        {
            "link_id": link["id"],
            "date": day,
            "clicks": r["clicks"],
            "organization_id": link["organizationId"],
            "link_slug": link["slug"],
            "link_name": link["name"],
            "target_url": link["targetUrl"],
            "link_is_deleted": link["deletedAt"] is not None,
        }
        for link in truth.links
        for day in days(START, END)
        for r in truth.rows("link_clicks_by_day", link["id"], day, day, scope="link_id")
    ]


EXPECTED: dict[str, Callable[[Truth], list[dict[str, Any]]]] = {
    "mart_daily_traffic": daily_traffic,
    "mart_channel_mix_daily": channel_mix_daily,
    "mart_traffic_weekly": lambda t: traffic_by_period(t, "week"),
    "mart_traffic_monthly": lambda t: traffic_by_period(t, "month"),
    "mart_top_pages_weekly": lambda t: ranked_by_period(
        t, "week", "top_pages", "page_rank", lambda r: {"page": r["name"]}
    ),
    "mart_top_pages_monthly": lambda t: ranked_by_period(
        t, "month", "top_pages", "page_rank", lambda r: {"page": r["name"]}
    ),
    "mart_top_countries_weekly": lambda t: ranked_by_period(
        t,
        "week",
        "country",
        "country_rank",
        lambda r: {"country_code": r["name"], "country_name": r["country_name"]},
    ),
    "mart_top_countries_monthly": lambda t: ranked_by_period(
        t,
        "month",
        "country",
        "country_rank",
        lambda r: {"country_code": r["name"], "country_name": r["country_name"]},
    ),
    "mart_errors_daily": errors_daily,
    "mart_web_vitals_daily": web_vitals_daily,
    "mart_link_clicks_daily": link_clicks_daily,
}
"""Each model's rows, computed from the API's answers (never from the models' SQL)."""
