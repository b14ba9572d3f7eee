"""What documents the source is generated and kept current: the table reference in
docs/tables.md (from the catalogue); .dlt/config.toml, its template and the README's
configuration table (from the options' one declaration)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tables_doc_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "tables_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout


def test_options_docs_are_current() -> None:
    """.dlt/config.toml, the template ``databuddy-sync init`` writes, and the README's table
    between ``<!-- options:start -->`` and ``<!-- options:end -->`` say what OPTIONS declares."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "options_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
