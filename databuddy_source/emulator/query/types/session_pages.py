"""session_pages (new in 2026-05): pages ranked by the sessions that viewed them.

One row per stored page path (as ingested, not normalized) of the range's page views:
``name``, distinct ``sessions``, distinct ``visitors``; most sessions first. It is the shape
``session_flow`` had before 2026-05.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from .common import pageviews


@builder("session_pages")
def session_pages(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT path AS name, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv
        WHERE coalesce(path, '') != ''
        GROUP BY path""",
        "sessions DESC, visitors DESC, name ASC",
    )
