"""revenue: transactions of one website (``revenue`` table) with first-touch attribution.

Amounts follow Databuddy's revenue builders:

* ``revenue`` / ``total_revenue`` is gross: the sum of sales and subscriptions, refunds excluded;
  refunds are reported apart (``refund_amount`` keeps their negative sign, ``refund_count``).
  Every type uses the same rule, so a daily ``revenue_time_series`` sums to ``revenue_overview``
  and breakdowns sum to the total.
* ``transactions`` counts non-refund transactions; ``customers`` counts distinct customers of
  every row (refunds included).
* A transaction is attributed when it carries a ``session_id``; its dimensions come from that
  session's first page view (which may precede the range). Unattributed transactions are grouped
  under ``Unattributed``; attributed ones without a value under ``Unknown`` (``Direct`` for the
  referrer, ``None`` for UTM values).
* ``percentage`` is the share of revenue over all groups, 2 decimals.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import lit, normalized_path, pct, referrer_host

NOT_REFUND = "type != 'refund'"
REVENUE = f"round_even(coalesce(sum(amount) FILTER (WHERE {NOT_REFUND}), 0), 2)"
TRANSACTIONS = f"count(*) FILTER (WHERE {NOT_REFUND})"
CUSTOMERS = "count(DISTINCT customer_id)"
SHARE = pct(REVENUE, f"sum({REVENUE}) OVER ()")
BREAKDOWN_METRICS = (
    f"{REVENUE} AS revenue, {TRANSACTIONS} AS transactions, "
    f"{CUSTOMERS} AS customers, {SHARE} AS percentage"
)

# First-touch columns taken from the session's first page view.
_FIRST_TOUCH = {
    "country": "country",
    "region": "region",
    "city": "city",
    "browser_name": "browser_name",
    "device_type": "device_type",
    "os_name": "os_name",
    "referrer_domain": referrer_host(),
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "entry_path": normalized_path(),
}


def attributed(ctx: QueryContext) -> str:
    """One row per transaction in range: its own columns, ``is_attributed`` (0/1) and the
    first-touch dimensions (NULL when unattributed or the session's page views are not known)."""
    touch = ",\n".join(f"arg_min({expr}, time) AS {name}" for name, expr in _FIRST_TOUCH.items())
    ft_cols = ", ".join(f"ft.{name}" for name in _FIRST_TOUCH)
    events = ctx.source("events", in_range=False, filtered=False)
    return f"""(
        WITH r AS {ctx.source("revenue")},
             first_touch AS (
                SELECT session_id, {touch}
                FROM {events} AS e
                WHERE event_name = 'screen_view'
                  AND session_id IN (SELECT session_id FROM r WHERE session_id IS NOT NULL)
                GROUP BY session_id)
        SELECT r.transaction_id, r.amount, r.type, r.anonymous_id, r.session_id, r.customer_id,
               r.product_id, r.product_name, r.provider, r.created,
               CASE WHEN r.session_id IS NOT NULL THEN 1 ELSE 0 END AS is_attributed, {ft_cols}
        FROM r LEFT JOIN first_touch ft ON ft.session_id = r.session_id)"""


def label(col: str, missing: str = "Unknown") -> str:
    """A dimension value as the breakdowns name it."""
    return (
        f"(CASE WHEN is_attributed = 0 THEN 'Unattributed' "
        f"WHEN coalesce({col}, '') = '' THEN {lit(missing)} ELSE {col} END)"
    )


def known_country(code: str, column: str) -> str:
    """The ISO code in the qualified column ``code``, or its English name (``column`` = 'code' |
    'name'); NULL for no known country (normalizeGeo adds nothing then)."""
    return f"(SELECT cn.{column} FROM country_names cn WHERE cn.code = {code})"


# ---------------------------------------------------------------------------- totals and series
@builder("revenue_overview")
def revenue_overview(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {REVENUE} AS total_revenue,
               {TRANSACTIONS} AS total_transactions,
               round_even(coalesce(sum(amount) FILTER (WHERE type = 'refund'), 0), 2)
                   AS refund_amount,
               count(*) FILTER (WHERE type = 'refund') AS refund_count,
               round_even(coalesce(sum(amount) FILTER (WHERE type = 'subscription'), 0), 2)
                   AS subscription_revenue,
               count(*) FILTER (WHERE type = 'subscription') AS subscription_count,
               round_even(coalesce(sum(amount) FILTER (WHERE type = 'sale'), 0), 2) AS sale_revenue,
               count(*) FILTER (WHERE type = 'sale') AS sale_count,
               {CUSTOMERS} AS unique_customers,
               count(*) FILTER (WHERE is_attributed = 1 AND {NOT_REFUND})
                   AS attributed_transactions,
               round_even(coalesce(
                   sum(amount) FILTER (WHERE is_attributed = 1 AND {NOT_REFUND}), 0),
                     2) AS attributed_revenue
        FROM {attributed(ctx)} AS t
    """,
        "total_revenue",
        sortable=False,
    )


@builder("revenue_time_series")
def revenue_time_series(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("created")} AS date,
               {REVENUE} AS revenue, {TRANSACTIONS} AS transactions, {CUSTOMERS} AS customers,
               round_even(coalesce(sum(amount) FILTER (WHERE type = 'refund'), 0), 2)
                   AS refund_amount,
               count(*) FILTER (WHERE type = 'refund') AS refund_count,
               round_even(coalesce(
                   sum(amount) FILTER (WHERE is_attributed = 1 AND {NOT_REFUND}), 0),
                     2) AS attributed_revenue,
               count(*) FILTER (WHERE is_attributed = 1 AND {NOT_REFUND})
                   AS attributed_transactions
        FROM {attributed(ctx)} AS t
        GROUP BY 1
    """,
        "date ASC",
        sortable=False,
    )


# ---------------------------------------------------------------------------- breakdowns
def breakdown(ctx: QueryContext, name: str) -> Built:
    """``name, revenue, transactions, customers, percentage`` grouped by the ``name`` expression."""
    return Built(
        f"""
        SELECT {name} AS name, {BREAKDOWN_METRICS}
        FROM {attributed(ctx)} AS t
        GROUP BY 1
    """,
        "revenue DESC, name ASC",
        sortable=False,
    )


def geo_breakdown(ctx: QueryContext, col: str) -> Built:
    """Regions or cities with their country; ``country`` is '' for unattributed revenue."""
    return Built(
        f"""
        SELECT name, country, revenue, transactions, customers, percentage,
               {known_country("g.country", "code")} AS country_code,
               {known_country("g.country", "name")} AS country_name
        FROM (SELECT {label(col)} AS name, coalesce(country, '') AS country, {BREAKDOWN_METRICS}
              FROM {attributed(ctx)} AS t
              GROUP BY 1, 2) AS g
    """,
        "revenue DESC, name ASC, country ASC",
        sortable=False,
    )


@builder("revenue_by_provider")
def revenue_by_provider(ctx: QueryContext) -> Built:
    return breakdown(ctx, "provider")


@builder("revenue_attribution_overview")
def revenue_attribution_overview(ctx: QueryContext) -> Built:
    return breakdown(ctx, "CASE WHEN is_attributed = 1 THEN 'Attributed' ELSE 'Unattributed' END")


@builder("revenue_by_product")
def revenue_by_product(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT coalesce(product_name, 'Unknown') AS name, product_id, {BREAKDOWN_METRICS}
        FROM {attributed(ctx)} AS t
        GROUP BY product_name, product_id
    """,
        "revenue DESC, name ASC, product_id ASC",
        sortable=False,
    )


@builder("revenue_by_country")
def revenue_by_country(ctx: QueryContext) -> Built:
    """``name`` is the ISO code; ``country_code``/``country_name`` only for a known country."""
    return Built(
        f"""
        SELECT name, revenue, transactions, customers, percentage,
               {known_country("g.name", "code")} AS country_code,
               {known_country("g.name", "name")} AS country_name
        FROM (SELECT {label("country")} AS name, {BREAKDOWN_METRICS}
              FROM {attributed(ctx)} AS t
              GROUP BY 1) AS g
    """,
        "revenue DESC, name ASC",
        sortable=False,
    )


@builder("revenue_by_region")
def revenue_by_region(ctx: QueryContext) -> Built:
    return geo_breakdown(ctx, "region")


@builder("revenue_by_city")
def revenue_by_city(ctx: QueryContext) -> Built:
    return geo_breakdown(ctx, "city")


@builder("revenue_by_browser")
def revenue_by_browser(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("browser_name"))


@builder("revenue_by_device")
def revenue_by_device(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("device_type"))


@builder("revenue_by_os")
def revenue_by_os(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("os_name"))


@builder("revenue_by_referrer")
def revenue_by_referrer(ctx: QueryContext) -> Built:
    """Referrer host without 'www.'; an empty referrer is ``Direct``."""
    return breakdown(ctx, label("referrer_domain", "Direct"))


@builder("revenue_by_utm_source")
def revenue_by_utm_source(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("utm_source", "None"))


@builder("revenue_by_utm_medium")
def revenue_by_utm_medium(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("utm_medium", "None"))


@builder("revenue_by_utm_campaign")
def revenue_by_utm_campaign(ctx: QueryContext) -> Built:
    return breakdown(ctx, label("utm_campaign", "None"))


@builder("revenue_by_entry_page")
def revenue_by_entry_page(ctx: QueryContext) -> Built:
    """The normalized path of the session's first page view."""
    return breakdown(ctx, label("entry_path"))


# ---------------------------------------------------------------------------- transactions
@builder("recent_transactions")
def recent_transactions(ctx: QueryContext) -> Built:
    """Sales and subscriptions (refunds left out), newest first; ``created`` is a DateTime."""
    return Built(
        f"""
        SELECT transaction_id, provider, type, amount, anonymous_id, product_name,
               strftime(created, '%Y-%m-%d %H:%M:%S') AS created, is_attributed,
               {label("country")} AS country, {label("browser_name")} AS browser_name,
               {label("device_type")} AS device_type,
               {label("referrer_domain", "Direct")} AS referrer,
               {label("utm_source", "None")} AS utm_source,
               {label("utm_campaign", "None")} AS utm_campaign,
               {known_country("t.country", "code")} AS country_code,
               {known_country("t.country", "name")} AS country_name
        FROM {attributed(ctx)} AS t
        WHERE {NOT_REFUND}
    """,
        "created DESC, transaction_id DESC",
        sortable=False,
    )
