"""Rows merged by country after LIMIT/OFFSET (``Built.post`` of the country breakdowns).

Databuddy merges the rows of one page that share a country code (the row's ``country_code``,
else its ``name``): the merged row is named by that key, its ``pageviews`` and ``visitors`` are
summed (a field a row lacks counts as 0, and a merged row then has it), ``percentage`` becomes
the visitors' share within the page (rounded half up to 2 decimals) and the page is re-sorted by
visitors (stable: ties keep the SQL order).
"""

from __future__ import annotations

import math
from typing import Any

_SUMMED = ("pageviews", "visitors")


def _num(value: Any) -> float | int:
    return value if isinstance(value, int | float) else 0


def merged_by_country(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = str(row.get("country_code") or row.get("name") or "")
        if not key:
            continue
        if key in merged:
            for f in _SUMMED:
                merged[key][f] = _num(merged[key].get(f)) + _num(row.get(f))
        else:
            merged[key] = {**row, "name": key}
    out = list(merged.values())
    total = sum(_num(r.get("visitors")) for r in out)
    for r in out:
        share = _num(r.get("visitors")) / total * 10_000 if total else 0
        r["percentage"] = math.floor(share + 0.5) / 100 if total else 0
    out.sort(key=lambda r: -_num(r.get("visitors")))
    return out
