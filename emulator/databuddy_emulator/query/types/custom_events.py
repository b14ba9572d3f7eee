"""custom_events: named events with JSON properties (``custom_events``), per website or, when the
request carries only an organization, across the organization (``owner_id``).

All types read the same rows (named events in range, filters applied), so per-name, per-day and
summary totals agree. ``property_key`` filters apply after properties are split into keys;
``website_id`` filters compare the event's website.
"""

from __future__ import annotations

from dataclasses import replace

from ..context import QueryContext, filter_condition
from ..engine import Built, builder
from ..sql import event_time, pct, round_half_even

HAS_PROPS = "coalesce(properties, '{}') != '{}' AND coalesce(json_valid(properties), FALSE)"
_OWN_FILTERS = ("website_id", "property_key")  # not raw filter columns: handled here


def events(ctx: QueryContext) -> str:
    """The parameter's named custom events (website, or organization when no website)."""
    scoped = replace(ctx, filters=[f for f in ctx.filters if f.field not in _OWN_FILTERS])
    src = scoped.source("custom_events", key=None if ctx.website_id else "owner_id")
    conds = ["coalesce(event_name, '') != ''"]
    if ctx.qtype.filters_applied:
        conds += [filter_condition(f) for f in ctx.filters if f.field == "website_id"]
    return f"(SELECT * FROM {src} AS ce WHERE {' AND '.join(conds)})"


def properties(ctx: QueryContext) -> str:
    """One row per event and property key: ``event_name, property_key, property_value`` (string
    value, ``'null'`` for JSON null) and ``raw_value`` (the JSON text)."""
    conds = ["TRUE"]
    if ctx.qtype.filters_applied:
        conds += [filter_condition(f) for f in ctx.filters if f.field == "property_key"]
    path = "'$.\"' || k || '\"'"
    return f"""(
        SELECT * FROM (
            SELECT ce.event_name, ce.anonymous_id, ce.session_id, k AS property_key,
                   coalesce(json_extract_string(ce.properties, {path}), 'null') AS property_value,
                   CAST(json_extract(ce.properties, {path}) AS VARCHAR) AS raw_value
            FROM (SELECT * FROM {events(ctx)} AS e WHERE {HAS_PROPS}) AS ce,
                 unnest(json_keys(ce.properties)) AS t(k)
        ) AS p WHERE {" AND ".join(conds)})"""


def _value_counts(ctx: QueryContext) -> str:
    return f"""(SELECT event_name, property_key, property_value, count(*) AS count
                FROM {properties(ctx)} AS p GROUP BY event_name, property_key, property_value)"""


def _ranked(ctx: QueryContext) -> str:
    return f"""(SELECT *, row_number() OVER (PARTITION BY event_name, property_key
                                            ORDER BY count DESC, property_value ASC) AS rn
                FROM {_value_counts(ctx)} AS vc)"""


@builder("custom_events")
def custom_events(ctx: QueryContext) -> Built:
    users = "count(DISTINCT anonymous_id)"
    return Built(
        f"""
        SELECT event_name AS name, count(*) AS total_events, {users} AS unique_users,
               count(DISTINCT session_id) AS unique_sessions,
               {event_time("max(timestamp)")} AS last_occurrence,
               {event_time("min(timestamp)")} AS first_occurrence,
               count(*) FILTER (WHERE {HAS_PROPS}) AS events_with_properties,
               {pct(users, f"sum({users}) OVER ()")} AS percentage
        FROM {events(ctx)} AS e GROUP BY event_name
    """,
        "unique_users DESC, total_events DESC, name ASC",
    )


@builder("custom_event_properties")
def custom_event_properties(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT event_name AS name, property_key, property_value, count
        FROM {_value_counts(ctx)} AS vc
    """,
        "count DESC, name ASC, property_key ASC, property_value ASC",
    )


@builder("custom_events_by_path")
def custom_events_by_path(ctx: QueryContext) -> Built:
    page = "path"  # the page URL as the event recorded it (query string included)
    return Built(
        f"""
        SELECT {page} AS name, count(*) AS total_events,
               count(DISTINCT event_name) AS unique_event_types,
               count(DISTINCT anonymous_id) AS unique_users
        FROM {events(ctx)} AS e WHERE coalesce(path, '') != '' GROUP BY {page}
    """,
        "total_events DESC, name ASC",
    )


TOTALS = """count(*) AS total_events, count(DISTINCT event_name) AS unique_event_types,
             count(DISTINCT anonymous_id) AS unique_users,
             count(DISTINCT session_id) AS unique_sessions,
             count(DISTINCT CASE WHEN coalesce(path, '') != '' THEN path END) AS unique_pages"""


@builder("custom_events_trends")
def custom_events_trends(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, {TOTALS}
        FROM {events(ctx)} AS e GROUP BY 1
    """,
        "date ASC",
    )


@builder("custom_events_trends_by_event")
def custom_events_trends_by_event(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, event_name, count(*) AS total_events
        FROM {events(ctx)} AS e GROUP BY 1, event_name
    """,
        "date ASC, total_events DESC, event_name ASC",
    )


@builder("custom_events_summary")
def custom_events_summary(ctx: QueryContext) -> Built:
    return Built(f"SELECT {TOTALS} FROM {events(ctx)} AS e", "total_events", sortable=False)


@builder("custom_events_recent")
def custom_events_recent(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT event_name, namespace, path, source,
               coalesce(properties, '{{}}') AS properties, anonymous_id, session_id,
               {event_time("timestamp")} AS timestamp
        FROM {events(ctx)} AS e
    """,
        "timestamp DESC, session_id ASC, event_name ASC, anonymous_id ASC, path ASC, "
        "properties ASC, namespace ASC, source ASC",
    )


@builder("custom_events_property_cardinality")
def custom_events_property_cardinality(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT event_name, property_key, count(DISTINCT raw_value) AS unique_values,
               count(*) AS occurrences
        FROM {properties(ctx)} AS p GROUP BY event_name, property_key
    """,
        "occurrences DESC, event_name ASC, property_key ASC",
    )


_FLAGS = r"""
    count(*) FILTER (WHERE regexp_matches(v, '^-?[0-9]+(\.[0-9]+)?$')) = count(*) AS is_numeric,
    count(*) FILTER (WHERE lower(v) IN ('true', 'false', '1', '0', 'yes', 'no')) = count(*)
        AS is_boolean,
    count(*) FILTER (WHERE regexp_matches(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2}')
                        OR regexp_matches(v, '^[0-9]{2}/[0-9]{2}/[0-9]{4}')
                        OR regexp_matches(v, '^[0-9]{10,13}$')) > count(*) * 0.8 AS is_date_like,
    count(*) FILTER (WHERE starts_with(v, '/') OR starts_with(v, 'http')) > count(*) * 0.8
        AS is_url_like"""

_INFERRED = """CASE WHEN is_boolean THEN 'boolean' WHEN is_numeric THEN 'numeric'
         WHEN is_date_like THEN 'datetime' WHEN is_url_like THEN 'url'
         WHEN cardinality <= 20 THEN 'categorical'
         WHEN avg_length > 50 OR max_length > 200 THEN 'text'
         WHEN coverage >= 0.6 THEN 'aggregatable' ELSE 'high_cardinality' END"""

_RENDER = """CASE WHEN is_boolean OR cardinality <= 5 THEN 'distribution_bar'
         WHEN cardinality <= 20 THEN 'top_n_chart'
         WHEN avg_length > 50 OR max_length > 200 THEN 'detail_only'
         WHEN coverage >= 0.6 THEN 'top_n_with_other' ELSE 'detail_only' END"""


@builder("custom_events_property_classification")
def custom_events_property_classification(ctx: QueryContext) -> Built:
    """Per property: cardinality, value shape flags, inferred type and the top 10 values
    (``[value, count]`` pairs) as the server classifies them."""
    return Built(
        f"""
        WITH ps AS (
            SELECT event_name, property_key, count(DISTINCT v) AS cardinality,
                   count(*) AS total_count, avg(length(v)) AS avg_length,
                   max(length(v)) AS max_length, {_FLAGS}
            FROM (SELECT *, property_value AS v FROM {properties(ctx)} AS p0) AS p
            GROUP BY event_name, property_key),
        tv AS (
            SELECT event_name, property_key, sum(count) AS top_sum,
                   list([property_value, CAST(count AS VARCHAR)] ORDER BY rn) AS sample_values
            FROM {_ranked(ctx)} AS r WHERE rn <= 10 GROUP BY event_name, property_key),
        j AS (SELECT ps.*, tv.sample_values, tv.top_sum / ps.total_count AS coverage
              FROM ps JOIN tv USING (event_name, property_key))
        SELECT event_name, property_key, cardinality, total_count,
               round_even(coverage, 4) AS coverage_ratio, round_even(avg_length, 1) AS avg_length,
               max_length, CAST(is_numeric AS INTEGER) AS is_numeric,
               CAST(is_boolean AS INTEGER) AS is_boolean,
               CAST(is_date_like AS INTEGER) AS is_date_like,
               CAST(is_url_like AS INTEGER) AS is_url_like,
               {_INFERRED} AS inferred_type, {_RENDER} AS render_strategy, sample_values
        FROM j
    """,
        "total_count DESC, event_name ASC, property_key ASC",
    )


def _shares(ctx: QueryContext) -> str:
    """Value counts with their property's ``total``, ``percentage``, ``cardinality``, ``rank``."""
    return f"""(
        SELECT r.event_name, r.property_key, r.property_value, r.count, r.rn,
               sum(r.count) OVER w AS total,
               {round_half_even("r.count * 100.0 / sum(r.count) OVER w", 2)} AS percentage,
               count(*) OVER w AS cardinality
        FROM {_ranked(ctx)} AS r
        WINDOW w AS (PARTITION BY r.event_name, r.property_key))"""


@builder("custom_events_property_top_values")
def custom_events_property_top_values(ctx: QueryContext) -> Built:
    """The top ``limit`` values of each property (the request limit caps the rank)."""
    return Built(
        f"""
        SELECT event_name, property_key, property_value, count, total, percentage, rn AS rank
        FROM {_shares(ctx)} AS s WHERE rn <= {int(ctx.limit)}
    """,
        "event_name ASC, property_key ASC, rank ASC",
    )


@builder("custom_events_property_distribution")
def custom_events_property_distribution(ctx: QueryContext) -> Built:
    """Every value of the properties with at most 20 distinct values."""
    return Built(
        f"""
        SELECT event_name, property_key, property_value, count, total, percentage, cardinality
        FROM {_shares(ctx)} AS s WHERE cardinality <= 20
    """,
        "event_name ASC, property_key ASC, count DESC, property_value ASC",
    )


@builder("custom_events_discovery")
def custom_events_discovery(ctx: QueryContext) -> Built:
    """Each event with each of its property keys, its top 5 ``[value, count]`` and how many
    distinct values those are (the server counts them among the top 5 only, so at most 5);
    an event without properties in range has one row with ClickHouse's join defaults: key '',
    0 values, no top values."""
    return Built(
        f"""
        WITH es AS (
            SELECT event_name, count(*) AS total_events,
                   count(DISTINCT anonymous_id) AS unique_users,
                   count(DISTINCT session_id) AS unique_sessions
            FROM {events(ctx)} AS e GROUP BY event_name),
        ps AS (
            SELECT event_name, property_key, count(*) AS unique_values,
                   list([property_value, CAST(count AS VARCHAR)] ORDER BY rn) AS top_values
            FROM {_ranked(ctx)} AS r WHERE rn <= 5 GROUP BY event_name, property_key)
        SELECT es.event_name, es.total_events, es.unique_users, es.unique_sessions,
               coalesce(ps.property_key, '') AS property_key,
               coalesce(ps.unique_values, 0) AS unique_values,
               coalesce(ps.top_values, []) AS top_values
        FROM es LEFT JOIN ps ON ps.event_name = es.event_name
    """,
        "total_events DESC, unique_values DESC, event_name ASC, property_key ASC",
    )
