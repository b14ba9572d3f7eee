"""Create or replace the model views in a pipeline's dataset (DuckDB or PostgreSQL).

A view is created when every table it reads was synced into the dataset; otherwise it is
skipped with a note that names the missing tables and how to sync them (and a stale view of
that name from an earlier run is dropped, since it could only fail). Running it again replaces
the views with the same definitions: it is safe after every sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dlt.destinations.exceptions import DatabaseException
from dlt.destinations.sql_client import SqlClientBase

from ..catalog import suggest
from ..rpc_resources import COLLECTIONS
from .base import ViewModel
from .periods import TABLE_SUFFIX
from .views import MODELS, MODELS_BY_NAME

SUPPORTED_DIALECTS = ("duckdb", "postgres")
SCD2_VALID_TO = "_dlt_valid_to"  # set on replaced versions when RPC history (scd2) is kept
PERIOD_SUFFIXES = {f"_{suffix}": grain for grain, suffix in TABLE_SUFFIX.items()}


class ModelsError(RuntimeError):
    """The models cannot be created here (unsupported destination, unknown model name, a view
    the database refused)."""


@dataclass(slots=True)
class ModelsReport:
    """What :func:`create_models` did in one dataset."""

    dataset: str
    created: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # view -> why, and how to fix it

    def describe(self) -> str:
        """A few lines for a person: the views created, then one note per skipped view."""
        lines = [
            f"Models in dataset {self.dataset}: {len(self.created)} views created or replaced"
            + (f" ({', '.join(self.created)})" if self.created else "")
        ]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Relation:
    """A table or view of the dataset, as ``information_schema`` lists it."""

    is_view: bool
    columns: frozenset[str]


def create_models(target: Any, models: Iterable[str] | None = None) -> ModelsReport:
    """Create or replace the model views (all of them, or the named ones) in the dataset of
    ``target``: a dlt pipeline, or a dlt SQL client (open or not) of a DuckDB or PostgreSQL
    destination. Returns what was created and what was skipped, and why."""
    chosen = _chosen(models)
    with _sql_client(target) as client:
        dialect = client.capabilities.sqlglot_dialect
        if dialect not in SUPPORTED_DIALECTS:
            raise ModelsError(
                f"the models are written for DuckDB and PostgreSQL, not {dialect or 'this'} "
                "destination"
            )
        relations = _relations(client)
        report = ModelsReport(client.dataset_name)
        for model in chosen:
            missing = [t for t in model.tables if _is_missing(relations.get(t))]
            existing = relations.get(model.name)
            if existing is not None and not existing.is_view:
                report.skipped[model.name] = "a table of that name exists: left as it is"
            elif missing:
                report.skipped[model.name] = _missing_note(missing, client.dataset_name)
                if existing is not None:
                    client.execute_sql(f"DROP VIEW IF EXISTS {_qualified(client, model.name)}")
            else:
                _replace_view(client, model, relations)
                report.created.append(model.name)
        return report


def _chosen(models: Iterable[str] | None) -> list[ViewModel]:
    if models is None:
        return list(MODELS)
    out = []
    for name in models:
        if name not in MODELS_BY_NAME:
            raise ModelsError(f"unknown model {name!r}.{suggest(name, list(MODELS_BY_NAME))}")
        out.append(MODELS_BY_NAME[name])
    return out


@contextmanager
def _sql_client(target: Any) -> Iterator[SqlClientBase[Any]]:
    """An open SQL client of ``target``; one this function opened is closed afterwards."""
    client = target.sql_client() if callable(getattr(target, "sql_client", None)) else target
    if not isinstance(client, SqlClientBase):
        raise ModelsError(
            f"create_models needs a dlt pipeline or SQL client, got {type(target).__name__}"
        )
    if client.native_connection is not None:
        yield client
    else:
        with client:
            yield client


def _relations(client: SqlClientBase[Any]) -> dict[str, Relation]:
    """Every table and view of the client's dataset, with its columns."""
    rows = client.execute_sql(
        "SELECT t.table_name, t.table_type, c.column_name "
        "FROM information_schema.tables AS t "
        "JOIN information_schema.columns AS c ON c.table_catalog = t.table_catalog "
        "AND c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "WHERE t.table_schema = %s AND t.table_catalog = current_database()",
        client.dataset_name,
    )
    kinds: dict[str, bool] = {}
    columns: dict[str, set[str]] = {}
    for table, kind, column in rows or []:
        kinds[table] = str(kind).upper() == "VIEW"
        columns.setdefault(table, set()).add(column)
    return {t: Relation(kinds[t], frozenset(columns[t])) for t in kinds}


def _is_missing(relation: Relation | None) -> bool:
    return relation is None or relation.is_view


def _missing_note(missing: list[str], dataset: str) -> str:
    hints = []
    for table in missing:
        base, grain = table, None
        for suffix, period in PERIOD_SUFFIXES.items():
            if table.endswith(suffix):
                base, grain = table.removesuffix(suffix), period
        if grain is not None:
            hints.append(
                f"{table}: sync '{base}' with grain '{grain}' (databuddy-sync --models loads "
                "the weekly and monthly tables; from Python: period_sync_options)"
            )
        elif table in COLLECTIONS:
            hints.append(f"{table}: sync the '{table}' RPC collection (rpc_collections)")
        else:
            hints.append(f"{table}: add '{table}' to queries (databuddy-sync --queries)")
    return f"not synced into dataset {dataset}: " + "; ".join(hints)


def _qualified(client: SqlClientBase[Any], name: str) -> str:
    return client.make_qualified_table_name(name)


def _source_reference(client: SqlClientBase[Any], table: str, relation: Relation) -> str:
    """How a view names a synced table: the table itself, or only its current versions when
    it keeps RPC history (scd2: replaced versions have a ``_dlt_valid_to``)."""
    qualified = _qualified(client, table)
    if SCD2_VALID_TO in relation.columns:
        return f"(SELECT * FROM {qualified} WHERE {SCD2_VALID_TO} IS NULL)"
    return qualified


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _replace_view(
    client: SqlClientBase[Any], model: ViewModel, relations: dict[str, Relation]
) -> None:
    """``CREATE OR REPLACE`` the view with its comments, in one transaction. PostgreSQL only
    replaces a view whose columns keep their names and types, so a view left by another
    version of this package is dropped and created instead."""
    view = _qualified(client, model.name)
    select = model.select.format_map(
        {t: _source_reference(client, t, relations[t]) for t in model.tables}
    )
    comments = [f"COMMENT ON VIEW {view} IS {_literal(model.summary)}"] + [
        f"COMMENT ON COLUMN {view}.{client.escape_column_name(c.name)} IS {_literal(c.doc)}"
        for c in model.columns
    ]
    try:
        with client.begin_transaction():
            for statement in [f"CREATE OR REPLACE VIEW {view} AS {select}", *comments]:
                client.execute_sql(statement)
    except DatabaseException:
        try:
            with client.begin_transaction():
                statements = [f"DROP VIEW IF EXISTS {view}", f"CREATE VIEW {view} AS {select}"]
                for statement in statements + comments:
                    client.execute_sql(statement)
        except DatabaseException as exc:
            raise ModelsError(f"{model.name} could not be created: {exc}") from exc
