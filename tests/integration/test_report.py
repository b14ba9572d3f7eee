"""databuddy-report (pipelines/report.py from a checkout): from a synced DuckDB to one
self-contained HTML page that headless Chromium renders offline, with no console error, charts
drawing the emulator's ground truth, and a screenshot; bad input gives one line and exit code 2;
an empty card says why inside it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from databuddy_emulator.server import EmulatorServer

from databuddy_source.cli import report as report_cli
from databuddy_source.models import MODELS, create_models

from .headless import chromium, chromium_missing
from .modelling import END, START, Truth, sync_for_models
from .syncing import days, make_pipeline

ROOT = Path(__file__).resolve().parents[2]
SITE = "Acme Store"
FIRST, LAST = START, END  # the report's range: the synced days, ten days of March


@pytest.fixture(scope="module")
def synced(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file synced with what the models read, models created."""
    tmp = tmp_path_factory.mktemp("report")
    pipeline = make_pipeline(tmp)
    sync_for_models(pipeline, server)
    assert create_models(pipeline).skipped == {}
    return tmp / "sync.duckdb"


@pytest.fixture()
def copy(synced: Path, tmp_path: Path) -> Path:
    """A copy of the synced file that a test may change."""
    return Path(shutil.copy(synced, tmp_path / "copy.duckdb"))


@pytest.fixture(scope="module")
def site_id(server: EmulatorServer) -> str:
    reg = server.emulator.store.registry
    return next(w["id"] for w in reg.websites_of(reg.demo_org_id) if w["name"] == SITE)


@pytest.fixture(scope="module")
def page(
    synced: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Path, Path]]:
    """The report written by the command (a real process), open in headless Chromium:
    (page, report file, screenshot)."""
    if missing := chromium_missing():
        pytest.fail(missing, pytrace=False)
    tmp = tmp_path_factory.mktemp("chromium")
    out = tmp / "report.html"
    command = [sys.executable, str(ROOT / "pipelines" / "report.py"), "--duckdb", str(synced)]
    command += ["--website", SITE, "--start", FIRST.isoformat(), "--end", LAST.isoformat()]
    done = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Report of {SITE}, {FIRST} to {LAST}: {out.as_uri()}"
    with chromium(tmp / "profile") as tab:
        tab.open(out.as_uri())
        shot = tab.screenshot(tmp / "report.png")
        print(f"\nreport screenshot: {shot}")
        yield tab, out, shot


def drawn(tab: Any, chart: str) -> dict[str, dict[str, float]]:
    """What a chart draws: series -> key (day or label) -> value, read from the live page."""
    marks = tab.evaluate(
        f"[...document.querySelectorAll('svg[data-chart=\"{chart}\"] [data-series]')]"
        ".map(e => [e.dataset.series, e.dataset.key, e.dataset.value])"
    )
    out: dict[str, dict[str, float]] = {}
    for series, key, value in marks:
        out.setdefault(series, {})[key] = float(value)
    return out


def test_page_renders_offline_without_console_errors(
    page: tuple[Any, Path, Path], record_property: Any
) -> None:
    tab, out, shot = page
    assert tab.evaluate("document.title") == f"Databuddy report: {SITE}"
    assert tab.console_errors() == []
    assert tab.requested_urls() == [out.as_uri()], "the page fetched something besides itself"
    boxes = tab.evaluate(
        "[...document.querySelectorAll('svg.chart')].map(e => "
        "[e.dataset.chart, e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
    )
    assert len(boxes) >= 10 and all(w > 200 and h > 60 for _, w, h in boxes), boxes
    html = out.read_text()
    assert (
        "<script" not in html
        and "http://" not in html
        and "https://" not in html.split("<body>")[0]
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    record_property("screenshot", str(shot))


def test_daily_charts_draw_the_api_numbers(
    page: tuple[Any, Path, Path], server: EmulatorServer, site_id: str
) -> None:
    tab, _, _ = page
    truth = Truth(server)
    traffic = {
        d.isoformat(): truth.rows("events_by_date", site_id, d, d)[0] for d in days(FIRST, LAST)
    }
    chart = drawn(tab, "daily-traffic")
    for series in ("pageviews", "visitors", "sessions"):
        assert chart[series] == {d: r[series] for d, r in traffic.items()}, series
    errors = {d.isoformat(): truth.rows("error_trends", site_id, d, d) for d in days(FIRST, LAST)}
    assert drawn(tab, "errors")["errors"] == {d: r[0]["errors"] for d, r in errors.items() if r}
    total = sum(r["pageviews"] for r in traffic.values())
    kpi = tab.evaluate("document.querySelector('[data-kpi=pageviews] .value').textContent")
    assert kpi == f"{total:,}"


def test_weekly_and_monthly_visitors_are_the_api_period_counts(
    page: tuple[Any, Path, Path], server: EmulatorServer, site_id: str
) -> None:
    """Unique visitors per week and month: what the API counted over each whole period (here
    through the last synced day), never a sum of days."""
    tab, _, _ = page
    truth = Truth(server)

    def visitors(first: date, last: date) -> float:
        return float(truth.rows("summary_metrics", site_id, first, last)[0]["unique_visitors"])

    assert drawn(tab, "weekly-visitors")["unique visitors"] == {
        "Week of 2026-03-02": visitors(date(2026, 3, 2), date(2026, 3, 8)),
        "Week of 2026-03-09": visitors(date(2026, 3, 9), LAST),
    }
    assert drawn(tab, "monthly-visitors")["unique visitors"] == {
        "March 2026": visitors(date(2026, 3, 1), LAST)
    }
    daily_sum = sum(
        truth.rows("events_by_date", site_id, d, d)[0]["visitors"] for d in days(FIRST, LAST)
    )
    assert visitors(FIRST, LAST) < daily_sum, "the fixture would not tell a sum of days apart"


def test_top_pages_and_link_clicks_show_the_api_numbers(
    page: tuple[Any, Path, Path], server: EmulatorServer, site_id: str
) -> None:
    tab, _, _ = page
    truth = Truth(server)
    march = truth.rows("top_pages", site_id, date(2026, 3, 1), LAST)
    first_row = tab.evaluate(
        '[...document.querySelectorAll(\'[data-table="top-pages-month-2026-03-01"] tbody '
        "tr:first-child td')].map(e => e.textContent)"
    )
    best = max(march, key=lambda r: (r["pageviews"], r["visitors"]))
    assert first_row[:4] == ["1", best["name"], f"{best['pageviews']:,}", f"{best['visitors']:,}"]
    answers = {
        link["name"]: [
            r["clicks"]
            for d in days(FIRST, LAST)
            for r in truth.rows("link_clicks_by_day", link["id"], d, d, scope="link_id")
        ]
        for link in truth.links
    }
    # a link without a click in the range (deleted before it) has no bar
    clicks = {name: float(sum(answer)) for name, answer in answers.items() if answer}
    assert len(clicks) >= 3
    assert drawn(tab, "link-clicks")["clicks"] == clicks


def test_a_card_without_its_view_says_why_inside_it(copy: Path, tmp_path: Path) -> None:
    """Views whose tables were not synced: each card stays, empty, and says what to run."""
    with duckdb.connect(str(copy)) as db:
        for model in MODELS[1:]:  # keep mart_daily_traffic only
            db.execute(f"DROP VIEW databuddy.{model.name}")
            db.execute(f"DROP TABLE databuddy.{model.tables[0]}")  # not synced: not re-created
    out = tmp_path / "partial.html"
    code = report_cli.main(["--duckdb", str(copy), "--website", SITE, "--out", str(out)])
    assert code == 0
    html = out.read_text()
    assert 'data-chart="daily-traffic"' in html and 'id="missing"' not in html
    cards = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', html))
    expect = {
        "channels": "mart_channel_mix_daily",
        "errors": "mart_errors_daily",
        "vitals": "mart_web_vitals_daily",
        "links": "mart_link_clicks_daily",
        "periods": "mart_traffic_weekly",
        "pages": "mart_top_pages_monthly",
        "countries": "mart_top_countries_weekly",
    }
    for card, view in expect.items():
        assert f'data-empty="{view}">Not shown: the view {view} is not created' in cards[card], card
    assert "databuddy-sync --models loads them" in cards["periods"]
    assert "which were not synced; sync them" in cards["errors"]


def test_a_card_without_rows_in_the_range_says_so(copy: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(copy)) as db:
        db.execute("DELETE FROM databuddy.link_clicks_by_day")
    out = tmp_path / "r.html"
    argv = ["--start", FIRST.isoformat(), "--end", LAST.isoformat(), "--website", SITE]
    assert report_cli.main(["--duckdb", str(copy), *argv, "--out", str(out)]) == 0
    card = re.search(r'<section id="links">(.*?)</section>', out.read_text())
    assert card is not None
    assert (
        f"No short-link clicks for {SITE} from {FIRST} to {LAST} in mart_link_clicks_daily"
        in card.group(1)
    )


def test_weeks_and_months_beyond_the_range_are_named(copy: Path, tmp_path: Path) -> None:
    """The range starts mid-week and ends mid-month: the cards say those periods are whole."""
    start, end = FIRST + timedelta(days=1), LAST - timedelta(days=1)
    out = tmp_path / "r.html"
    argv = ["--start", start.isoformat(), "--end", end.isoformat(), "--website", SITE]
    assert report_cli.main(["--duckdb", str(copy), *argv, "--out", str(out)]) == 0
    html = out.read_text()
    week = re.search(r'<p class="note" data-beyond="week">(.*?)</p>', html)
    month = re.search(r'<p class="note" data-beyond="month">(.*?)</p>', html)
    assert week is not None and month is not None, "both grains reach outside the range"
    monday = start - timedelta(days=start.weekday())
    assert f"the week of {monday} starts on {monday}, before the range" in week.group(1)
    assert f"({start} to {end}). Their numbers are the whole period" in month.group(1)


def test_a_plain_sync_gets_its_models_created(copy: Path, tmp_path: Path) -> None:
    """A dataset synced without --models: the report creates the views, then draws."""
    with duckdb.connect(str(copy)) as db:
        for model in MODELS:
            db.execute(f"DROP VIEW databuddy.{model.name}")
    out = tmp_path / "r.html"
    argv = ["--website", SITE, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "databuddy_source.cli.report", "--duckdb", str(copy), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "has no model views yet: creating them" in done.stdout
    assert 'data-chart="daily-traffic"' in out.read_text()


def test_create_models_flag_creates_the_views_first(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with duckdb.connect(str(copy)) as db:
        for model in MODELS:
            db.execute(f"DROP VIEW databuddy.{model.name}")
    out = tmp_path / "r.html"
    assert report_cli.main(["--duckdb", str(copy), "--create-models", "--out", str(out)]) == 0
    assert f"{len(MODELS)} views created or replaced" in capsys.readouterr().out
    assert 'data-chart="link-clicks"' in out.read_text()


BAD_INPUT = {
    "no source, no default file": ([], "no such file: run databuddy-sync first"),
    "missing file": (["--duckdb", "{tmp}/none.duckdb"], "no such file"),
    "not a database": (["--duckdb", "{tmp}/page.html"], "cannot be opened as a DuckDB"),
    "unknown dataset": (["--duckdb", "{db}", "--dataset", "nope"], "--dataset nope: not in"),
    "nothing synced": (["--duckdb", "{tmp}/empty.duckdb"], "was not synced: run databuddy-sync"),
    "unknown website": (["--duckdb", "{db}", "--website", "acme.exampel"], "no website"),
    "bad date": (["--duckdb", "{db}", "--start", "2026-02-30"], "is not a date"),
    "end before start": (
        ["--duckdb", "{db}", "--start", "2026-03-10", "--end", "2026-03-01"],
        "--end 2026-03-01 is before --start 2026-03-10",
    ),
    "start after the data": (
        ["--duckdb", "{db}", "--start", "2027-01-01"],
        "no traffic from 2027-01-01: its last day is 2026-03-14",
    ),
    "range without data": (
        ["--duckdb", "{db}", "--start", "2025-01-01", "--end", "2025-01-31"],
        "no traffic from 2025-01-01 to 2025-01-31; its data covers",
    ),
    "missing folder": (["--duckdb", "{db}", "--out", "{tmp}/no/r.html"], "does not exist"),
    "duckdb destination": (["--destination", "duckdb"], "give the file: --duckdb PATH"),
    "unknown destination": (["--destination", "postgress"], "unknown destination 'postgress'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_code_2(
    case: str,
    copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./databuddy_warehouse.duckdb: the default file is absent
    monkeypatch.delenv("DESTINATION__DUCKDB__CREDENTIALS", raising=False)
    (tmp_path / "page.html").write_text("<html></html>")
    duckdb.connect(str(tmp_path / "empty.duckdb")).execute("CREATE SCHEMA databuddy").close()
    argv, message = BAD_INPUT[case]
    out = tmp_path / "r.html"
    code = report_cli.main(["--out", str(out), *(a.format(tmp=tmp_path, db=copy) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert not out.exists()


def test_postgres_destination_errors_are_one_line(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The --destination path: a dataset that is not there is bad input (2); a server that does
    not answer is a database failure (4)."""
    out = ["--out", str(tmp_path / "r.html")]
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    code = report_cli.main(["--destination", "postgres", "--dataset", "absent", *out])
    assert code == 2 and "--dataset absent: no such dataset" in capsys.readouterr().err
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url.replace(":5432/", ":1/"))
    code = report_cli.main(["--destination", "postgres", "--dataset", "absent", *out])
    err = capsys.readouterr().err
    assert (
        code == 4
        and err.startswith("error: postgres could not be reached: ")
        and err.count("\n") == 1
    ), err
