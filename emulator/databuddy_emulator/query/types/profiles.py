"""profiles: profile_list, profile_detail, profile_sessions.

profile_list pages visitor x session rows (most recently seen visitor first); profile_detail and
profile_sessions describe one visitor, named by an ``anonymous_id`` filter (the only filter they
read). The raw data has no user agent: user agent columns are empty strings.
"""

from __future__ import annotations

from ..context import ParameterError, QueryContext
from ..engine import Built, builder
from ..sql import country_name, event_time, lit
from .pages import PATH
from .sessions import MAX_LISTED_DURATION, event_tuples, prefetch

# ClickHouse formatReadableTimeDelta units (a year is 365 days, a month 30.5 days).
_UNITS = (
    ("year", 31_536_000),
    ("month", 2_635_200),
    ("day", 86_400),
    ("hour", 3_600),
    ("minute", 60),
    ("second", 1),
)
_VITAL = "UNION(s VARCHAR, n DOUBLE)"  # web vitals tuples mix strings and a number


def readable_delta(seconds: str) -> str:
    """SQL: ClickHouse ``formatReadableTimeDelta`` of an integer number of seconds, e.g.
    '1 hour, 2 minutes and 3 seconds' ('0 seconds' for 0)."""
    rest = f"CAST({seconds} AS BIGINT)"
    parts = []
    for unit, size in _UNITS:
        n = f"({rest} // {size})"
        parts.append(
            f"CASE WHEN {n} > 0 THEN {n} || ' {unit}' || CASE WHEN {n} = 1 THEN '' ELSE 's' END END"
        )
        rest = f"({rest} % {size})"
    joined = f"array_to_string(list_filter([{', '.join(parts)}], lambda p: p IS NOT NULL), ', ')"
    return (
        f"(CASE WHEN coalesce({seconds}, 0) <= 0 THEN '0 seconds' "
        f"ELSE regexp_replace({joined}, ', ([^,]*)$', ' and \\1') END)"
    )


def visitor_filter(ctx: QueryContext) -> str:
    """The visitor id of the request's ``anonymous_id`` filter; fails the parameter without one."""
    for f in ctx.filters:
        if f.field == "anonymous_id" and isinstance(f.value, str) and f.value:
            return f.value
    raise ParameterError(f"anonymous_id filter is required for {ctx.qtype.name} query")


def _attributes(prefix: str = "") -> str:
    cols = (
        ("country", "country"),
        ("region", "region"),
        ("device_type", "device_type"),
        ("browser_name", "browser_name"),
        ("os_name", "os_name"),
        ("referrer", "referrer"),
    )
    return ", ".join(
        f"arg_min(coalesce({col}, ''), time) AS {prefix}{alias}" for col, alias in cols
    )


@builder("profile_list")
def profile_list(ctx: QueryContext) -> Built:
    custom = ctx.source("custom_events", filtered=False)
    # every event of the range counts (page exits too), as Databuddy's profile rollups do
    return Built(
        f"""
        WITH pv AS (SELECT * FROM {ctx.source("events")} AS e),
             vp AS (
                SELECT anonymous_id AS visitor_id, min(time) AS first_visit,
                       max(time) AS last_visit, count(DISTINCT session_id) AS session_count,
                       count(*) AS total_events, count(DISTINCT path) AS unique_pages,
                       {_attributes()}
                FROM pv GROUP BY anonymous_id
                ORDER BY last_visit DESC, visitor_id ASC {prefetch(ctx)}),
             vce AS (
                SELECT anonymous_id AS visitor_id, count(*) AS custom_event_count,
                       count(DISTINCT event_name) AS unique_event_names
                FROM {custom} AS c
                WHERE anonymous_id IN (SELECT visitor_id FROM vp)
                GROUP BY anonymous_id),
             vs AS (
                SELECT e.anonymous_id AS visitor_id, e.session_id,
                       min(time) AS session_start, max(time) AS session_end,
                       least(date_diff('second', min(time), max(time)), {MAX_LISTED_DURATION})
                           AS duration,
                       count(*) AS page_views, count(DISTINCT path) AS session_unique_pages,
                       {_attributes("session_")}, {event_tuples()} AS events
                FROM pv AS e
                WHERE e.anonymous_id IN (SELECT visitor_id FROM vp)
                GROUP BY e.anonymous_id, e.session_id)
        SELECT vp.visitor_id, {event_time("vp.first_visit")} AS first_visit,
               {event_time("vp.last_visit")} AS last_visit, vp.session_count, vp.total_events,
               vp.unique_pages, '' AS user_agent, vp.country, vp.region, vp.device_type,
               vp.browser_name, vp.os_name, vp.referrer,
               coalesce(vce.custom_event_count, 0) AS custom_event_count,
               coalesce(vce.unique_event_names, 0) AS unique_event_names,
               vs.session_id, {event_time("vs.session_start")} AS session_start,
               {event_time("vs.session_end")} AS session_end, vs.duration, vs.page_views,
               vs.session_unique_pages, '' AS session_user_agent, vs.session_country,
               vs.session_region, vs.session_device_type, vs.session_browser_name,
               vs.session_os_name, vs.session_referrer, vs.events
        FROM vp JOIN vs USING (visitor_id)
        LEFT JOIN vce USING (visitor_id)""",
        "last_visit DESC, visitor_id ASC, session_start DESC, session_id ASC",
        sortable=False,
    )


def _activity(ctx: QueryContext, visitor: str) -> str:
    """(session_id, time) of everything the visitor did in the range, in any raw table."""
    v = lit(visitor)
    parts = [
        f"SELECT coalesce(session_id, '') AS session_id, time FROM "
        f"{ctx.source('events')} AS e WHERE anonymous_id = {v}",
        f"SELECT coalesce(session_id, ''), timestamp FROM "
        f"{ctx.source('custom_events')} AS c WHERE anonymous_id = {v}",
    ]
    parts += [
        f"SELECT coalesce(session_id, ''), timestamp FROM {ctx.source(t)} AS t "
        f"WHERE anonymous_id = {v}"
        for t in ("error_spans", "web_vitals_spans", "outgoing_links")
    ]
    return "(" + "\nUNION ALL\n".join(parts) + ")"


@builder("profile_detail")
def profile_detail(ctx: QueryContext) -> Built:
    visitor = visitor_filter(ctx)
    return Built(
        f"""
        WITH act AS {_activity(ctx, visitor)},
             st AS (SELECT min(time) AS first_visit, max(time) AS last_visit,
                           count(DISTINCT session_id) AS total_sessions
                    FROM act WHERE session_id != ''),
             es AS (SELECT count(*) FILTER (WHERE event_name = 'screen_view') AS total_pageviews,
                           CAST(round(coalesce(sum(time_on_page) FILTER (WHERE time_on_page > 0),
                                               0)) AS BIGINT) AS total_duration,
                           arg_min(coalesce(device_type, ''), time) AS device,
                           arg_min(coalesce(browser_name, ''), time) AS browser,
                           arg_min(coalesce(os_name, ''), time) AS os,
                           arg_min(coalesce(country, ''), time) AS country,
                           arg_min(coalesce(region, ''), time) AS region
                    FROM {ctx.source("events")} AS e WHERE anonymous_id = {lit(visitor)})
        SELECT {lit(visitor)} AS visitor_id, {event_time("st.first_visit")} AS first_visit,
               {event_time("st.last_visit")} AS last_visit, st.total_sessions, es.total_pageviews,
               es.total_duration, {readable_delta("es.total_duration")} AS total_duration_formatted,
               coalesce(es.device, '') AS device, coalesce(es.browser, '') AS browser,
               coalesce(es.os, '') AS os, coalesce(es.country, '') AS country,
               coalesce(es.region, '') AS region
        FROM st CROSS JOIN es
        WHERE st.total_sessions > 0""",
        "visitor_id",
        sortable=False,
    )


def _session_events(ctx: QueryContext, visitor: str) -> str:
    """Every event of the visitor's sessions (page views, custom events, errors, outgoing
    links) as (session_id, time, id, event_name, path, properties)."""
    v = lit(visitor)
    return f"""(
        SELECT session_id, time, id, event_name, path, NULL::VARCHAR AS properties
        FROM {ctx.source("events", in_range=False)} AS e WHERE anonymous_id = {v}
        UNION ALL
        SELECT session_id, timestamp, id, event_name, coalesce(path, ''),
               CASE WHEN properties IS NOT NULL AND properties != '{{}}' THEN properties END
        FROM {ctx.source("custom_events", in_range=False)} AS c
        WHERE anonymous_id = {v} AND session_id IS NOT NULL
        UNION ALL
        SELECT session_id, timestamp,
               'error:' || left(md5(session_id || CAST(timestamp AS VARCHAR) || error_type
                                    || message), 16),
               error_type, path,
               CAST(json_object('message', message, 'filename', coalesce(filename, ''),
                                'line', coalesce(CAST(lineno AS VARCHAR), ''),
                                'column', coalesce(CAST(colno AS VARCHAR), '')) AS VARCHAR)
        FROM {ctx.source("error_spans", in_range=False)} AS r WHERE anonymous_id = {v}
        UNION ALL
        SELECT session_id, timestamp,
               'link:' || left(md5(session_id || CAST(timestamp AS VARCHAR) || href), 16),
               'outgoing_link', href,
               CAST(json_object('href', href, 'text', coalesce(text, '')) AS VARCHAR)
        FROM {ctx.source("outgoing_links", in_range=False)} AS o WHERE anonymous_id = {v})"""


@builder("profile_sessions")
def profile_sessions(ctx: QueryContext) -> Built:
    visitor = visitor_filter(ctx)
    v = lit(visitor)
    vital = (
        f"[metric_name::{_VITAL}, round_even(metric_value, 3)::{_VITAL}, "
        f"{event_time('timestamp')}::{_VITAL}, path::{_VITAL}]"
    )
    return Built(
        f"""
        WITH act AS {_activity(ctx, visitor)},
             us AS (
                SELECT session_id,
                       'Session ' || row_number() OVER (ORDER BY min(time), session_id)
                           AS session_name,
                       min(time) AS first_visit, max(time) AS last_visit,
                       least(date_diff('second', min(time), max(time)), {MAX_LISTED_DURATION})
                           AS duration
                FROM act WHERE session_id != '' GROUP BY session_id),
             sc AS (
                SELECT session_id, count(*) AS page_views,
                       count(DISTINCT {PATH}) AS unique_pages,
                       arg_min(coalesce(device_type, ''), time) AS device,
                       arg_min(coalesce(browser_name, ''), time) AS browser,
                       arg_min(coalesce(os_name, ''), time) AS os,
                       arg_min(coalesce(country, ''), time) AS country,
                       arg_min(coalesce(region, ''), time) AS region,
                       arg_min(coalesce(referrer, ''), time) AS referrer
                FROM {ctx.source("events", in_range=False)} AS e
                WHERE anonymous_id = {v} AND event_name = 'screen_view'
                  AND session_id IN (SELECT session_id FROM us)
                GROUP BY session_id),
             se AS (
                SELECT a.session_id, {event_tuples("a", "a.properties")} AS events
                FROM {_session_events(ctx, visitor)} AS a
                WHERE a.session_id IN (SELECT session_id FROM us)
                GROUP BY a.session_id),
             sv AS (
                SELECT session_id, list({vital} ORDER BY timestamp, metric_name) AS web_vitals
                FROM {ctx.source("web_vitals_spans", in_range=False)} AS w
                WHERE anonymous_id = {v} AND session_id IN (SELECT session_id FROM us)
                GROUP BY session_id)
        SELECT us.session_id, us.session_name, {event_time("us.first_visit")} AS first_visit,
               {event_time("us.last_visit")} AS last_visit, us.duration,
               {readable_delta("us.duration")} AS duration_formatted,
               coalesce(sc.page_views, 0) AS page_views,
               coalesce(sc.unique_pages, 0) AS unique_pages,
               coalesce(sc.device, '') AS device, coalesce(sc.browser, '') AS browser,
               coalesce(sc.os, '') AS os, coalesce(sc.country, '') AS country,
               coalesce(sc.region, '') AS region, coalesce(sc.referrer, '') AS referrer,
               coalesce(se.events, []) AS events, coalesce(sv.web_vitals, []) AS web_vitals,
               coalesce(sc.country, '') AS country_code,
               {country_name("coalesce(sc.country, '')")} AS country_name
        FROM us
        LEFT JOIN sc USING (session_id)
        LEFT JOIN se USING (session_id)
        LEFT JOIN sv USING (session_id)""",
        "first_visit DESC, session_id ASC",
        sortable=False,
    )
