"""The command line of ``databuddy-sync``: its flags, and the source options they set."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from ..options import OPTIONS
from . import EXIT_CODES_TEXT, EXIT_INPUT

DESCRIPTION = """\
The daily Databuddy sync: every configured website's analytics and objects into a warehouse.
Options not given here come from dlt config: .dlt/config.toml, .dlt/secrets.toml and the
environment (SOURCES__DATABUDDY__API_KEY, DESTINATION__DUCKDB__CREDENTIALS, ...)."""

EXAMPLES = """\
Examples:
  databuddy-sync init                    # write .dlt/config.toml and .dlt/secrets.toml here
  databuddy-sync --demo                  # the local emulator -> DuckDB, then a report
  databuddy-sync                         # config from .dlt/ and the environment
  databuddy-sync --models                # also the weekly/monthly tables and the model views
  databuddy-sync --destination postgres --dataset analytics
  databuddy-sync --queries top_pages,country --start-date 2026-01-01
  databuddy-sync --start-date 2026-01-01 --end-date 2026-01-31   # a bounded backfill
  databuddy-sync --dry-run               # the plan: slices and requests
  databuddy-sync --wait >> sync.log 2>&1 # from cron: queue behind a running sync

"""


def _memory_size(text: str) -> str:
    """A DuckDB memory size (``512MB``, ``2GB``, ``1.5GiB``) or ``none``."""
    if text.strip().lower() == "none":
        return "none"
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", text.strip(), re.IGNORECASE):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a memory size: use e.g. 256MB, 2GB or none"
        )
    return text.strip()


def _shard(text: str) -> str:
    """``I/N``: this worker's share of the websites (checked like the source option)."""
    from ..errors import ConfigurationError
    from ..option_values import resolve_shard

    try:
        index, count = resolve_shard(text) or (1, 1)
    except ConfigurationError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not I/N with 1 <= I <= N (e.g. 2/4: the second of four workers)"
        ) from None
    return f"{index}/{count}"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 (off) or more seconds")
    return value


FLAG_OPTIONS = tuple(o for o in OPTIONS if o.flag)
# flags whose values argparse checks further than the option's type
FLAG_TYPES: dict[str, Callable[[str], Any]] = {"shard": _shard}
# what a flag's value is shown as in --help (lists: NAMES)
FLAG_METAVARS = {
    "base_url": "URL",
    "start_date": "YYYY-MM-DD",
    "end_date": "YYYY-MM-DD",
    "as_of": "YYYY-MM-DD",
    "timezone": "ZONE",
    "shard": "I/N",
}
# what a flag adds to its option's help
FLAG_NOTES = {"shard": "; each shard keeps its own pipeline state (pipeline name + _shard_I_of_N)"}


def add_source_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per source option declared with ``flag=True``, with its help and default."""
    for option in FLAG_OPTIONS:
        flag = "--" + option.name.replace("_", "-")
        text = option.help.replace("`", "") + FLAG_NOTES.get(option.name, "")
        shown = option.unset if option.default is None else option.default
        if shown not in ("–", False):
            text += f" (default: {str(shown).replace('`', '')})"
        text = text.replace("%", "%%")
        if option.annotation is bool:
            parser.add_argument(flag, action="store_true", help=text)
        elif option.choices:
            parser.add_argument(flag, choices=option.choices, default=None, help=text)
        elif option.annotation is int:
            parser.add_argument(flag, type=int, default=None, metavar="N", help=text)
        else:
            list_option = option.annotation == list[str] | None
            if list_option:
                text = f"comma-separated: {text}"
            parser.add_argument(
                flag,
                type=FLAG_TYPES.get(option.name, str),
                default=None,
                metavar="NAMES" if list_option else FLAG_METAVARS.get(option.name),
                help=text,
            )


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors ending as this package's exit 2 in one line."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_INPUT, f"error: {message} (see --help)\n")


def build_parser() -> Parser:
    p = Parser(
        prog="databuddy-sync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EXAMPLES + EXIT_CODES_TEXT,
    )
    add = p.add_argument
    add(
        "--demo",
        action="store_true",
        help="start the local emulator (needs the emulator extra) "
        "and sync it into ./databuddy_demo.duckdb",
    )
    add(
        "--destination",
        default=None,
        help="dlt destination: duckdb (default), postgres, or any dlt destination",
    )
    add("--dataset", default=None, help="dataset (schema) name (default databuddy)")
    add(
        "--pipeline-name",
        default="databuddy",
        help="dlt pipeline name; its state decides what is incremental",
    )
    add(
        "--duckdb-path",
        default=None,
        help="DuckDB file for --destination duckdb (default: [destination.duckdb] credentials "
        "in dlt config, else ./databuddy_warehouse.duckdb)",
    )
    add(
        "--duckdb-memory-limit",
        default=None,
        type=_memory_size,
        help="DuckDB's memory cap while loading, e.g. 512MB or 2GB (default 128MB; "
        "'none' for DuckDB's own, 80%% of RAM)",
    )
    add_source_flags(p)
    add(
        "--models",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after the sync, load the weekly and monthly tables the models read and create or "
        "replace the model views (what databuddy-report draws); on by default with --demo",
    )
    add(
        "--full-refresh",
        action="store_true",
        help="drop this source's tables and state, then load from the start",
    )
    add("--dry-run", action="store_true", help="print the plan (slices, requests), write nothing")
    add(
        "--wait",
        action="store_true",
        help="if another sync of this pipeline is running, wait for it (else exit 6)",
    )
    add(
        "--progress-every",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="progress: on a terminal a live bar; otherwise one line every SECONDS (default 30; "
        "0: no progress at all)",
    )
    add(
        "--debug",
        action="store_true",
        help="tracebacks, and the debug logs of this package and of dlt",
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def source_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Only the source options given on the command line (the rest come from dlt config)."""
    out: dict[str, Any] = {}
    for option in FLAG_OPTIONS:
        value = getattr(args, option.name)
        if option.annotation is bool:
            if value:
                out[option.name] = True
        elif option.annotation == list[str] | None:
            if value:
                out[option.name] = [v.strip() for v in value.split(",") if v.strip()]
        elif value is not None:
            out[option.name] = value
    return out
