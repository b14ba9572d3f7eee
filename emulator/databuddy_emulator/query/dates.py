"""Date inputs of the Query API: accepted formats, presets, inclusive ranges."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

PRESETS = (
    "today",
    "yesterday",
    "last_7d",
    "last_14d",
    "last_30d",
    "last_90d",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
)

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?$")
_NORMALIZED = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")


class InvalidDate(ValueError):
    """A date string the API cannot parse (``Invalid date: <x>. Could not parse ...``)."""

    def __init__(self, raw: str) -> None:
        super().__init__(f"Invalid date: {raw}. Could not parse as a valid date")


def normalize_date(raw: str) -> str:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``, as the API normalizes date inputs.

    Date-only and zone-less date-times are taken literally; strings with ``Z``/offsets, and other
    parseable forms, are converted to UTC.
    """
    text = raw.strip()
    if _DATE_ONLY.match(text):
        _check_calendar(text, raw)
        return text
    m = _LOCAL_DATETIME.match(text)
    if m:
        day, hh, mm, ss = m.group(1), m.group(2), m.group(3), m.group(4) or "00"
        _check_calendar(day, raw)
        if int(hh) > 23 or int(mm) > 59 or int(ss) > 59:
            raise InvalidDate(raw)
        return f"{day} {hh}:{mm}:{ss}"
    parsed = _parse_other(text)
    if parsed is None:
        raise InvalidDate(raw)
    out = parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if not _NORMALIZED.match(out):
        raise InvalidDate(raw)
    return out


def _check_calendar(day: str, raw: str) -> None:
    try:
        date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidDate(raw) from exc


def _parse_other(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)  # RFC 2822, e.g. "Tue, 01 Apr 2025 10:00:00 GMT"
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        # JavaScript's Date parses a bare date-time as local time; the API server runs in UTC.
        parsed = parsed.replace(tzinfo=UTC)
    if not 1 <= parsed.year <= 9999:
        return None
    return parsed


def range_start(normalized: str) -> datetime:
    return datetime.fromisoformat(normalized)


def range_end(normalized: str) -> datetime:
    """A date-only end means the end of that day (23:59:59); a date-time is used as given."""
    if len(normalized) == 10:
        return datetime.fromisoformat(normalized + " 23:59:59")
    return datetime.fromisoformat(normalized)


def preset_range(preset: str, timezone: str, now: datetime) -> tuple[str, str]:
    """The date-only range of a preset, using "today" in ``timezone`` at virtual ``now``."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if preset == "today":
        start, end = today, today
    elif preset == "yesterday":
        start = end = today - timedelta(days=1)
    elif preset.startswith("last_") and preset.endswith("d"):
        days = int(preset[5:-1])
        start, end = today - timedelta(days=days - 1), today
    elif preset == "this_week":
        start, end = today - timedelta(days=(today.weekday() + 1) % 7), today
    elif preset == "last_week":
        this_sunday = today - timedelta(days=(today.weekday() + 1) % 7)
        start, end = this_sunday - timedelta(days=7), this_sunday - timedelta(days=1)
    elif preset == "this_month":
        start, end = today.replace(day=1), today
    elif preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
    elif preset == "this_year":
        start, end = today.replace(month=1, day=1), today
    else:
        raise ValueError(f"unknown preset {preset!r}")
    return start.isoformat(), end.isoformat()


def hourly_too_long(start: str, end: str) -> bool:
    """ceil((end - start) / 1 day) > 30, on the normalized strings."""
    delta = range_start(end) - range_start(start)
    return math.ceil(delta.total_seconds() / 86_400) > 30
