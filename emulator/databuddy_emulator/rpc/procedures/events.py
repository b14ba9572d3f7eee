"""Reading the raw analytics tables for RPC procedures: visibility at virtual now, date ranges."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ...query.sql import lit
from ..context import Ctx
from ..errors import bad_request
from ..schema import parse_datetime


def ts(value: datetime) -> str:
    """A SQL TIMESTAMP literal."""
    return f"{lit(value.isoformat(sep=' '))}::TIMESTAMP"


def visible(ctx: Ctx, time_col: str = "time") -> str:
    """Rows that exist at virtual now: happened and ingested by then."""
    return f"{time_col} <= {ts(ctx.now)} AND ingested_at <= {ts(ctx.now)}"


def date_range(
    ctx: Ctx, start: str | None, end: str | None, default_days: int = 30
) -> tuple[datetime, datetime]:
    """An inclusive [start, end] from optional ``YYYY-MM-DD`` (or ISO) inputs; a date-only end
    means the end of that day. Defaults to the last ``default_days`` days up to now."""
    today = ctx.now.date()
    lo = (
        _parse(start, "startDate")
        if start
        else datetime.combine(today - timedelta(days=default_days - 1), datetime.min.time())
    )
    hi = _parse(end, "endDate") if end else datetime.combine(today, datetime.min.time())
    if end is None or len(end.strip()) == 10:
        hi = hi.replace(hour=23, minute=59, second=59, microsecond=999000)
    if hi < lo:
        raise bad_request("startDate must be before endDate")
    return lo, hi


def _parse(raw: str, name: str) -> datetime:
    parsed = parse_datetime(raw)
    if parsed is None:
        raise bad_request(f"Invalid {name}: {raw}")
    return parsed


def days_between(lo: datetime, hi: datetime) -> list[date]:
    out: list[date] = []
    day = lo.date()
    while day <= hi.date() and len(out) < 3660:
        out.append(day)
        day += timedelta(days=1)
    return out


def fetch(ctx: Ctx, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with ctx.store.cursor() as cur:
        return list(cur.execute(sql, params or []).fetchall())
