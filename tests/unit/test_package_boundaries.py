"""The connector and the emulator are separate distributions: the connector never imports the
emulator (the demo starts it as a process and talks to it by URL), and the connector's wheel
holds no emulator module."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_connector_never_imports_the_emulator() -> None:
    offenders = {}
    for path in sorted((ROOT / "databuddy_source").rglob("*.py")):
        found = sorted(m for m in imported_modules(path) if m.startswith("databuddy_emulator"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_each_distribution_packages_only_its_own_code() -> None:
    connector = tomllib.loads((ROOT / "pyproject.toml").read_text())
    emulator = tomllib.loads((ROOT / "emulator" / "pyproject.toml").read_text())
    assert connector["tool"]["setuptools"]["packages"]["find"]["include"] == ["databuddy_source*"]
    assert emulator["tool"]["setuptools"]["packages"]["find"]["include"] == ["databuddy_emulator*"]
    assert not (ROOT / "databuddy_source" / "emulator").exists()
    # the emulator extra is the emulator distribution, nothing else
    assert connector["project"]["optional-dependencies"]["emulator"] == [
        "databuddy-emulator>=0.1.0"
    ]
    assert emulator["project"]["entry-points"]["pytest11"] == {
        "databuddy_emulator": "databuddy_emulator.pytest_plugin"
    }


OUTSIDE = re.compile(r"SPEC(\.md|\s*§|\s+\d|\s+section)|§\s*\d|\.\./shared|/work/shared")


def test_code_cites_nothing_outside_the_repository() -> None:
    """Facts are written where they are used, or cite our own docs/ (api-notes.md)."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in (
            "databuddy_source",
            "emulator",
            "tests",
            "scripts",
            "benchmarks",
            "pipelines",
        )
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in {".py", ".sh", ".toml"}
        and path.name not in {"test_package_boundaries.py", "test_doc_links.py"}  # the checks
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []
