"""What a run did, for its caller: counts, failures (which make ``databuddy-sync`` exit 1) and
notes (what was skipped for a reason that is no failure: the plan, the key's scopes, the API's
catalogue)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .errors import AccessDeniedError, APIError
from .fetching import Unit


@dataclass(slots=True, weakref_slot=True)
class SyncReport:
    """What a run did, for the caller (``databuddy-sync`` exits non-zero on failures)."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    slices: int = 0
    rows: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    possibly_truncated: int = 0
    failures: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # what was skipped, and why
    skipped: int = 0
    possibly_inexact: int = 0
    reported: set[int] = field(default_factory=set, repr=False)  # errors already in failures
    more: bool = False  # the run stopped at max_rows_per_run: run again to read the rest
    request_span_s: float = 0.0  # from the first query request sent to the last
    # progress, per parent ("website acme.example"): slices this run plans, and has read so far
    planned: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)

    def fail(self, what: str, where: str, error: APIError) -> None:
        self.failures.append(f"{what} ({where}): {error}")

    def refuse(self, what: str, where: str, error: APIError) -> None:
        """A list the API refused: a scope the key lacks, or a feature the plan lacks, is noted
        (with the fix; the user's choice, not a failure); anything else fails."""
        scope = missing_scope(error)
        if error.code == "FEATURE_UNAVAILABLE":  # the organization's plan lacks it
            self.note("not available on this organization's plan", what)
        elif scope is None:
            self.fail(what, where, error)
        else:
            self.note(
                f"the API key lacks the {scope} scope (add it to the key under Organization "
                "settings > API keys in the Databuddy dashboard to sync these)",
                what,
            )

    def note(self, why: str, what: str, outcome: str = "skipped") -> None:
        """Something not read for a reason that is not a failure: ``why`` is reported once,
        with every ``what`` it covers, then ``outcome``."""
        items = self.notes.setdefault(f"{why}\0{outcome}", [])
        if what not in items:
            items.append(what)

    def notices(self) -> list[str]:
        """One line per reason: ``<why>: <what>, <what> <outcome>``."""
        lines = []
        for key, items in self.notes.items():
            why, outcome = key.split("\0")
            lines.append(f"{why}: {', '.join(items)} {outcome}".rstrip())
        return lines


_MISSING_SCOPE = re.compile(r"missing ([a-z]+:[a-z_]+) scope", re.IGNORECASE)


def missing_scope(error: APIError) -> str | None:
    """The scope a 403 says the key lacks (``read:links``), if that is what it says."""
    if not isinstance(error, AccessDeniedError):
        return None
    match = _MISSING_SCOPE.search(error.message)
    return match[1] if match else None


def account(report: SyncReport, unit: Unit, failed: set[tuple[str, str]]) -> None:
    report.requests += unit.requests
    report.retries += unit.retries
    report.rate_limited += unit.rate_limited
    for r in unit.results:
        report.slices += 1
        report.rows += len(r.rows)
        report.possibly_truncated += r.possibly_truncated
        report.possibly_inexact += r.possibly_inexact
        parent = r.planned.parent
        if r.skipped is not None:
            report.skipped += 1
            report.note(
                f"{parent.kind} {parent.name or parent.id} ({parent.id}): {r.skipped}",
                r.planned.spec.name,
            )
        elif r.error is not None and id(r.error) in report.reported:
            failed.add((r.planned.spec.table_name, parent.id))  # one line per error is enough
        elif r.error is not None:
            report.reported.add(id(r.error))
            failed.add((r.planned.spec.table_name, r.planned.parent.id))
            report.fail(
                r.planned.spec.name,
                f"{r.planned.parent.kind} {r.planned.parent.id}, "
                f"{r.planned.start}..{r.planned.end}",
                r.error,
            )
