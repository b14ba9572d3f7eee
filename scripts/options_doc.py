"""Write what documents the source's options, from their one declaration
(``databuddy_source.options.OPTIONS``): ``.dlt/config.toml`` and the template ``databuddy-sync
init`` writes (the same file), and the README's configuration table (between the lines
``<!-- options:start -->`` and ``<!-- options:end -->``).

  python scripts/options_doc.py            # write them
  python scripts/options_doc.py --check    # exit 1 if one is out of date (a test runs this)
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from databuddy_source.options import OPTIONS, Option  # noqa: E402

CONFIG_FILES = (ROOT / ".dlt" / "config.toml", ROOT / "databuddy_source/cli/templates/config.toml")
README = ROOT / "README.md"
START, END = "<!-- options:start -->", "<!-- options:end -->"

CONFIG_HEAD = """\
# databuddy-source configuration (written by `databuddy-sync init`). Every option of the
# source is here with its default. Environment variables override this file:
# SOURCES__DATABUDDY__<OPTION>, e.g. SOURCES__DATABUDDY__LOOKBACK_DAYS=5. The API key is a
# secret: .dlt/secrets.toml or SOURCES__DATABUDDY__API_KEY. Command-line flags win over both.

[runtime]
dlthub_telemetry = false        # nothing outside your network is contacted
log_level = "WARNING"

[providers]
# dlt reads Airflow Variables as config when Airflow is installed: seconds per run. The Airflow
# DAG's own .dlt/ folder turns this back on where Variables are wanted.
enable_airflow_secrets = false

[sources.databuddy]
"""

CUSTOM_REPORTS_EXAMPLE = """\
# Array tables go after every other key of [sources.databuddy].
# [[sources.databuddy.custom_reports]]
# name = "views_by_country_device"
# table = "events"                        # events, error_spans, web_vitals_spans, outgoing_links
# dimensions = ["country", "device_type"] # groupBy, up to 5
# metrics = [{ field = "*", aggregate = "count", alias = "views" }]  # count sum avg max min uniq
# filters = [{ field = "event_name", operator = "eq", value = "screen_view" }]
# granularity = "daily"                   # or "hourly": one request per hour
# limit = 10000                           # groups per day (the endpoint has no offset)
"""

CONFIG_TAIL = """
[destination.duckdb]
# The DuckDB file databuddy-sync loads into (default ./databuddy_warehouse.duckdb; --duckdb-path
# wins). DESTINATION__DUCKDB__CREDENTIALS in the environment wins over this line.
# credentials = "/data/databuddy_warehouse.duckdb"

[destination.postgres]
# credentials = "postgresql://user:password@host:5432/database"  # or in secrets.toml
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def comment(text: str) -> list[str]:
    return textwrap.wrap(text.replace("`", ""), 97, initial_indent="# ", subsequent_indent="# ")


def option_lines(option: Option) -> list[str]:
    """An option as ``.dlt/config.toml`` shows it: its help, then its default (commented out
    when it has none)."""
    lines = comment(option.help[0].upper() + option.help[1:] + ".")
    if option.default is not None:
        return [*lines, f"{option.name} = {toml_value(option.default)}"]
    if option.unset != "–":
        lines += comment(f"Default (unset): {option.unset}.")
    return [*lines, f"# {option.name} = {option.example}"]


def render_config() -> str:
    """``.dlt/config.toml``: every option of ``[sources.databuddy]`` but the secret key."""
    shown = [o for o in OPTIONS if not o.secret and o.name != "custom_reports"]
    body = "\n".join(line for option in shown for line in option_lines(option))
    reports = next(o for o in OPTIONS if o.name == "custom_reports")
    tail = "\n".join(comment(reports.help[0].upper() + reports.help[1:] + "."))
    return CONFIG_HEAD + body + "\n" + tail + "\n" + CUSTOM_REPORTS_EXAMPLE + CONFIG_TAIL


def markdown_default(option: Option) -> str:
    if option.default is None:
        return option.unset
    if isinstance(option.default, bool):
        return f"`{str(option.default).lower()}`"
    if isinstance(option.default, str):
        return f"`{option.default}`"
    return f"{option.default:g}" if isinstance(option.default, float) else str(option.default)


def render_table() -> str:
    """The README's configuration table."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for o in OPTIONS:
        name = f"`{o.name}` (secret)" if o.secret else f"`{o.name}`"
        rows.append(f"| {name} | {markdown_default(o)} | {o.help} |")
    return "\n".join(rows) + "\n"


def render_readme(text: str) -> str:
    """``text`` (the README) with the table between the markers replaced."""
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render_table()}{END}{tail}"


def main() -> int:
    wanted = {path: render_config() for path in CONFIG_FILES}
    wanted[README] = render_readme(README.read_text())
    stale = [path for path, text in wanted.items() if path.read_text() != text]
    if "--check" in sys.argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/options_doc.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
