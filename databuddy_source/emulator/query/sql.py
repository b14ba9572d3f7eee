"""SQL fragments shared by query type builders (DuckDB dialect)."""

from __future__ import annotations

from collections.abc import Iterable


def lit(value: object) -> str:
    """A SQL literal for a Python value (strings quoted and escaped)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def lit_list(values: Iterable[object]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def normalized_path(col: str = "path") -> str:
    """The path as Databuddy reports it: query string and fragment stripped, no trailing '/',
    root as '/'."""
    bare = f"rtrim(split_part(split_part({col}, '?', 1), '#', 1), '/')"
    return f"(CASE WHEN {bare} = '' THEN '/' ELSE {bare} END)"


def referrer_host(col: str = "referrer") -> str:
    """Host of a referrer URL without 'www.'; '' for direct traffic."""
    return f"regexp_replace(regexp_extract({col}, '^[a-z]+://([^/?#]+)', 1), '^www\\.', '')"


def normalized_referrer(col: str = "referrer") -> str:
    """'direct' for an empty referrer, else 'https://<host without www>'."""
    host = referrer_host(col)
    return f"(CASE WHEN coalesce({col}, '') = '' THEN 'direct' ELSE 'https://' || {host} END)"


def country_name(code_col: str) -> str:
    """English country name for an ISO code column ('' when unknown)."""
    return f"coalesce((SELECT cn.name FROM country_names cn WHERE cn.code = {code_col}), '')"


def pct(part: str, whole: str) -> str:
    """A share in percent, 2 decimals, 0 when the whole is 0."""
    return f"(CASE WHEN ({whole}) = 0 THEN 0 ELSE round(100.0 * ({part}) / ({whole}), 2) END)"


def event_time(col: str) -> str:
    """A raw event timestamp as ClickHouse prints DateTime64(3): 'YYYY-MM-DD HH:MM:SS.mmm'."""
    return f"strftime({col}, '%Y-%m-%d %H:%M:%S.%g')"


def clock_time(col: str) -> str:
    """A ClickHouse DateTime: 'YYYY-MM-DD HH:MM:SS'."""
    return f"strftime({col}, '%Y-%m-%d %H:%M:%S')"
