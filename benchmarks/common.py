"""What the benchmarks share: the emulator in its own process, child processes that report their
peak memory, and the result table."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from databuddy_emulator.config import DEFAULT_API_KEY
from databuddy_emulator.server import free_port

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
KEY = DEFAULT_API_KEY
HEADERS = {"x-api-key": KEY}
ENV = {"RUNTIME__DLTHUB_TELEMETRY": "false", "LOAD__TRUNCATE_STAGING_DATASET": "true"}


@contextmanager
def emulator(*args: str) -> Iterator[str]:
    """The emulator in its own process (its memory and CPU are not the contender's); frozen at
    ``NOW``. Yields the base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "databuddy_emulator", "--port", str(port)]
    command += ["--now", NOW.isoformat(), "--frozen", "--admin", *args]  # clock, request stats
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(3000):
            if proc.poll() is not None:
                raise RuntimeError(f"the emulator exited with {proc.returncode}: {command}")
            try:
                if httpx.get(f"{url}/health", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def websites(base_url: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = httpx.get(
        f"{base_url}/v1/query/websites", headers=HEADERS, timeout=60
    ).json()["websites"]
    return listed


def emulator_requests(base_url: str, reset: bool = False) -> dict[str, int]:
    """Responses the emulator sent, by ``"<METHOD> <path> <status>"`` (optionally reset)."""
    url = f"{base_url}/__emulator__/stats"
    counts: dict[str, int] = httpx.request("DELETE" if reset else "GET", url, timeout=60).json()
    return counts


def query_posts(counts: dict[str, int]) -> dict[str, int]:
    return {
        "ok": sum(n for k, n in counts.items() if k.startswith("POST /v1/query") and "200" in k),
        "rate_limited": sum(n for k, n in counts.items() if k.endswith(" 429")),
        "other": sum(
            n for k, n in counts.items() if not k.startswith("POST /v1/query") or " 5" in k
        ),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(module: str, task: dict[str, Any], timeout: float = 7200) -> dict[str, Any]:
    """Run ``python -m <module>`` with ``task`` as JSON on stdin in a fresh process (so peak
    memory is the task's alone); it prints one JSON object as its last line."""
    env = {**os.environ, **ENV}
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{module} {task.get('kind')} failed ({done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    text = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in text
    ]
    return "\n".join([line, rule, *body])


def write_result(path: str | Path, result: dict[str, Any]) -> Path:
    """A benchmark's result as indented JSON (folders made as needed)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out
