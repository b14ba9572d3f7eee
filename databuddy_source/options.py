"""Every option of the ``databuddy`` source, declared once in :data:`OPTIONS` (type, default,
bounds, help), and validated before any request with messages that name the key and the fix
(``[sources.databuddy]`` in ``.dlt/config.toml``, or ``SOURCES__DATABUDDY__<KEY>``).

The source's signature (so dlt's config injection), the ``databuddy-sync`` flags, the comments
of ``.dlt/config.toml`` and the README's configuration table all derive from :data:`OPTIONS`
(``scripts/options_doc.py`` writes the files; a test keeps them current)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dlt

from . import settings
from .catalog import Grain
from .custom_report_options import resolve_reports
from .custom_reports import CustomReport
from .option_values import (
    bad_option,
    day,
    name_list,
    named_query_types,
    resolve_collections,
    resolve_filters,
    resolve_query_types,
    resolve_shard,
)


@dataclass(frozen=True, slots=True)
class Option:
    """One source option. ``example``: the value ``.dlt/config.toml`` shows (commented out) for
    an option unset by default; ``unset``: what an unset option means; ``low``/``high``: the
    bounds of a number (``None``: unbounded; a float's ``low`` is excluded); ``flag``: also a
    ``databuddy-sync`` flag (``--name-with-dashes``)."""

    name: str
    annotation: Any
    default: Any
    help: str
    example: str | None = None
    unset: str = "–"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # accepted as well, not advertised
    flag: bool = False
    secret: bool = False

    def check(self, value: Any) -> None:
        """Raise a :class:`ConfigurationError` for a value out of this option's bounds or
        choices (other checks belong to :func:`resolve_options`)."""
        if self.choices and value not in self.choices + self.aliases:
            either = ", ".join(self.choices[:-1]) + f" or {self.choices[-1]}"
            raise bad_option(
                self.name,
                f"{value!r} is not {either}",
                f"Use {' or '.join(repr(c) for c in self.choices)} (default {self.default!r})",
            )
        if self.annotation is int:
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not whole or not _within(value, self.low, self.high, exclusive=False):
                raise bad_option(
                    self.name,
                    f"{value!r} is not a whole number {_range_text(self.low, self.high)}",
                    f"Use e.g. {self.default} (the default)",
                )
        if self.annotation is float:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not _within(value, self.low, self.high, exclusive=True):
                raise bad_option(
                    self.name,
                    f"{value!r} is not a number {_range_text(self.low, self.high, 'above')}",
                    f"Use e.g. {self.default:g} (the default)",
                )


def _within(value: float, low: float | None, high: float | None, *, exclusive: bool) -> bool:
    above = low is None or (value > low if exclusive else value >= low)
    return above and (high is None or value <= high)


def _range_text(low: float | None, high: float | None, low_word: str = "from") -> str:
    if high is None:
        return f"{'of at least' if low_word == 'from' else 'above'} {low:g}"
    return f"{low_word} {low:g} to {high:g}"


OPTIONS: tuple[Option, ...] = (
    Option(
        "api_key",
        str,
        None,
        "a `dbdy_` key with `read:data` (and `read:links` for link tables); a secret: "
        "`.dlt/secrets.toml` or `SOURCES__DATABUDDY__API_KEY`",
        secret=True,
    ),
    Option("base_url", str, settings.DEFAULT_BASE_URL, "the API's root URL", flag=True),
    Option(
        "websites",
        list[str] | None,
        None,
        "websites to sync: ids or domains",
        example='["acme.example"]',
        unset="every website `/v1/query/websites` returns",
        flag=True,
    ),
    Option(
        "queries",
        list[str] | None,
        None,
        "query types to load, one table each: `default`, `all` (every table-shaped type of "
        "`/v1/query/types`), or names",
        example='["events_by_date", "top_pages", "country"]',
        unset="`default`: the ELT-relevant types docs/tables.md marks",
        flag=True,
    ),
    Option(
        "start_date",
        str | None,
        None,
        "first day to load (YYYY-MM-DD)",
        example='"2026-01-01"',
        unset="each website's (link's, monitor's) creation date",
        flag=True,
    ),
    Option(
        "end_date",
        str | None,
        None,
        "last day of a bounded backfill: reads exactly `start_date..end_date`, leaves "
        "incremental state untouched",
        example='"2026-01-31"',
        flag=True,
    ),
    Option(
        "lookback_days",
        int,
        2,
        "the last N loaded days are re-read every run (late data arrives up to ~2 days late), "
        "unless they were already older than N days when loaded",
        low=1,
        high=90,
        flag=True,
    ),
    Option("timezone", str, "UTC", 'IANA time zone that defines "a day" and "today"', flag=True),
    Option(
        "include_today",
        bool,
        False,
        "also load today's partial day (re-read every run)",
        flag=True,
    ),
    Option(
        "granularity",
        str,
        "daily",
        "`daily`, or `hourly`: the types that support it load into `<type>_hourly` tables",
        choices=("daily", "hourly"),
        aliases=("day", "hour"),
        flag=True,
    ),
    Option(
        "grain",
        str,
        "day",
        "period of breakdown tables: `week` or `month` load `<type>_weekly` / `_monthly` "
        "(unique visitors are not summable across days)",
        choices=("day", "week", "month"),
        flag=True,
    ),
    Option(
        "filters",
        list[dict[str, Any]] | None,
        None,
        "filters applied to every query: `[{field, op, value}]`, op one of eq, ne, contains, "
        "not_contains, starts_with, in, not_in",
        example='[{ field = "country", op = "eq", value = "US" }]',
    ),
    Option(
        "rpc_collections",
        list[str] | None,
        None,
        "RPC collections to load, merged on id: names, `all` or `none` (docs/tables.md lists them)",
        example='["websites", "links"]',
        unset="the default collections of docs/tables.md",
        flag=True,
    ),
    Option("rpc_history", bool, False, "keep every version of RPC objects (scd2)"),
    Option(
        "max_parameters_per_request",
        int,
        settings.MAX_PARAMETERS_PER_REQUEST,
        "slices packed into one `POST /v1/query`",
        low=1,
        high=1000,
    ),
    Option(
        "limit",
        int,
        settings.MAX_LIMIT,
        "rows asked per slice; types that honour an offset are paged beyond it",
        low=1,
        high=settings.MAX_LIMIT,
    ),
    Option(
        "rows_per_request",
        int,
        settings.ROWS_PER_REQUEST,
        "about the most rows one answer may carry (answers are decoded whole: this bounds "
        "memory); rows per slice are estimated per table from earlier runs, and a table never "
        "read yet is first asked with a limit of `rows_per_request / "
        "max_parameters_per_request`",
        low=1_000,
        high=10_000_000,
    ),
    Option(
        "concurrency",
        int,
        settings.CONCURRENCY,
        "websites, links and monitors read side by side (each one's requests stay in order)",
        low=1,
        high=32,
    ),
    Option(
        "max_rows_per_run",
        int,
        settings.MAX_ROWS_PER_RUN,
        "a run with no `end_date` stops near this many rows, at a request boundary, and "
        "`databuddy-sync` runs again from there: each load package stays bounded however long "
        "the backfill",
        low=10_000,
        high=10**12,
    ),
    Option(
        "rate_limit",
        int,
        settings.QUERY_RATE_LIMIT,
        "`POST /v1/query` requests per `rate_window_seconds` per key",
        low=1,
        high=100_000,
    ),
    Option(
        "rate_window_seconds",
        float,
        settings.QUERY_RATE_WINDOW_SECONDS,
        "the window of `rate_limit` and `custom_rate_limit`, in seconds",
        low=0,
    ),
    Option(
        "request_timeout",
        float,
        settings.READ_TIMEOUT,
        "seconds to wait for one answer (analytics queries can be slow)",
        low=0,
        high=3600,
    ),
    Option(
        "max_attempts",
        int,
        settings.MAX_ATTEMPTS,
        "tries per request (429s wait for their reset; 5xx back off)",
        low=1,
        high=50,
    ),
    Option(
        "as_of",
        str | None,
        None,
        "treat this date as today (reproducible runs)",
        example='"2026-03-15"',
        unset="today",
        flag=True,
    ),
    Option(
        "shard",
        str | None,
        None,
        "`I/N`: sync only the I-th of N disjoint sets of websites, organizations, links and "
        "monitors, so N workers load one destination side by side",
        example='"1/4"',
        flag=True,
    ),
    Option(
        "custom_reports",
        list[dict[str, Any]] | None,
        None,
        "your own reports, one table each (`report_<name>`; see docs/custom-reports.md)",
    ),
    Option(
        "custom_rate_limit",
        int,
        settings.CUSTOM_RATE_LIMIT,
        "`POST /v1/query/custom` requests per `rate_window_seconds` per key (its own budget)",
        low=1,
    ),
    Option(
        "allow_insecure_http",
        bool,
        False,
        "allow a plain `http://` `base_url` to another machine (the key would travel "
        "unencrypted; loopback addresses never need it)",
    ),
)
OPTION = {o.name: o for o in OPTIONS}


def default(name: str) -> Any:
    """The default of option ``name``."""
    return OPTION[name].default


def source_signature() -> inspect.Signature:
    """The ``databuddy`` source's signature: the API key (a dlt secret, also positional),
    then every option by keyword, with its type and default (what dlt injects from config)."""
    return inspect.Signature(
        [
            inspect.Parameter(
                o.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD
                if o.secret
                else inspect.Parameter.KEYWORD_ONLY,
                default=dlt.secrets.value if o.secret else o.default,
                annotation=o.annotation,
            )
            for o in OPTIONS
        ]
    )


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Validated options of one run (the API key apart: it goes to the client only)."""

    base_url: str
    allow_insecure_http: bool
    query_types: tuple[str, ...]
    websites: tuple[str, ...] | None
    start_date: date | None
    end_date: date | None
    lookback_days: int
    timezone: str
    include_today: bool
    hourly: bool
    grain: Grain
    filters: tuple[dict[str, Any], ...]
    rpc_collections: tuple[str, ...]
    rpc_history: bool
    max_parameters_per_request: int
    limit: int
    rows_per_request: int
    concurrency: int
    max_rows_per_run: int
    rate_limit: int
    rate_window_seconds: float
    request_timeout: float
    max_attempts: int
    as_of: date | None
    shard: tuple[int, int] | None  # (index, count), index from 1
    custom_reports: tuple[CustomReport, ...]
    custom_rate_limit: int
    queries_named: tuple[str, ...]  # the types named one by one (not 'default'/'all')


NUMBERS = tuple(o for o in OPTIONS if o.annotation in (int, float))


def resolve_options(given: Mapping[str, Any] | None = None, /, **more: Any) -> SourceOptions:
    """Check every option (``given`` and ``more`` by name; the rest take their defaults);
    raise one :class:`ConfigurationError` naming the first problem."""
    raw = {o.name: o.default for o in OPTIONS if not o.secret} | dict(given or {}) | more
    unknown = sorted(set(raw) - set(OPTION))
    if unknown:
        raise TypeError(f"unknown source options: {', '.join(unknown)}")
    start, end = day(raw["start_date"], "start_date"), day(raw["end_date"], "end_date")
    if start and end and end < start:
        raise bad_option(
            "end_date",
            f"{end} is before start_date {start}",
            "Make end_date the same as or after start_date",
        )
    for option in OPTIONS:
        if not option.secret:
            option.check(raw[option.name])
    try:
        ZoneInfo(str(raw["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_option(
            "timezone",
            f"unknown time zone {raw['timezone']!r}",
            "Use an IANA name such as UTC or Europe/Berlin",
        ) from None
    return SourceOptions(
        base_url=str(raw["base_url"]),
        allow_insecure_http=bool(raw["allow_insecure_http"]),
        query_types=resolve_query_types(raw["queries"]),
        websites=tuple(name_list(raw["websites"], "websites") or ()) or None,
        start_date=start,
        end_date=end,
        timezone=str(raw["timezone"]),
        include_today=bool(raw["include_today"]),
        hourly=raw["granularity"] in ("hourly", "hour"),
        grain=raw["grain"],
        filters=resolve_filters(raw["filters"]),
        rpc_collections=resolve_collections(raw["rpc_collections"]),
        rpc_history=bool(raw["rpc_history"]),
        as_of=day(raw["as_of"], "as_of"),
        shard=resolve_shard(raw["shard"]),
        custom_reports=resolve_reports(raw["custom_reports"]),
        queries_named=named_query_types(raw["queries"]),
        **{o.name: o.annotation(raw[o.name]) for o in NUMBERS},
    )
