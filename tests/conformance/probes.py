"""Request-level behaviour, real server against emulator: the real-server harness's curl probes
(``probes.sh``: removed and unknown types, the plan gate, bad bodies, keys and scopes, the RPC
lists a sync reads) sent to both, compared by the harness's ``shape_diff.py`` (status, content
type, envelope keys, error text, entries, columns, JSON types). The emulator side is
``scripts/emulator_probes.sh``, which maps the real seeded world's roles onto the emulator's
fixtures. Values are not compared here (the two worlds hold different data); the query types'
values are, in the matrix."""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .harness import RealServer
from .projects import database_url, source_projects, write_real_projects

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_NOW = "2026-12-06T04:00:00Z"  # the real seeded world's last event
NUMBER_KINDS = {"int", "float"}

NO_MONITOR = (
    'data, not behaviour: the real organization has no uptime monitor (`{"json": []}`: set '
    "DATABUDDY_REAL_DATABASE_URL and the run creates the conformance monitor), the emulator's "
    "has three (their dates bring the RPC envelope's `meta`, how oRPC marks Date values)"
)
MONITOR_LIST = "rpc_uptime_listSchedules_KEY"


@dataclass(slots=True)
class ProbeResult:
    name: str
    real_status: str
    emulator_status: str
    problems: list[str] = field(default_factory=list)
    number_kinds: bool = False  # only whole vs fractional numbers differ (values, not shape)
    why: str | None = None  # a difference outside the emulator's behaviour


def harness_dir() -> Path | None:
    """The real-server harness folder (``probes.sh``, ``shape_diff.py``) that
    ``DATABUDDY_REAL_HARNESS`` names; it is not part of this repository."""
    env = os.environ.get("DATABUDDY_REAL_HARNESS")
    d = Path(env) if env else None
    if d is not None and (d / "probes.sh").is_file() and (d / "shape_diff.py").is_file():
        return d
    return None


def _index(folder: Path) -> dict[str, str]:
    out = {}
    for line in (folder / "_index.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def _only_number_kinds(problem: str) -> bool:
    m = re.fullmatch(r"[^:]+: types \(real, emu\) (\{.*\})", problem)
    if not m:
        return False
    pairs = ast.literal_eval(m[1])
    return all(
        set(a.split("|")) <= NUMBER_KINDS and set(b.split("|")) <= NUMBER_KINDS
        for a, b in pairs.values()
    )


def parse_shape_diff(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("== "):
            current = blocks.setdefault(line[3:].strip(), [])
        elif line.strip():
            current.append(line.strip())
    return blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_emulator(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "databuddy_emulator", "--admin", "--port", str(port)]
    cmd += ["--now", EMULATOR_NOW, "--frozen"]
    # this checkout's connector and emulator, whatever the environment has installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "emulator")])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/__emulator__/fixtures"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(1)
    proc.terminate()
    raise RuntimeError(f"the emulator did not start on port {port}")


def run_probes(real: RealServer, harness: Path) -> list[ProbeResult]:
    """Send the probes to the real server and to a fresh emulator; one result per probe."""
    if db_url := database_url():
        write_real_projects(db_url, source_projects())
    with tempfile.TemporaryDirectory(prefix="conformance_probes_") as tmp:
        real_dir, emu_dir = Path(tmp) / "real", Path(tmp) / "emulator"
        env = {**os.environ, "BASE": real.api_url, "OUT": str(real_dir), "KEY": real.key_free}
        if real.key_paid:
            env["PKEY"] = real.key_paid
        if links := os.environ.get("DATABUDDY_REAL_KEY_LINKS"):
            env["KEY3"] = links
        subprocess.run(
            ["bash", str(harness / "probes.sh")], env=env, check=True, capture_output=True
        )
        port = _free_port()
        proc = _start_emulator(port)
        try:
            emu_sh = ["bash", str(ROOT / "scripts" / "emulator_probes.sh")]
            done = subprocess.run(
                [*emu_sh, f"http://127.0.0.1:{port}", str(emu_dir), str(real_dir)],
                env={**os.environ, "HARNESS": str(harness)},
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        blocks = parse_shape_diff(done.stdout)
        real_idx, emu_idx = _index(real_dir), _index(emu_dir)
        no_monitor = _empty_list(real_dir / f"{MONITOR_LIST}.body")
    results = []
    for name, status in real_idx.items():
        problems = blocks.get(name, [])
        shape = [p for p in problems if not _only_number_kinds(p)]
        why = NO_MONITOR if shape and name == MONITOR_LIST and no_monitor else None
        results.append(
            ProbeResult(
                name, status, emu_idx.get(name, "-"), shape, len(shape) < len(problems), why
            )
        )
    return results


def _empty_list(body: Path) -> bool:
    try:
        return bool(json.loads(body.read_text()) == {"json": []})
    except (OSError, ValueError):
        return False
