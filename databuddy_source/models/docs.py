"""The models' documentation as Markdown, rendered from their definitions (``docs/models.md``
is this text; a test keeps the two equal)."""

from __future__ import annotations

from .base import ViewModel
from .periods import PERIOD_QUERY_TYPES
from .views import MODELS

INTRO = """\
# Models

SQL views over the synced tables, created or replaced in the same dataset by
`databuddy_source.models.create_models(pipeline)` (DuckDB and PostgreSQL; one definition runs on
both). A view whose tables were not synced is skipped with a note saying how to sync them.
Unique visitors are never added up across days: the weekly and monthly views read the tables
the source loads per week and per month, where the API counted each visitor once per period
(`<type>_weekly` / `<type>_monthly`, loaded with the `grain` option `week` / `month` for
the query types {period}).
Generated from the definitions in `databuddy_source/models/`; do not edit by hand.
"""


def model_markdown(model: ViewModel, level: str = "##") -> str:
    """One model: its name, what a row is, what it reads, and a table of its columns."""
    reads = ", ".join(f"`{t}`" for t in model.tables)
    lines = [
        f"{level} `{model.name}`",
        "",
        f"{model.summary} Reads {reads}.",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.name}` | {c.type} | {c.doc} |" for c in model.columns]
    return "\n".join(lines) + "\n"


def models_markdown(level: str = "##") -> str:
    """Every model's documentation, after an introduction."""
    period = ", ".join(f"`{t}`" for t in PERIOD_QUERY_TYPES)
    return "\n".join([INTRO.format(period=period), *(model_markdown(m, level) for m in MODELS)])
