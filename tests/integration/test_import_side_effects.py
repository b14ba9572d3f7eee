"""Importing ``databuddy_source``, building the source and our destinations, and syncing change no
function or method of dlt, no logger that is not ours, no environment variable, and never call
glibc's ``mallopt`` (only our CLI does). Checked in a fresh process (import_probe.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from databuddy_emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def probe(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.import_probe",
            server.url,
            server.emulator.config.api_key,
            str(tmp_path_factory.mktemp("probe")),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_dlt_functions_and_methods_are_untouched(probe: dict[str, Any]) -> None:
    assert probe["built"]["dlt"] == [], "changed by importing and building"
    assert probe["synced"] == [], "changed by a sync"


def test_no_logger_but_ours_and_no_environment_variable_changes(probe: dict[str, Any]) -> None:
    assert probe["built"]["loggers"] == []
    assert probe["built"]["env"] == []


def test_mallopt_is_left_to_our_cli(probe: dict[str, Any]) -> None:
    assert probe["mallopt_when_built"] == []
    assert probe["mallopt_when_synced"] == []
    assert probe["mallopt_by_the_cli"] == [[-8, 2]]  # M_ARENA_MAX, 2: the recorder does see it
