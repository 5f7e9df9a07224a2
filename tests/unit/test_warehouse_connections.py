"""In Airflow, a task connects to the warehouse with its role's Airflow connection (socmon_warehouse_<role>)
and reads no credentials file; the dev harness writes those connections from the embedded cluster's file."""

from __future__ import annotations

import json

import pytest

from socmon.config import settings
from socmon.orchestration import airflow_environment, warehouse_connections
from socmon.warehouse import server
from socmon.warehouse.credentials import ROLES, WarehouseError

LOADER_CONNECTION = {
    "conn_type": "postgres",
    "host": "warehouse.example",
    "port": 6432,
    "schema": "socmon_prod",
    "login": "socmon_loader",
    "password": "from-the-connection",
}


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """A state folder whose credentials file holds other passwords than any connection."""
    monkeypatch.setenv("SOCMON_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    for role in ROLES:
        monkeypatch.delenv(f"AIRFLOW_CONN_SOCMON_WAREHOUSE_{role.upper()}", raising=False)
    settings.cache_clear()
    (tmp_path / "credentials.json").write_text(json.dumps({name: f"file-{name}" for name in ROLES.values()}))
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()


def test_a_task_connects_with_its_role_s_airflow_connection(embedded) -> None:
    embedded.setenv("AIRFLOW_CTX_DAG_ID", "socmon_extract")
    embedded.setenv("AIRFLOW_CONN_SOCMON_WAREHOUSE_LOADER", json.dumps(LOADER_CONNECTION))

    assert server.connection_params("loader") == {
        "host": "warehouse.example",
        "port": 6432,
        "dbname": "socmon_prod",
        "user": "socmon_loader",
        "password": "from-the-connection",
    }
    assert server.url("loader").endswith("@warehouse.example:6432/socmon_prod")


def test_a_task_without_its_role_s_connection_fails_naming_it_and_reads_no_file(embedded) -> None:
    embedded.setenv("AIRFLOW_CTX_DAG_ID", "socmon_publish")
    embedded.setenv("AIRFLOW_CONN_SOCMON_WAREHOUSE_LOADER", json.dumps(LOADER_CONNECTION))

    with pytest.raises(WarehouseError, match="socmon_warehouse_officer"):
        server.connection_params("officer")
    with pytest.raises(WarehouseError, match="socmon_warehouse_admin"):
        server.password("socmon")


def test_outside_airflow_the_embedded_cluster_s_file_serves(embedded) -> None:
    assert server.connection_params("officer")["password"] == "file-socmon_officer"


def test_the_harness_gives_each_dag_only_the_roles_it_names(embedded) -> None:
    every = warehouse_connections()
    assert set(every) == {f"AIRFLOW_CONN_SOCMON_WAREHOUSE_{role.upper()}" for role in ROLES}
    assert json.loads(every["AIRFLOW_CONN_SOCMON_WAREHOUSE_BI"])["password"] == "file-socmon_bi"

    embedded.setenv("AIRFLOW_CONN_SOCMON_WAREHOUSE_ADMIN", "postgres://socmon:x@h/socmon")
    env = airflow_environment(warehouse_roles=["loader"])
    assert [name for name in env if name.startswith("AIRFLOW_CONN_SOCMON_WAREHOUSE_")] == [
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_LOADER"
    ]
