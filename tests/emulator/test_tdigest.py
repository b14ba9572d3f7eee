"""``clickhouse_tdigest`` answers what ClickHouse's ``quantileTDigest`` answers.

The expected values were read from ClickHouse 26.9 (chdb) for the same value sequences:
``SELECT quantileTDigest(q)(v) FROM (SELECT toUInt32((number * 7919) % 1000 +
intDiv(number, 3)) AS v FROM numbers(n))``. Below about 200 values every value stays its own
centroid (the value at the level's rank); larger groups interpolate between merged centroids,
and over 2,048 values the digest is compressed while values arrive, so their order counts.
"""

from __future__ import annotations

import duckdb
import pytest
from databuddy_emulator.tdigest import quantile_tdigest, register

CLICKHOUSE = {
    150: (514.0, 918.0, 1014.0),
    1008: (669.0, 1076.6666, 1254.0),
    2500: (915.46985, 1424.8898, 1706.0),
}
LEVELS = (0.5, 0.9, 0.99)


def values(n: int) -> list[int]:
    return [(i * 7919) % 1000 + i // 3 for i in range(n)]


@pytest.mark.parametrize("n", sorted(CLICKHOUSE))
def test_quantiles_match_clickhouse(n: int) -> None:
    assert tuple(quantile_tdigest(values(n), q) for q in LEVELS) == CLICKHOUSE[n]


def test_arrival_order_counts_over_2048_values() -> None:
    assert quantile_tdigest(sorted(values(2500)), 0.5) != CLICKHOUSE[2500][0]


def test_sql_function_in_time_order_and_empty() -> None:
    con = duckdb.connect(":memory:")
    register(con)
    n = 1008
    row = con.execute(
        f"SELECT clickhouse_tdigest(list(v::FLOAT ORDER BY t), 0.9), "
        "clickhouse_tdigest(list(v::FLOAT ORDER BY t) FILTER (WHERE v < 0), 0.9) "
        "FROM (SELECT range AS t, (range * 7919) % 1000 + range // 3 AS v "
        f"FROM range({n}))"
    ).fetchone()
    assert row == (CLICKHOUSE[n][1], None)
    assert quantile_tdigest([], 0.5) is None
    assert quantile_tdigest([7], 0.99) == 7.0
