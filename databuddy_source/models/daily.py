"""The daily models: one row per website (or short link) and day, straight from the daily
tables; nothing is added up across days."""

from __future__ import annotations

from .base import DAY, PAGEVIEWS_SHARE, WEBSITE_ID, Column, ViewModel, ratio

DAILY_TRAFFIC = ViewModel(
    name="mart_daily_traffic",
    summary="One row per website and day with page views: the day's traffic.",
    tables=("events_by_date",),
    columns=(
        WEBSITE_ID,
        DAY,
        Column("pageviews", "bigint", "page views on the day"),
        Column("visitors", "bigint", "unique visitors on the day (not summable across days)"),
        Column("sessions", "bigint", "sessions with a page view on the day"),
        Column(
            "bounce_rate_pct",
            "double",
            "share of the sessions started on the day that bounced (one page view, under 10 s on "
            "the page, no other event), in percent",
        ),
        Column(
            "median_session_seconds",
            "double",
            "median duration of the sessions started on the day (the time spent on their pages), "
            "in seconds",
        ),
        Column("pages_per_session", "double", "page views per session on the day"),
    ),
    select="""
SELECT e.website_id,
       e.date,
       e.pageviews,
       e.visitors,
       e.sessions,
       e.bounce_rate AS bounce_rate_pct,
       e.median_session_duration AS median_session_seconds,
       e.pages_per_session
FROM {events_by_date} AS e""",
)

_CHANNEL_COLUMNS = (
    WEBSITE_ID,
    DAY,
    Column(
        "channel_type",
        "text",
        "`referrer` (the visit's referring site, `direct` for none), `utm_source`, "
        "`utm_medium` or `utm_campaign`",
    ),
    Column(
        "channel",
        "text",
        "the value: the referrer's URL (`https://google.com`, ...; `direct` for visits without "
        "one) or the UTM value as tagged",
    ),
    Column(
        "channel_label",
        "text",
        "a readable name: the referrer's name (`Google`, `Direct`, ...) or the UTM value",
    ),
    Column(
        "referrer_domain", "text", "the referrer's host name (null for direct visits and UTM rows)"
    ),
    Column("pageviews", "bigint", "page views from this channel on the day"),
    Column(
        "visitors",
        "bigint",
        "unique visitors from this channel on the day (not summable across days)",
    ),
    Column(
        "visitors_share_pct",
        "double",
        "the channel's share of the visitors of its channel type on the day (referrer rows: "
        "every visit, direct included; UTM rows: the tagged visits), in percent",
    ),
    Column(
        PAGEVIEWS_SHARE.name,
        "double",
        PAGEVIEWS_SHARE.doc.format(scope="website, day and channel type"),
    ),
)

_PER_CHANNEL_TYPE = "PARTITION BY website_id, date, channel_type"
_UTM_PART = """
    SELECT website_id, date, '{kind}' AS channel_type, name AS channel, name AS channel_label,
           CAST(NULL AS VARCHAR) AS referrer_domain, pageviews, visitors
    FROM {{{table}}}"""

CHANNEL_MIX_DAILY = ViewModel(
    name="mart_channel_mix_daily",
    summary=(
        "One row per website, day and channel: where the day's page views came from, by "
        "referrer (direct visits included) and by UTM source, medium and campaign (each channel "
        "type adds up to its own total: a visit has a referrer and may have UTM tags too)."
    ),
    # top_referrers: one row per referring site (readable name, its URL), direct visits left
    # out; traffic_sources: the same visits with direct ones, of which the direct row is taken
    tables=("top_referrers", "traffic_sources", "utm_sources", "utm_mediums", "utm_campaigns"),
    columns=_CHANNEL_COLUMNS,
    select="""
WITH channels AS (
    SELECT website_id, date, 'referrer' AS channel_type,
           COALESCE(NULLIF(referrer, ''), name) AS channel, name AS channel_label,
           NULLIF(domain, '') AS referrer_domain, pageviews, visitors
    FROM {top_referrers}
    UNION ALL
    SELECT website_id, date, 'referrer' AS channel_type, 'direct' AS channel,
           name AS channel_label, CAST(NULL AS VARCHAR) AS referrer_domain, pageviews, visitors
    FROM {traffic_sources}
    WHERE referrer = 'direct'
    UNION ALL"""
    + "\n    UNION ALL".join(
        _UTM_PART.format(kind=kind, table=table)
        for kind, table in (
            ("utm_source", "utm_sources"),
            ("utm_medium", "utm_mediums"),
            ("utm_campaign", "utm_campaigns"),
        )
    )
    + f"""
)
SELECT website_id, date, channel_type, channel, channel_label, referrer_domain,
       pageviews, visitors,
       {ratio("visitors", f"SUM(visitors) OVER ({_PER_CHANNEL_TYPE})", 100)}
           AS visitors_share_pct,
       {ratio("pageviews", f"SUM(pageviews) OVER ({_PER_CHANNEL_TYPE})", 100)}
           AS pageviews_share_pct
FROM channels""",
)


ERRORS_DAILY = ViewModel(
    name="mart_errors_daily",
    summary=(
        "One row per website and day with JavaScript errors: how many, how many visitors they "
        "hit, and per 1,000 page views."
    ),
    tables=("error_trends", "events_by_date"),
    columns=(
        WEBSITE_ID,
        DAY,
        Column("errors", "bigint", "errors recorded on the day"),
        Column(
            "affected_visitors",
            "bigint",
            "distinct visitors who hit an error on the day (not summable across days)",
        ),
        Column("pageviews", "bigint", "page views on the day (null if the day has none synced)"),
        Column(
            "errors_per_1000_pageviews",
            "double",
            "errors per 1,000 page views of the day (null without page views)",
        ),
    ),
    select=f"""
SELECT r.website_id,
       r.date,
       r.errors,
       r.users AS affected_visitors,
       e.pageviews,
       {ratio("r.errors", "e.pageviews", 1000)} AS errors_per_1000_pageviews
FROM {{error_trends}} AS r
LEFT JOIN {{events_by_date}} AS e ON e.website_id = r.website_id AND e.date = r.date""",
)

_VITALS = (
    ("fcp", "First Contentful Paint", "_ms", "in milliseconds"),
    ("lcp", "Largest Contentful Paint", "_ms", "in milliseconds"),
    ("cls", "Cumulative Layout Shift", "", "unitless"),
    ("inp", "Interaction to Next Paint", "_ms", "in milliseconds"),
    ("ttfb", "Time to First Byte", "_ms", "in milliseconds"),
)

WEB_VITALS_DAILY = ViewModel(
    name="mart_web_vitals_daily",
    summary=(
        "One row per website and day with web-vital measurements: median (p50) and mean of "
        "each Core Web Vital as real visitors measured it."
    ),
    tables=("web_vitals_time_series",),
    columns=(
        WEBSITE_ID,
        DAY,
        Column("measurements", "bigint", "web-vital samples recorded on the day"),
        *(
            Column(f"{metric}_{stat}{unit}", "double", f"{label}, {what} of the day, {unit_doc}")
            for metric, label, unit, unit_doc in _VITALS
            for stat, what in (("p50", "median"), ("avg", "mean"))
        ),
    ),
    select="""
SELECT v.website_id,
       v.date,
       v.measurements,
"""
    + ",\n".join(
        f"       v.{stat}_{metric} AS {metric}_{stat}{unit}"
        for metric, _, unit, _ in _VITALS
        for stat in ("p50", "avg")
    )
    + """
FROM {web_vitals_time_series} AS v""",
)

LINK_CLICKS_DAILY = ViewModel(
    name="mart_link_clicks_daily",
    summary=(
        "One row per short link and day with clicks, with the link's name and target (the "
        "`links` RPC collection)."
    ),
    tables=("link_clicks_by_day", "links"),
    columns=(
        Column("link_id", "text", "the short link's id"),
        DAY,
        Column("clicks", "bigint", "clicks on the day"),
        Column("organization_id", "text", "the organization that owns the link"),
        Column("link_slug", "text", "the short link's slug (`https://dby.to/<slug>`)"),
        Column("link_name", "text", "the link's name"),
        Column("target_url", "text", "where the link redirects to"),
        Column(
            "link_is_deleted",
            "boolean",
            "true if the link was deleted upstream (its clicks stay); null if the link is not "
            "in `links`",
        ),
    ),
    select="""
SELECT c.link_id,
       c.date,
       c.clicks,
       l.organization_id,
       l.slug AS link_slug,
       l.name AS link_name,
       l.target_url,
       l.is_deleted AS link_is_deleted
FROM {link_clicks_by_day} AS c
LEFT JOIN {links} AS l ON l.id = c.link_id""",
)
