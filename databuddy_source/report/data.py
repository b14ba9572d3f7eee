"""What the report shows, read from the model views of one dataset for one website and range.

Only sums of additive counts (page views, errors, clicks) are taken over the range; unique
visitors come per day (``mart_daily_traffic``) or per whole week and month (the period views),
never added up across days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from ..models.base import PeriodGrain
from ..models.create import SCD2_VALID_TO
from ..models.periods import TABLE_SUFFIX
from ..models.views import MODELS_BY_NAME

DEFAULT_DAYS = 28
TOP_PAGES = 10
TOP_COUNTRIES = 10
TOP_CHANNELS = 10
GRAINS: tuple[PeriodGrain, ...] = ("week", "month")


class ReportInputError(ValueError):
    """The dataset, website or range asked for cannot make a report (the message says why and
    what there is instead)."""


class Database(Protocol):
    """A read connection to the dataset the models live in."""

    dataset: str

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """The rows of a query with ``%s`` placeholders, as dicts."""
        ...

    def qualified(self, name: str) -> str:
        """``name`` in the dataset, quoted for SQL."""
        ...


@dataclass(frozen=True, slots=True)
class Website:
    """A website the models have traffic for, with what the ``websites`` table says of it."""

    id: str
    name: str | None = None
    domain: str | None = None
    organization_id: str | None = None

    @property
    def title(self) -> str:
        return self.name or self.domain or self.id


@dataclass(slots=True)
class ReportData:
    """Every model's rows the report draws, for one website and range."""

    dataset: str
    website: Website
    start: date
    end: date
    daily: list[dict[str, Any]] = field(default_factory=list)
    traffic: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    top_pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    top_countries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    vitals: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # view -> why its section is empty


def relations(db: Database) -> dict[str, frozenset[str]]:
    """The tables and views of the dataset, with their columns."""
    found: dict[str, set[str]] = {}
    for row in db.rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_catalog = current_database()",
        db.dataset,
    ):
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return {name: frozenset(columns) for name, columns in found.items()}


def websites(db: Database, present: dict[str, frozenset[str]]) -> list[Website]:
    """Websites with daily traffic, named from the ``websites`` table when it was synced."""
    ids = [
        r["website_id"]
        for r in db.rows(
            f"SELECT website_id, SUM(pageviews) AS pageviews "
            f"FROM {db.qualified('mart_daily_traffic')} GROUP BY website_id "
            "ORDER BY 2 DESC, 1"
        )
    ]
    known: dict[str, dict[str, Any]] = {}
    columns = present.get("websites", frozenset())
    if {"id", "name", "domain", "organization_id"} <= columns:
        current = f"WHERE {SCD2_VALID_TO} IS NULL" if SCD2_VALID_TO in columns else ""
        known = {
            r["id"]: r
            for r in db.rows(
                f"SELECT id, name, domain, organization_id "
                f"FROM {db.qualified('websites')} {current}"
            )
        }
    return [
        Website(
            i,
            known.get(i, {}).get("name"),
            known.get(i, {}).get("domain"),
            known.get(i, {}).get("organization_id"),
        )
        for i in ids
    ]


def choose_website(candidates: list[Website], wanted: str | None) -> Website:
    """The website named by id, domain or name (any case); by default the one with the most
    page views."""
    if not candidates:
        raise ReportInputError("the models hold no traffic yet: sync some days first")
    if wanted is None:
        return candidates[0]
    needle = wanted.strip().lower()
    for site in candidates:
        if needle in {(v or "").lower() for v in (site.id, site.domain, site.name)}:
            return site
    choices = ", ".join(f"{s.id} ({s.title})" if s.title != s.id else s.id for s in candidates)
    raise ReportInputError(f"no website {wanted!r} in the models; there are: {choices}")


def days_with_data(db: Database, website: Website) -> tuple[date, date]:
    row = db.rows(
        f"SELECT MIN(date) AS first, MAX(date) AS last FROM {db.qualified('mart_daily_traffic')} "
        "WHERE website_id = %s",
        website.id,
    )[0]
    return row["first"], row["last"]


def choose_range(
    db: Database, website: Website, start: date | None, end: date | None
) -> tuple[date, date]:
    """``start``..``end``, by default the last 28 days with data; it must overlap the data."""
    first, last = days_with_data(db, website)
    if end is None and start is not None and start > last:
        raise ReportInputError(
            f"{website.title} has no traffic from {start}: its last day is {last}"
        )
    end = end or last
    start = start or max(first, end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        raise ReportInputError(f"--end {end} is before --start {start}")
    if end < first or start > last:
        raise ReportInputError(
            f"{website.title} has no traffic from {start} to {end}; its data covers "
            f"{first} to {last}"
        )
    return start, end


def load(db: Database, website: Website, start: date, end: date) -> ReportData:
    """Every section's rows (a section whose view is missing gets a note instead)."""
    present = relations(db)
    data = ReportData(db.dataset, website, start, end)

    def have(view: str) -> bool:
        if view not in present:
            data.missing[view] = missing_reason(view)
        return view in present

    data.daily = _days_of(db, "mart_daily_traffic", website, start, end)
    _load_periods(db, data, have)
    if have("mart_channel_mix_daily"):
        data.channels = db.rows(
            "SELECT channel_type, channel_label, CAST(SUM(pageviews) AS BIGINT) AS pageviews "
            f"FROM {db.qualified('mart_channel_mix_daily')} "
            "WHERE website_id = %s AND date BETWEEN %s AND %s "
            "GROUP BY channel_type, channel_label ORDER BY channel_type, 3 DESC, channel_label",
            website.id,
            start,
            end,
        )
    if have("mart_errors_daily"):
        data.errors = _days_of(db, "mart_errors_daily", website, start, end)
    if have("mart_web_vitals_daily"):
        data.vitals = _days_of(db, "mart_web_vitals_daily", website, start, end)
    if have("mart_link_clicks_daily"):
        data.links = _link_clicks(db, website, start, end)
    return data


def missing_reason(view: str) -> str:
    """Why a view is not there, and what to run: its tables were not synced."""
    tables = MODELS_BY_NAME[view].tables if view in MODELS_BY_NAME else ()
    periodic = any(t.endswith(("_weekly", "_monthly")) for t in tables)
    run = (
        "databuddy-sync --models loads them"
        if periodic
        else "sync them (databuddy-sync --queries adds query types; then databuddy-sync --models)"
    )
    were = "was" if len(tables) == 1 else "were"
    return f"not created: it reads {', '.join(tables) or 'tables'}, which {were} not synced; {run}"


def _load_periods(db: Database, data: ReportData, have: Callable[[str], bool]) -> None:
    """The weeks and months overlapping the range: their traffic and top pages and countries."""
    overlapping = "website_id = %s AND period_end >= %s AND period_start <= %s"
    for grain in GRAINS:
        suffix = TABLE_SUFFIX[grain]
        if have(f"mart_traffic_{suffix}"):
            data.traffic[grain] = db.rows(
                f"SELECT * FROM {db.qualified(f'mart_traffic_{suffix}')} WHERE {overlapping} "
                "ORDER BY period_start",
                data.website.id,
                data.start,
                data.end,
            )
        for kind, rank, top, order in (
            ("pages", "page_rank", TOP_PAGES, "page"),
            ("countries", "country_rank", TOP_COUNTRIES, "country_code"),
        ):
            view = f"mart_top_{kind}_{suffix}"
            if have(view):
                rows = db.rows(
                    f"SELECT * FROM {db.qualified(view)} WHERE {overlapping} AND {rank} <= %s "
                    f"ORDER BY period_start, {rank}, {order}",
                    data.website.id,
                    data.start,
                    data.end,
                    top,
                )
                (data.top_pages if kind == "pages" else data.top_countries)[grain] = rows


def _days_of(
    db: Database, view: str, website: Website, start: date, end: date
) -> list[dict[str, Any]]:
    """A daily view's rows of the website and range, by day."""
    return db.rows(
        f"SELECT * FROM {db.qualified(view)} "
        "WHERE website_id = %s AND date BETWEEN %s AND %s ORDER BY date",
        website.id,
        start,
        end,
    )


def _link_clicks(db: Database, website: Website, start: date, end: date) -> list[dict[str, Any]]:
    """Each short link's clicks in the range: the links of the website's organization, or
    every link when the organization is not known."""
    same_org = "AND organization_id = %s" if website.organization_id else ""
    params: list[Any] = [start, end] + ([website.organization_id] if same_org else [])
    return db.rows(
        "SELECT link_id, COALESCE(link_name, link_slug, link_id) AS link, "
        "CAST(SUM(clicks) AS BIGINT) AS clicks "
        f"FROM {db.qualified('mart_link_clicks_daily')} "
        f"WHERE date BETWEEN %s AND %s {same_org} "
        "GROUP BY link_id, COALESCE(link_name, link_slug, link_id) ORDER BY 3 DESC, 2",
        *params,
    )
