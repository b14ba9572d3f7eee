"""Benchmark: the client's proactive rate limiter against the emulator's limiter.

With the emulator at 20 requests per 2 s, 4 threads share one client and send 200 requests.
The minimal time is when the last window's requests may start: (200 / 20 - 1) x 2 s = 18 s.
Target: zero 429s and at most 1.1 x the minimal time. Prints both figures and writes JSON.

    .venv/bin/python -m benchmarks.client_rate [--requests 200] [--threads 4]
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime

from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

from databuddy_source import Databuddy, RetryPolicy

from .common import write_result

LIMIT, WINDOW = 20, 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", default="benchmarks/results/client_rate.json")
    args = parser.parse_args()
    config = EmulatorConfig(
        profile="small",
        frozen=True,
        rate_limit=LIMIT,
        rate_window_seconds=WINDOW,
        now=datetime(2026, 3, 15, 12, tzinfo=UTC),
    )
    with EmulatorServer(config) as server:
        reg = server.emulator.store.registry
        site = reg.websites_of(reg.demo_org_id)[0]["id"]
        per_thread = args.requests // args.threads
        with Databuddy(
            config.api_key,
            base_url=server.url,
            rate_limit=LIMIT,
            rate_window=WINDOW,
            retry=RetryPolicy(jitter=0.1),
        ) as client:

            def work() -> None:
                for _ in range(per_thread):
                    client.query.execute(
                        website_id=site, parameters=["summary_metrics"], preset="yesterday"
                    )

            began = time.monotonic()
            threads = [threading.Thread(target=work) for _ in range(args.threads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - began
            stats = client.stats.snapshot()
    total = per_thread * args.threads
    minimal = (total / LIMIT - 1) * WINDOW
    result = {
        "requests": total,
        "threads": args.threads,
        "limit": LIMIT,
        "window_s": WINDOW,
        "elapsed_s": round(elapsed, 2),
        "minimal_s": minimal,
        "ratio": round(elapsed / minimal, 3),
        "http_429": stats["rate_limited"],
        "retries": stats["retries"],
        "target": "0 x 429 and ratio <= 1.10",
        "met": stats["rate_limited"] == 0 and elapsed <= 1.1 * minimal,
    }
    print(
        f"{total} requests from {args.threads} threads at {LIMIT}/{WINDOW:g}s: "
        f"{elapsed:.2f} s (minimal {minimal:.1f} s, ratio {elapsed / minimal:.3f}), "
        f"429s: {stats['rate_limited']}, retries: {stats['retries']}"
    )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
