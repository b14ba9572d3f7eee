"""ClickHouse's ``quantileTDigest``, reproduced value for value (a DuckDB function).

ClickHouse keeps centroids (mean and weight, both 32-bit floats) in the order values arrive;
every 2,049th pending value, and once more before answering, it sorts them by mean and merges
neighbours left to right while the pair's weight stays within ``4 * 0.01 * N * q * (1 - q)``
(``q`` the smaller of the two neighbours' quantile positions). The answer is the centroid at the
level's position, interpolated between two neighbouring centroids unless one is a single value.
Groups under about 200 values keep every value (the answer is then the value at the level's
rank); larger groups give values between data points. Values are read in the order given (the
storage order, by time, for a monitor's checks); a server that aggregates in parallel merges
partial digests and may answer slightly differently for groups over 2,048 values.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

EPSILON = 0.01
MAX_PENDING = 2048

_f32 = np.float32


def _compress(
    means: list[float], weights: list[float], total: float
) -> tuple[list[float], list[float], float]:
    order = sorted(range(len(means)), key=lambda i: means[i])  # stable, like a radix sort
    ms = [means[i] for i in order]
    ws = [weights[i] for i in order]
    out_m: list[float] = [ms[0]]
    out_w: list[float] = [ws[0]]
    limit = total * float(_f32(EPSILON)) * 4
    done = 0.0  # weight of the centroids before the current one
    cur_m, cur_w = float(ms[0]), float(ws[0])
    for m, w in zip(ms[1:], ws[1:], strict=True):
        ql = (done + cur_w * 0.5) / total
        qr = (done + cur_w + w * 0.5) / total
        room = limit * min(ql * (1 - ql), qr * (1 - qr))
        if cur_w + w <= room:
            cur_w += w
            if m != cur_m:
                cur_m += w * (m - cur_m) / cur_w
            out_m[-1], out_w[-1] = float(_f32(cur_m)), float(_f32(cur_w))
        else:
            done += out_w[-1]
            out_m.append(m)
            out_w.append(w)
            cur_m, cur_w = float(m), float(w)
    return out_m, out_w, done + cur_w


def _interpolate(x: float, x1: float, y1: float, x2: float, y2: float) -> float:
    fx, fx1, fx2 = _f32(x), _f32(x1), _f32(x2)
    k = float(_f32(fx - fx1) / _f32(fx2 - fx1))
    return float(_f32((1 - k) * float(y1) + k * float(y2)))


def quantile_tdigest(values: Sequence[float] | None, level: float) -> float | None:
    """The level's quantile of ``values`` as ClickHouse's ``quantileTDigest`` answers it: a
    32-bit float, given as the shortest decimal that reads back as it (as ClickHouse writes it);
    None for no values."""
    found = _quantile(values, level)
    return None if found is None else float(str(_f32(found)))


def register(con: duckdb.DuckDBPyConnection) -> None:
    """``clickhouse_tdigest(values FLOAT[], level DOUBLE) -> DOUBLE`` on ``con``."""
    # null handling by name: its enum lives in another module in DuckDB 1.x and 2.x
    con.create_function(  # type: ignore[call-overload]
        "clickhouse_tdigest",
        quantile_tdigest,
        ["FLOAT[]", "DOUBLE"],
        "DOUBLE",
        null_handling="special",
    )


def _quantile(values: Sequence[float] | None, level: float) -> float | None:
    if not values:
        return None
    means: list[float] = []
    weights: list[float] = []
    total, pending = 0.0, 0
    for v in values:
        if v is None or v != v:
            continue
        means.append(float(_f32(v)))
        weights.append(1.0)
        total += 1.0
        pending += 1
        if pending > MAX_PENDING:
            means, weights, total = _compress(means, weights, total)
            pending = 0
    if not means:
        return None
    if pending:
        means, weights, total = _compress(means, weights, total)
    if len(means) == 1:
        return means[0]
    x = level * total
    prev_x, seen = 0.0, 0.0
    prev_m, prev_w = means[0], weights[0]
    for m, w in zip(means, weights, strict=True):
        here = seen + w * 0.5
        if here >= x:
            left = prev_x + 0.5 * (prev_w == 1)
            right = here - 0.5 * (w == 1)
            if x <= left:
                return prev_m
            if x >= right:
                return m
            return _interpolate(x, left, prev_m, right, m)
        seen += w
        prev_m, prev_w, prev_x = m, w, here
    return means[-1]
