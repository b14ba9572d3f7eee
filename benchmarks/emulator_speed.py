"""Benchmark: the emulator must never be what limits the project's benchmarks.

1. Latency of a 10,000-row response (top_pages of the large profile's marketplace for one day,
   limit 10,000) over real HTTP: median and p95 of 30 requests. Target: well under 100 ms.
2. Memory while serving many requests (a mix of query, catalogue, RPC and health routes from 4
   threads): RSS of the process every 10% of the run. Target: flat (the last sample within 10%
   of the sample after warm-up).

    .venv/bin/python -m benchmarks.emulator_speed [--requests 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def big_response_latency() -> dict[str, float]:
    config = EmulatorConfig(
        profile="large", now=NOW, frozen=True, history_days=7, rate_limit_mode="off"
    )
    with (
        EmulatorServer(config) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": config.api_key}, timeout=60) as c,
    ):
        market = next(
            w["id"]
            for w in srv.emulator.store.registry.collection("websites").values()
            if w["name"] == "Acme Marketplace"
        )
        body = {
            "parameters": ["top_pages"],
            "startDate": "2026-03-12",
            "endDate": "2026-03-12",
            "limit": 10_000,
        }
        times, size = [], 0
        for _ in range(30):
            began = time.perf_counter()
            r = c.post("/v1/query", params={"website_id": market}, json=body)
            times.append((time.perf_counter() - began) * 1000)
            rows = r.json()["data"][0]["data"]
            size = len(r.content)
        assert len(rows) == 10_000
    times.sort()
    return {
        "rows": 10_000,
        "bytes": size,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
    }


def memory_under_load(total: int) -> dict[str, object]:
    config = EmulatorConfig(profile="small", now=NOW, frozen=True, rate_limit_mode="off")
    with EmulatorServer(config) as srv:
        reg = srv.emulator.store.registry
        site = reg.websites_of(reg.demo_org_id)[0]["id"]
        calls = [
            (
                "POST",
                "/v1/query",
                {"website_id": site},
                {"parameters": ["summary_metrics", "top_pages"], "preset": "yesterday"},
            ),
            ("GET", "/v1/query/types", None, None),
            ("POST", "/rpc/websites/list", None, {"json": {}}),
            ("GET", "/health", None, None),
        ]
        done, lock, samples = 0, threading.Lock(), []
        step = total // 10

        def work(n: int) -> None:
            nonlocal done
            with httpx.Client(base_url=srv.url, headers={"x-api-key": config.api_key}) as c:
                for i in range(n):
                    method, path, params, body = calls[i % len(calls)]
                    r = c.request(method, path, params=params, json=body)
                    r.raise_for_status()
                    with lock:
                        done += 1
                        if done % step == 0:
                            samples.append(round(rss_mb(), 1))

        began = time.monotonic()
        threads = [threading.Thread(target=work, args=(total // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - began
    warm, last = samples[1], samples[-1]
    return {
        "requests": done,
        "seconds": round(elapsed, 1),
        "requests_per_s": round(done / elapsed),
        "rss_mb_every_10pct": samples,
        "growth_after_warmup_pct": round(100 * (last - warm) / warm, 1),
        "flat": last <= warm * 1.10,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--out", default="benchmarks/results/emulator_speed.json")
    args = parser.parse_args()
    latency = big_response_latency()
    print(
        f"10,000-row response ({latency['bytes'] / 1e6:.1f} MB): median "
        f"{latency['median_ms']} ms, p95 {latency['p95_ms']} ms"
    )
    memory = memory_under_load(args.requests)
    print(
        f"{memory['requests']} requests in {memory['seconds']} s "
        f"({memory['requests_per_s']}/s); RSS MB every 10%: {memory['rss_mb_every_10pct']}; "
        f"growth after warm-up {memory['growth_after_warmup_pct']}%"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"latency_10k_rows": latency, "memory": memory}, indent=2) + "\n")


if __name__ == "__main__":
    main()
