"""The documents hold together: every relative link in README.md, CONTRIBUTING.md and docs/
points at a file of this repository (and, with ``#anchor``, at a heading of it); no heading
appears twice in one document; the README stays a user's document (under 400 lines, opening with
the two commands that work on a fresh machine); no document cites a source outside the
repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")
OUTSIDE = re.compile(r"SPEC\.md|SPEC §|§\s*\d|\.\./shared|shared/databuddy-api")


def prose_lines(path: Path) -> list[str]:
    """The lines of ``path`` outside fenced code blocks."""
    lines: list[str] = []
    fenced = False
    for line in path.read_text().splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (lower case, punctuation dropped, spaces to
    hyphens, repeats numbered)."""
    seen: dict[str, int] = {}
    for line in prose_lines(path):
        if match := re.match(r"#{1,6}\s+(.*)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
    return {f"{slug}-{n}" if n else slug for slug, count in seen.items() for n in range(count + 1)}


def broken_links(path: Path) -> list[str]:
    broken = []
    for line in prose_lines(path):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists() or ROOT not in (linked, *linked.parents):
                broken.append(f"{target}: no such file in the repository")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{target}: {linked.name} has no heading with that anchor")
    return broken


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert not broken_links(path), f"{path.relative_to(ROOT)}: {broken_links(path)}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_citation_of_documents_outside_the_repository(path: Path) -> None:
    cited = [line for line in path.read_text().splitlines() if OUTSIDE.search(line)]
    assert not cited, f"{path.relative_to(ROOT)} cites outside documents: write the fact: {cited}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_heading_twice(path: Path) -> None:
    """A heading twice in one document is a section pasted twice (or an anchor that cannot be
    linked)."""
    headings = [line for line in prose_lines(path) if re.match(r"#{1,6}\s", line)]
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    assert not repeated, f"{path.relative_to(ROOT)} repeats {repeated}"


def test_readme_is_a_users_document() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 400, f"README.md has {len(lines)} lines: move details to docs/"
    assert lines[2:6] == [
        "```bash",
        "bash scripts/demo.sh   # set up .venv, sync the local Databuddy emulator into "
        "./databuddy_demo.duckdb, write a report",
        "bash scripts/test.sh   # set up, then ruff, mypy --strict and the whole test suite "
        "(starts PostgreSQL)",
        "```",
    ], "README.md must open with the two commands that work on a fresh machine"
