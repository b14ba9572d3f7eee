"""``databuddy-sync init``: write ``.dlt/config.toml`` (every option with its default) and
``.dlt/secrets.toml`` (where the API key goes) in a folder, from the templates this package
ships. An existing file is never overwritten without ``--force``."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path

from . import EXIT_INPUT, EXIT_OK
from .sync_args import Parser

FILES = ("config.toml", "secrets.toml")


def template(name: str) -> str:
    """The text of a template shipped in ``databuddy_source/cli/templates``."""
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = Parser(
        prog="databuddy-sync init",
        description="Write .dlt/config.toml and .dlt/secrets.toml templates for databuddy-sync.",
        epilog="Exit codes: 0 written; 2 a file exists already (use --force) or cannot be written.",
    )
    p.add_argument(
        "--dir", type=Path, default=Path("."), help="the folder to write .dlt/ in (default: here)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p.parse_args(argv)


def write_templates(folder: Path, force: bool = False) -> list[Path]:
    """Write both files into ``folder/.dlt``; the paths written. Raises FileExistsError (naming
    the file) before writing anything if one exists and ``force`` is not set."""
    target = folder / ".dlt"
    paths = [target / name for name in FILES]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise FileExistsError(", ".join(str(p) for p in existing))
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.write_text(template(path.name), encoding="utf-8")
    os.chmod(target / "secrets.toml", 0o600)  # the key goes there
    return paths


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[2:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        written = write_templates(args.dir, args.force)
    except FileExistsError as exc:
        print(f"error: already there: {exc}; nothing written (--force overwrites)", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_INPUT
    for path in written:
        print(f"Wrote {path}")
    print(
        "Next: put your API key in .dlt/secrets.toml (api_key under [sources.databuddy]) or in "
        "SOURCES__DATABUDDY__API_KEY, then run databuddy-sync. A key is made in the Databuddy "
        "dashboard, Organization settings > API keys, with the scope read:data (and read:links "
        "for short links)."
    )
    return EXIT_OK
