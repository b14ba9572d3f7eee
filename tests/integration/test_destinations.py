"""DuckDB as the connector opens it: its memory capped, so a big load spills instead of growing."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from databuddy_source.destinations import DUCKDB_MEMORY_LIMIT, duckdb


def _memory_limit(destination: object, tmp_path: Path, name: str) -> str:
    pipeline = dlt.pipeline(
        name, destination=destination, dataset_name="d", pipelines_dir=str(tmp_path / name)
    )
    pipeline.run([{"a": 1}], table_name="t")
    with pipeline.sql_client() as sql:
        limit: str = sql.execute_sql("SELECT current_setting('memory_limit')")[0][0]
    return limit


def test_duckdb_memory_is_capped_and_can_be_set_or_left_to_duckdb(tmp_path: Path) -> None:
    assert DUCKDB_MEMORY_LIMIT == "128MB"
    assert _memory_limit(duckdb(tmp_path / "a.duckdb"), tmp_path, "a") == "122.0 MiB"
    assert _memory_limit(duckdb(tmp_path / "b.duckdb", "1GB"), tmp_path, "b") == "953.6 MiB"
    own = _memory_limit(duckdb(tmp_path / "c.duckdb", None), tmp_path, "c")
    assert own not in ("122.0 MiB", "953.6 MiB")  # DuckDB's default: 80% of this machine's RAM


def test_the_demo_tour_names_the_file_it_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tour's copy-paste command must open the DuckDB file, not a credentials URL."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    from databuddy_source.cli import sync as daily_sync

    path = tmp_path / "demo.duckdb"
    args = daily_sync.parse_args(["--demo", "--duckdb-path", str(path)])
    pipeline = daily_sync.build_pipeline(args)
    daily_sync.print_demo_tour(pipeline)
    out = capsys.readouterr().out
    assert f"Loaded into {path} " in out
    assert f"duckdb.connect('{path}')" in out
