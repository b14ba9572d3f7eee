"""The weekly and monthly models, read from the tables the source loads per period (``grain``
``week`` / ``month``: ``<type>_weekly`` / ``<type>_monthly``), whose unique visitors the API
counted over the whole period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import PAGEVIEWS_SHARE, WEBSITE_ID, Column, PeriodGrain, ViewModel, ratio

# The query types the weekly and monthly views need, loaded with ``grain`` "week" and "month".
PERIOD_QUERY_TYPES: tuple[str, ...] = ("summary_metrics", "top_pages", "country")
TABLE_SUFFIX: dict[PeriodGrain, str] = {"week": "weekly", "month": "monthly"}


def _period_end(grain: PeriodGrain, start: str) -> str:
    """The last calendar day of the week (Monday to Sunday) or month starting on ``start``."""
    if grain == "week":
        return f"{start} + 6"
    return f"CAST({start} + INTERVAL '1 month' AS DATE) - 1"


def _period_columns(grain: PeriodGrain) -> tuple[Column, ...]:
    period = {"week": "ISO week (Monday to Sunday)", "month": "calendar month"}[grain]
    return (
        WEBSITE_ID,
        Column("period_start", "date", f"the first day of the {period}"),
        Column(
            "period_end",
            "date",
            f"the last day of the {period}; the period still in progress holds only the days "
            "synced so far",
        ),
    )


def traffic_by_period(grain: PeriodGrain) -> ViewModel:
    """Traffic per week or month, from ``summary_metrics_weekly`` / ``_monthly``."""
    suffix = TABLE_SUFFIX[grain]
    return ViewModel(
        name=f"mart_traffic_{suffix}",
        summary=(
            f"One row per website and {grain}: the {grain}'s traffic, with unique visitors "
            f"counted over the whole {grain} by the API."
        ),
        tables=(f"summary_metrics_{suffix}",),
        columns=(
            *_period_columns(grain),
            Column("pageviews", "bigint", f"page views in the {grain}"),
            Column("unique_visitors", "bigint", f"distinct visitors in the {grain}"),
            Column("sessions", "bigint", f"sessions in the {grain}"),
            Column(
                "bounce_rate_pct",
                "double",
                "share of the sessions that bounced (one page view, under 10 s on the page, no "
                "other event), in percent",
            ),
            Column(
                "median_session_seconds",
                "double",
                "median session duration (the time spent on its pages), in seconds",
            ),
            Column("pages_per_session", "double", "page views per session (null without sessions)"),
            Column(
                "total_events", "bigint", "every tracked event (page views, custom events, ...)"
            ),
        ),
        select=f"""
SELECT s.website_id,
       s.date AS period_start,
       {_period_end(grain, "s.date")} AS period_end,
       s.pageviews,
       s.unique_visitors,
       s.sessions,
       s.bounce_rate AS bounce_rate_pct,
       s.median_session_duration AS median_session_seconds,
       {ratio("s.pageviews", "s.sessions")} AS pages_per_session,
       s.total_events
FROM {{summary_metrics_{suffix}}} AS s""",
    )


def _ranked(grain: PeriodGrain, table: str, rank: str, dimension: str) -> str:
    """A period breakdown with its rank and page-view share inside each website's period."""
    per_period = "PARTITION BY t.website_id, t.date"
    return f"""
SELECT t.website_id,
       t.date AS period_start,
       {_period_end(grain, "t.date")} AS period_end,
       RANK() OVER ({per_period} ORDER BY t.pageviews DESC, t.visitors DESC) AS {rank},
       {dimension},
       t.pageviews,
       t.visitors,
       t.percentage AS visitors_share_pct,
       {ratio("t.pageviews", f"SUM(t.pageviews) OVER ({per_period})", 100)}
           AS pageviews_share_pct
FROM {{{table}}} AS t"""


def _ranked_columns(grain: PeriodGrain, rank: Column, *dimension: Column) -> tuple[Column, ...]:
    return (
        *_period_columns(grain),
        rank,
        *dimension,
        Column("pageviews", "bigint", f"page views in the {grain}"),
        Column(
            "visitors",
            "bigint",
            f"distinct visitors in the {grain}, counted over the whole {grain} by the API",
        ),
        Column(
            "visitors_share_pct",
            "double",
            f"the API's share of the {grain}'s visitors, in percent",
        ),
        Column(
            PAGEVIEWS_SHARE.name,
            "double",
            PAGEVIEWS_SHARE.doc.format(scope=f"website and {grain}"),
        ),
    )


def top_pages_by_period(grain: PeriodGrain) -> ViewModel:
    """Every page of each week or month, ranked, from ``top_pages_weekly`` / ``_monthly``."""
    suffix = TABLE_SUFFIX[grain]
    return ViewModel(
        name=f"mart_top_pages_{suffix}",
        summary=(
            f"One row per website, {grain} and page path, ranked by page views (filter "
            f"`page_rank <= 10` for a top ten)."
        ),
        tables=(f"top_pages_{suffix}",),
        columns=_ranked_columns(
            grain,
            Column(
                "page_rank",
                "bigint",
                f"1 for the page with the most page views in the {grain} (then most "
                "visitors); tied pages share a rank",
            ),
            Column("page", "text", "the page path (query string removed, no trailing slash)"),
        ),
        select=_ranked(grain, f"top_pages_{suffix}", "page_rank", "t.name AS page"),
    )


def top_countries_by_period(grain: PeriodGrain) -> ViewModel:
    """Every country of each week or month, ranked, from ``country_weekly`` / ``_monthly``."""
    suffix = TABLE_SUFFIX[grain]
    return ViewModel(
        name=f"mart_top_countries_{suffix}",
        summary=(
            f"One row per website, {grain} and visitor country, ranked by page views (page "
            f"views without a known country are left out)."
        ),
        tables=(f"country_{suffix}",),
        columns=_ranked_columns(
            grain,
            Column(
                "country_rank",
                "bigint",
                f"1 for the country with the most page views in the {grain} (then most "
                "visitors); tied countries share a rank",
            ),
            Column("country_code", "text", "ISO 3166-1 alpha-2 code, e.g. `US`"),
            Column("country_name", "text", "English name, e.g. `United States`"),
        ),
        select=_ranked(
            grain,
            f"country_{suffix}",
            "country_rank",
            "t.name AS country_code,\n       t.country_name",
        ),
    )


def period_sync_options(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Source options of the runs that load what the weekly and monthly models read: a run's
    own ``options`` with ``grain`` week, then month, only :data:`PERIOD_QUERY_TYPES` and no RPC
    collections (a grain the run itself loads is left out). Each costs about one more query
    request per website."""
    return [
        {
            **options,
            "grain": grain,
            "queries": list(PERIOD_QUERY_TYPES),
            "rpc_collections": ["none"],
        }
        for grain in ("week", "month")
        if options.get("grain", "day") != grain
    ]
