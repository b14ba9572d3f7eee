"""Runs in a fresh process for ``test_airflow.py`` (Airflow configures logging, its database and
dlt's environment for the whole process): parses the dags folder in a ``DagBag``, runs the
DAG once with ``dag.test()`` and writes what happened as JSON.

Usage: ``python airflow_runner.py DAGS_FOLDER DAG_ID LOGICAL_DATE OUT_JSON`` with
``AIRFLOW_HOME`` set to an empty folder (a SQLite metadata database is created there)."""

from __future__ import annotations

import inspect
import json
import sys
from datetime import datetime
from typing import Any


def describe(dag: Any) -> dict[str, Any]:
    """The DAG's tasks by id: retries and upstream task ids."""
    return {
        task.task_id: {
            "retries": task.retries,
            "retry_exponential_backoff": bool(task.retry_exponential_backoff),
            "upstream": sorted(task.upstream_task_ids),
        }
        for task in dag.tasks
    }


def main(dags_folder: str, dag_id: str, logical_date: str, out: str) -> None:
    from airflow.utils.db import initdb

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,unused-ignore]

    initdb()
    bag = DagBag(dag_folder=dags_folder)
    result: dict[str, Any] = {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dag_ids": sorted(bag.dag_ids),
    }
    dag = bag.dags.get(dag_id)
    if dag is not None:
        result["tasks"] = describe(dag)
        result["max_active_tasks"] = dag.max_active_tasks
        when = datetime.fromisoformat(logical_date)
        if "logical_date" in inspect.signature(dag.test).parameters:
            run = dag.test(logical_date=when)
        else:  # Airflow 2 calls it execution_date
            run = dag.test(execution_date=when)  # type: ignore[call-arg,unused-ignore]
        result["run_state"] = str(getattr(run.state, "value", run.state))
        result["data_interval"] = [str(run.data_interval_start), str(run.data_interval_end)]
        result["task_states"] = {
            ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()
        }
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:5])
