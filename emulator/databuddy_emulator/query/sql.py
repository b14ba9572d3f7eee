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


def url_path(col: str = "path") -> str:
    """The path part of a full URL (``https://host/a/b?q`` -> ``/a/b``); a bare path loses its
    query string and fragment."""
    return (
        f"(CASE WHEN {col} LIKE '%://%' "
        f"THEN regexp_extract({col}, '^[^:/?#]+://[^/?#]*([^?#]*)', 1) "
        f"ELSE split_part(split_part({col}, '?', 1), '#', 1) END)"
    )


def normalized_path(col: str = "path") -> str:
    """The path as Databuddy reports it: the URL's path, no trailing '/', root as '/'."""
    bare = f"rtrim({url_path(col)}, '/')"
    return f"(CASE WHEN {bare} = '' THEN '/' ELSE {bare} END)"


def decoded_path(col: str = "path") -> str:
    """:func:`normalized_path`, URL-decoded (``%20`` -> space) as ``top_pages`` shows it."""
    return f"url_decode({normalized_path(col)})"


def url_host(col: str) -> str:
    """Host of a URL as it is written (``www.`` kept); '' when there is none."""
    return f"lower(regexp_extract({col}, '^[^:/?#]+://([^/?#:@]+)', 1))"


def referrer_host(col: str = "referrer") -> str:
    """Host of a referrer URL without 'www.'; '' for direct traffic."""
    return f"regexp_replace({url_host(col)}, '^www\\.', '')"


# Referrer families Databuddy reports under one URL (any host of the family's domains).
_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("https://google.com", ("google.com",)),
    ("https://facebook.com", ("facebook.com",)),
    ("https://twitter.com", ("twitter.com", "x.com", "t.co")),
    ("https://instagram.com", ("instagram.com",)),
    ("https://linkedin.com", ("linkedin.com",)),
)


def normalized_referrer(col: str = "referrer", own_domain: str | None = None) -> str:
    """'direct' for an empty referrer (and, with ``own_domain``, for localhost and the site's own
    domain and subdomains); the family URL for the big social/search sites; else
    'https://<host>' with the host as written."""
    host = url_host(col)
    whens = [f"WHEN coalesce({col}, '') IN ('', 'direct') THEN 'direct'"]
    if own_domain is not None:
        d = own_domain.lower().replace("'", "''")
        whens.append(
            f"WHEN {host} IN ('', 'localhost', '127.0.0.1') OR {host} = '{d}' "
            f"OR {host} LIKE '%.{d}' THEN 'direct'"
        )
    for url, domains in _FAMILIES:
        cond = " OR ".join(f"{host} LIKE '%.{x}%' OR {host} LIKE '{x}%'" for x in domains)
        whens.append(f"WHEN {cond} THEN '{url}'")
    return f"(CASE {' '.join(whens)} ELSE 'https://' || {host} END)"


def country_name(code_col: str) -> str:
    """English country name for an ISO code column ('' when unknown)."""
    return f"coalesce((SELECT cn.name FROM country_names cn WHERE cn.code = {code_col}), '')"


def round_half_even(value: str, digits: int) -> str:
    """``value`` rounded half to even at ``digits`` decimals, as ClickHouse rounds floats.
    Written out rather than DuckDB's ``round_even``, which DuckDB 1.4 cannot apply to a window
    expression ("Unimplemented expression class")."""
    scaled = f"(({value}) * {10**digits})"
    low = f"floor{scaled}"
    even = f"(CASE WHEN {low} % 2 = 0 THEN {low} ELSE {low} + 1 END)"
    return f"((CASE WHEN {scaled} - {low} = 0.5 THEN {even} ELSE round{scaled} END) / {10**digits})"


def pct(part: str, whole: str) -> str:
    """A share in percent, 2 decimals, 0 when the whole is 0."""
    share = round_half_even(f"100.0 * ({part}) / ({whole})", 2)
    return f"(CASE WHEN ({whole}) = 0 THEN 0 ELSE {share} END)"


def event_time(col: str) -> str:
    """A raw event timestamp as ClickHouse prints DateTime64(3): 'YYYY-MM-DD HH:MM:SS.mmm'."""
    return f"strftime({col}, '%Y-%m-%d %H:%M:%S.%g')"


def clock_time(col: str) -> str:
    """A ClickHouse DateTime: 'YYYY-MM-DD HH:MM:SS'."""
    return f"strftime({col}, '%Y-%m-%d %H:%M:%S')"
