"""``databuddy``: the dlt source. Configured the dlt way: ``[sources.databuddy]`` in
``.dlt/config.toml``, the key in ``.dlt/secrets.toml`` or ``SOURCES__DATABUDDY__API_KEY``.

Building the source checks the options and sends no request: the parents are discovered, and
each run planned, inside the resources when dlt runs them. Each source's
:attr:`DatabuddySource.report` says what its run did."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

import dlt
from dlt.common.schema import Schema
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .discovery import Parents
from .options import SourceOptions, resolve_options, source_signature
from .packing import by_request_scope
from .planning import Parent, PlannedSlice
from .report_resources import report_resources
from .resources import slices_resource, sync_log_transformer, table_transformer
from .rpc_resources import COLLECTIONS, collection_resource
from .run_report import SyncReport
from .source_run import SourceRun

F = TypeVar("F", bound=Callable[..., Any])


class DatabuddySource(DltSource):
    """A ``databuddy`` source, as dlt's, with its run's :attr:`report` (shared by its clones,
    e.g. ``with_resources``) and its :meth:`plan`."""

    source_run: SourceRun

    @classmethod
    def from_data(cls, schema: Schema, section: str, data: Any) -> DatabuddySource:
        """The source of what :func:`databuddy` returns: its run and its resources."""
        run, resources = data
        source = cls(schema, section, resources)
        source.source_run = run
        return source

    def clone(self, with_name: str | None = None) -> DatabuddySource:
        schema = self.schema.clone(with_name) if with_name else self.schema.clone()
        source = DatabuddySource(schema, self.section, list(self.resources.values()))
        source.source_run = self.source_run
        return source

    @property
    def options(self) -> SourceOptions:
        """The source's validated options."""
        return self.source_run.options

    @property
    def report(self) -> SyncReport:
        """What the run did: counts, failures, notes, and progress while it runs."""
        return self.source_run.report

    def discover(self) -> Parents:
        """The parents the run syncs, listed now rather than when dlt runs the first resource
        (which then reuses them): a refused key or an unknown website fails here, before a
        caller touches its destination."""
        return self.source_run.parents()

    def plan(self, resource_state: dict[str, Any]) -> dict[Parent, list[PlannedSlice]]:
        """The query slices a run would read from ``resource_state`` (the query slices
        resource's dlt state; not changed), by the parent whose requests carry them. Lists
        the parents and the live catalogue; sends no query."""
        run_plan = self.source_run.plan_slices(copy.deepcopy(resource_state))
        return by_request_scope(run_plan.slices)


def with_option_signature(f: F) -> F:
    """``f`` with the signature :data:`~.options.OPTIONS` declares (which dlt injects)."""
    f.__signature__ = source_signature()  # type: ignore[attr-defined]
    return f


@dlt.source(name="databuddy", max_table_nesting=0, _impl_cls=DatabuddySource)
@with_option_signature
def databuddy(api_key: str = dlt.secrets.value, **options: Any) -> Any:
    """Databuddy analytics and objects: one merge table per query type, one per RPC collection,
    one per custom report (``report_<name>``, see docs/custom-reports.md), and ``sync_log``.
    Every option is in :data:`databuddy_source.options.OPTIONS` and ``.dlt/config.toml``."""
    run = SourceRun(api_key, resolve_options(options))
    slices = slices_resource(run)
    resources: list[DltResource] = [
        slices,
        *(table_transformer(spec, slices) for spec in run.specs.values()),
        sync_log_transformer(slices, run.report),
        *(
            collection_resource(
                COLLECTIONS[name],
                run.client,
                run.parents,
                run.options.rpc_history,
                run.report.refuse,
            )
            for name in run.options.rpc_collections
        ),
        *report_resources(run),
    ]
    return run, resources
