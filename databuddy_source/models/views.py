"""The analytics models: one SQL view each over the synced tables, documented column by column.

Every view is one ``SELECT`` that DuckDB and PostgreSQL both run as written (explicit casts to
``DOUBLE PRECISION`` for ratios, ``NULLIF`` against division by zero, no dialect functions).
``{table}`` placeholders stand for the dataset's synced tables and are filled in by
:func:`databuddy_source.models.create_models`.

Unique visitors (and sessions, and affected users) are distinct counts: the visitors of a week
are not the sum of its days' visitors. So no view adds them up across days; the weekly and
monthly views read the tables the source loads per week or month (``grain``: ``_weekly`` and
``_monthly`` tables), whose rows the API counted over the whole period.
"""

from __future__ import annotations

from .base import ViewModel
from .daily import (
    CHANNEL_MIX_DAILY,
    DAILY_TRAFFIC,
    ERRORS_DAILY,
    LINK_CLICKS_DAILY,
    WEB_VITALS_DAILY,
)
from .periods import top_countries_by_period, top_pages_by_period, traffic_by_period

MODELS: tuple[ViewModel, ...] = (
    DAILY_TRAFFIC,
    CHANNEL_MIX_DAILY,
    traffic_by_period("week"),
    traffic_by_period("month"),
    top_pages_by_period("week"),
    top_pages_by_period("month"),
    top_countries_by_period("week"),
    top_countries_by_period("month"),
    ERRORS_DAILY,
    WEB_VITALS_DAILY,
    LINK_CLICKS_DAILY,
)
"""Every model, in the order they are created and documented."""

MODELS_BY_NAME: dict[str, ViewModel] = {m.name: m for m in MODELS}
