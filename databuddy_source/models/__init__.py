"""Analytics-ready models: SQL views over the synced tables (DuckDB and PostgreSQL).

``create_models(pipeline)`` creates or replaces them after a sync; ``period_sync_options``
gives the source runs that load the weekly and monthly tables they read; ``MODELS`` lists them
with their columns; ``models_markdown()`` renders their documentation (``docs/models.md``).
"""

from __future__ import annotations

from .base import Column, ViewModel
from .create import ModelsError, ModelsReport, create_models
from .docs import models_markdown
from .periods import PERIOD_QUERY_TYPES, period_sync_options
from .views import MODELS, MODELS_BY_NAME

__all__ = [
    "MODELS",
    "MODELS_BY_NAME",
    "PERIOD_QUERY_TYPES",
    "Column",
    "ModelsError",
    "ModelsReport",
    "ViewModel",
    "create_models",
    "models_markdown",
    "period_sync_options",
]
