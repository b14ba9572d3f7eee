"""What the resources of one ``databuddy`` source share when dlt runs them: the options, the
client and the report, and what is read only then, once, by the first resource that needs it:
the parents (:func:`~.discovery.discover`, over HTTP), today, and each run's plan."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dlt
import httpx

from . import settings
from .catalog import TableSpec, select_live, table_spec
from .client import Databuddy
from .discovery import Parents, discover, read_catalogue
from .options import SourceOptions
from .planning import Parent, PlannedSlice, Window, plan
from .retry import RetryPolicy
from .run_report import SyncReport
from .run_state import FAILED_KEY, SETTLED_KEY, STATE_KEY, check_timezone, remembered_start


@dataclass(frozen=True, slots=True)
class RunPlan:
    """The plan of one run of the query slices: the slices by parent (not yet packed into
    requests), the configured types the API no longer lists, and the window planned over."""

    slices: dict[Parent, list[PlannedSlice]]
    gone: list[TableSpec]
    window: Window


def selected_tables(specs: dict[str, TableSpec]) -> list[TableSpec]:
    """The specs of the tables selected in the source dlt is running (all outside a run)."""
    try:
        selected = dlt.current.source().resources.selected
    except Exception:
        return list(specs.values())
    return [spec for name, spec in specs.items() if name in selected]


class SourceRun:
    """One source's shared run context. Building it sends no request."""

    def __init__(self, api_key: str, options: SourceOptions) -> None:
        self.options = options
        self.report = SyncReport()
        self.client = Databuddy(
            api_key,
            base_url=options.base_url,
            rate_limit=options.rate_limit,
            rate_window=options.rate_window_seconds,
            custom_rate_limit=options.custom_rate_limit,
            timeout=httpx.Timeout(settings.CONNECT_TIMEOUT, read=options.request_timeout),
            retry=RetryPolicy(max_attempts=options.max_attempts),
            allow_insecure_http=options.allow_insecure_http,
        )
        weakref.finalize(self, self.client.close)
        self.specs = {
            s.table_name: s
            for s in (
                table_spec(name, options.grain, options.hourly, options.timezone)
                for name in options.query_types
            )
        }
        self._lock = threading.Lock()
        self._parents: Parents | None = None
        self._window: Window | None = None

    def kinds(self) -> set[str]:
        """The kinds of parent the configured tables hang on."""
        kinds: set[str] = {s.qtype.project for s in self.specs.values()}
        if self.options.rpc_collections:
            kinds.add("organization")
        if self.options.custom_reports:
            kinds.add("website")
        return kinds

    def parents(self) -> Parents:
        """Every parent this run syncs (this shard's), discovered on the first call."""
        with self._lock:
            if self._parents is None:
                found = discover(
                    self.client,
                    websites=self.options.websites,
                    timezone=self.options.timezone,
                    kinds=self.kinds(),
                    failures=self.report.refuse,
                )
                if self.options.shard is not None:
                    found = found.shard(*self.options.shard)
                self._parents = found
            return self._parents

    def window(self) -> Window:
        """The days this run reads, with today fixed on the first call."""
        with self._lock:
            if self._window is None:
                options = self.options
                today = options.as_of or datetime.now(ZoneInfo(options.timezone)).date()
                self._window = Window(
                    today=today,
                    lookback_days=options.lookback_days,
                    include_today=options.include_today,
                    start_date=options.start_date,
                    end_date=options.end_date,
                )
            return self._window

    def plan_slices(
        self, resource_state: dict[str, Any], specs: Iterable[TableSpec] | None = None
    ) -> RunPlan:
        """The query slices' plan from their resource state (which it updates: the time
        zone, the first start date), for ``specs`` (default: every configured table) that
        the API's live catalogue still lists."""
        check_timezone(resource_state, self.options.timezone)
        window = remembered_start(resource_state, self.window())
        chosen = list(self.specs.values()) if specs is None else list(specs)
        selection = select_live(chosen, read_catalogue(self.client), self.options.queries_named)
        for name in selection.untyped:
            self.report.note(
                "query types the bundled contract does not know",
                name,
                "loaded with columns typed from the answers (untyped)",
            )
        planned = plan(
            selection.specs,
            self.parents().by_kind(),
            window,
            resource_state.setdefault(STATE_KEY, {}),
            resource_state.setdefault(SETTLED_KEY, {}),
            resource_state.setdefault(FAILED_KEY, {}),
        )
        return RunPlan(planned, selection.gone, window)
