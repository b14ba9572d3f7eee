"""DuckDB as the connector opens it: its memory capped, so a big load spills instead of growing."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from databuddy_source.destinations import DUCKDB_MEMORY_LIMIT, duckdb, fast_clients_tested, postgres


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


def test_duckdb_file_and_settings_come_from_dlt_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "from_env.duckdb"))
    monkeypatch.setenv("DESTINATION__WAREHOUSE__CREDENTIALS", str(tmp_path / "named.duckdb"))
    assert _memory_limit(duckdb(), tmp_path, "e") == "122.0 MiB"  # capped, file from config
    assert _memory_limit(duckdb(destination_name="warehouse"), tmp_path, "n") == "122.0 MiB"
    assert (tmp_path / "from_env.duckdb").exists() and (tmp_path / "named.duckdb").exists()
    assert duckdb().destination_type == dlt.destinations.duckdb().destination_type


def test_postgres_credentials_come_from_dlt_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, pg_dataset: str
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    destination = postgres()
    pipeline = dlt.pipeline(
        "pg", destination=destination, dataset_name=pg_dataset, pipelines_dir=str(tmp_path)
    )
    pipeline.run([{"a": 1}, {"a": 2}], table_name="t")
    with pipeline.sql_client() as sql:
        assert sql.execute_sql("SELECT sum(a) FROM t") == [(3,)]
    assert destination.destination_name == "postgres"
    assert destination.destination_type == dlt.destinations.postgres().destination_type


def test_outside_the_tested_dlt_range_dlt_own_clients_load(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlt.destinations.impl.duckdb.duck import DuckDbClient
    from dlt.destinations.impl.postgres.postgres import PostgresClient

    assert not fast_clients_tested("1.27.2") and not fast_clients_tested("2.0.0")
    assert fast_clients_tested("1.28.0") and fast_clients_tested("1.31.9")
    monkeypatch.setattr(dlt, "__version__", "9.0.0")
    with caplog.at_level("WARNING", logger="databuddy_source"):
        assert duckdb(Path("x.duckdb")).client_class is DuckDbClient
        assert postgres().client_class is PostgresClient
    said = [r.message for r in caplog.records if r.message.startswith("dlt 9.0.0")]
    assert said == [
        "dlt 9.0.0 is outside the range the faster Databuddy loads were tested with "
        "(1.28 to 1.31): loading with dlt's own clients"
    ]


@pytest.mark.parametrize("configured", [False, True])
def test_every_command_resolves_the_duckdb_file_one_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    """databuddy-sync, databuddy-report and ``destinations.duckdb()`` (the Airflow DAG's, and
    Dagster's default pipeline's) load into the same file: dlt config's, else the default."""
    from databuddy_source.cli import report, sync_args
    from databuddy_source.cli.destination import duckdb_file

    monkeypatch.chdir(tmp_path)
    expected = tmp_path / ("configured.duckdb" if configured else "databuddy_warehouse.duckdb")
    if configured:
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(expected))
    path, _ = duckdb_file(sync_args.parse_args([]))
    assert Path(path).resolve() == expected
    assert report.parse_args([]).duckdb.resolve() == expected
    assert duckdb().config_params["credentials"] == str(expected)
