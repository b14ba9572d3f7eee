"""The request matrix of the conformance suite and its run: every current website query type over
several ranges, two time zones, hourly buckets, paging, filters and a batch body, sent to the
real server and to the emulator with the same events; each answer compared."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .harness import (
    RANGES,
    TIMEZONES,
    Diff,
    Target,
    compare_entry,
    current_types,
    emulator_types,
    is_gated,
)

LIMIT = 1000
PAGED_TYPES = (
    "top_pages",
    "browser_name",
    "country",
    "error_types",
    "link_top_countries",
    "uptime_recent_checks",
)
FILTERS: dict[str, list[dict[str, Any]]] = {
    "country_eq": [{"field": "country", "op": "eq", "value": "US"}],
    "device_in": [{"field": "device_type", "op": "in", "value": ["mobile", "tablet"]}],
    "path_starts": [{"field": "path", "op": "starts_with", "value": "/posts"}],
}
FILTERED_TYPES = (
    "summary_metrics",
    "events_by_date",
    "top_pages",
    "top_referrers",
    "browser_name",
    "city",
    "utm_sources",
    "sessions_time_series",
    "custom_events",
    "vitals_by_page",
    "error_types",
    "link_total_clicks",
    "link_top_browsers",
    "uptime_overview",
)


@dataclass(slots=True)
class Outcome:
    """Per type and time zone: the cases run and the differences seen."""

    cases: int = 0
    diffs: dict[str, list[str]] = field(default_factory=dict)  # case -> problems
    explained_cases: int = 0  # cases whose explained column differed (the rest compared)

    @property
    def identical(self) -> bool:
        return not self.diffs


@dataclass(slots=True)
class Run:
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)  # (type, tz)
    request_level: list[tuple[str, str]] = field(default_factory=list)  # (case, problem)
    requests: int = 0
    rows_compared: int = 0
    missing_in_emulator: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)  # type -> why it was not compared

    def record(self, name: str, tz: str, case: str, diff: Diff) -> None:
        out = self.outcomes.setdefault((name, tz), Outcome())
        out.cases += 1
        if diff.explained:
            out.explained_cases += 1
        if diff.problems:
            out.diffs[case] = diff.problems


def _entries(answer: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        return {}
    return {str(e.get("parameter")): e for e in answer["data"] if isinstance(e, dict)}


def _envelope(real: Any, emu: Any) -> list[str]:
    problems = []
    if isinstance(real, dict) and isinstance(emu, dict):
        if set(real) != set(emu):
            problems.append(f"envelope keys real {sorted(real)} emulator {sorted(emu)}")
        if real.get("meta") != emu.get("meta"):
            problems.append(f"meta real {real.get('meta')} emulator {emu.get('meta')}")
    elif type(real) is not type(emu):
        problems.append("envelope: one side is not JSON")
    return problems


class Runner:
    """Sends each request to both sides and records the comparison per type."""

    def __init__(
        self,
        real: Target,
        emu: Target,
        normalize: Callable[[Any], Any],
        run: Run | None = None,
    ) -> None:
        self.real, self.emu, self.normalize = real, emu, normalize
        self.run = run or Run()
        self.known = emulator_types()

    def request(
        self,
        case: str,
        types: Sequence[Mapping[str, Any]],
        body: dict[str, Any],
        tz: str,
        *,
        expect_status: int | None = None,
    ) -> None:
        names = [t["name"] for t in types]
        body = {**body, "parameters": body.get("parameters", names)}
        status_r, real = self.real.post(body, tz)
        status_e, emu = self.emu.post(body, tz)
        self.run.requests += 1
        if status_r != status_e:
            for t in types:
                self.run.record(
                    t["name"], tz, case, Diff([f"status real {status_r} emulator {status_e}"])
                )
            return
        if expect_status is not None and status_r != expect_status:
            self.run.request_level.append((case, f"expected {expect_status}, got {status_r}"))
        envelope = _envelope(real, emu)
        if status_r != 200:
            if isinstance(real, dict) and isinstance(emu, dict):
                for k in ("success", "error", "code"):
                    if real.get(k) != emu.get(k):
                        envelope.append(f"{k}: real {real.get(k)!r} emulator {emu.get(k)!r}")
            for t in types:
                self.run.record(t["name"], tz, case, Diff(list(envelope)))
            return
        rent, eent = _entries(real), _entries(emu)
        by_name = {t["name"]: t for t in types}
        for label in names:
            t = by_name[label]
            if label not in rent or label not in eent:
                self.run.record(label, tz, case, Diff(["entry missing on one side"]))
                continue
            limit = int(body.get("limit", 100))
            n = len(rent[label].get("data") or [])
            # a page may be cut from a longer list: by the request's limit, or by a type's own
            # fixed limit of 100 rows
            cut = int(body.get("page", 1)) > 1 or n >= limit or n == 100
            diff = compare_entry(t, rent[label], eent[label], self.normalize, cut=cut)
            for p in envelope:
                diff.add(p)
            self.run.rows_compared += len(rent[label].get("data") or [])
            self.run.record(label, tz, case, diff)

    def matrix(self, *, gated: bool, types: Sequence[Mapping[str, Any]] | None = None) -> None:
        """All cases for the gated (error) website types, every other website type, or the
        given types (a link's or a monitor's)."""
        if types is None:
            types = [t for t in current_types() if is_gated(t) == gated]
        missing = [t["name"] for t in types if t["name"] not in self.known]
        self.run.missing_in_emulator.extend(missing)
        for name in missing:
            for tz in TIMEZONES:
                self.run.record(name, tz, "all", Diff(["type unknown to the emulator"]))
        types = [t for t in types if t["name"] in self.known]
        hourly = [t for t in types if t.get("hourly_supported")]
        for tz in TIMEZONES:
            for rname, (start, end) in RANGES.items():
                body = {"startDate": start, "endDate": end, "limit": LIMIT}
                self.request(rname, types, body, tz)
            if hourly:
                start, end = RANGES["week"]
                self.request(
                    "hourly",
                    hourly,
                    {"startDate": start, "endDate": end, "limit": LIMIT, "granularity": "hourly"},
                    tz,
                )
        start, end = RANGES["week"]
        for ftname, filters in FILTERS.items():
            ftypes = [t for t in types if t["name"] in FILTERED_TYPES]
            if ftypes:
                self.request(
                    f"filter:{ftname}",
                    ftypes,
                    {"startDate": start, "endDate": end, "limit": LIMIT, "filters": filters},
                    "UTC",
                )
        paged = [t for t in types if t["name"] in PAGED_TYPES]
        for page in (1, 2):
            if paged:
                self.request(
                    f"page {page} of 5",
                    paged,
                    {"startDate": start, "endDate": end, "limit": 5, "page": page},
                    "UTC",
                )
        batch_types = paged[:2]
        if batch_types:
            self.batch(batch_types)

    def batch(self, types: Sequence[Mapping[str, Any]]) -> None:
        """A JSON array body: two request objects with different ranges."""
        names = [t["name"] for t in types]
        body = [
            {"parameters": names, "startDate": s, "endDate": e, "limit": 50}
            for s, e in (RANGES["day"], RANGES["week"])
        ]
        status_r, real = self.real.post(body)
        status_e, emu = self.emu.post(body)
        self.run.requests += 1
        if status_r != status_e or not isinstance(real, dict) or not isinstance(emu, dict):
            self.run.request_level.append(("batch", f"status real {status_r} emu {status_e}"))
            return
        rres, eres = real.get("results") or [], emu.get("results") or []
        if set(real) != set(emu) or len(rres) != len(eres):
            self.run.request_level.append(
                ("batch", f"envelope real {sorted(real)} emulator {sorted(emu)}")
            )
            return
        by_name = {t["name"]: t for t in types}
        for i, (r, e) in enumerate(zip(rres, eres, strict=True)):
            rent, eent = _entries(r), _entries(e)
            for name in names:
                if name in rent and name in eent:
                    rdata = rent[name].get("data") or []
                    diff = compare_entry(
                        by_name[name],
                        rent[name],
                        eent[name],
                        self.normalize,
                        cut=len(rdata) >= 50,
                    )
                    self.run.record(name, "UTC", f"batch[{i}]", diff)
