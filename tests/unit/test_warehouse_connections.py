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


def test_the_warehouse_s_secrets_are_read_through_the_settings_and_never_printed(embedded, tmp_path) -> None:
    embedded.setenv("SOCMON_PG_PASSWORD__SOCMON_TRANSFORM", "from-the-variable")  # an external server's
    embedded.setenv("SOCMON_PSEUDONYM_KEY", "the-pseudonym-key-of-the-warehouse")
    (tmp_path / "credentials.json").write_text(json.dumps({"socmon_bi": "file-socmon_bi"}))
    settings.cache_clear()

    s = settings()
    assert server.connection_params("transform")["password"] == "from-the-variable"
    assert server.password("socmon_bi") == "file-socmon_bi"
    assert server.pseudonym_key() == "the-pseudonym-key-of-the-warehouse"
    printed = f"{s!r} {s} {settings.embedded()!r}"
    for secret in ("from-the-variable", "the-pseudonym-key-of-the-warehouse", "file-socmon_bi"):
        assert secret not in printed

    embedded.setenv("SOCMON_PG_PASSWORD__SOCMON_TRANSFORM", "set-after-the-settings-were-read")
    assert server.password("socmon_transform") == "from-the-variable"  # read once
    (tmp_path / "credentials.json").write_text(json.dumps({"socmon_bi": "rewritten-by-db-up"}))
    assert server.password("socmon_bi") == "rewritten-by-db-up"  # the file again once it changed
    with pytest.raises(WarehouseError, match="SOCMON_PG_PASSWORD__SOCMON_OFFICER"):
        server.password("socmon_officer")


def test_airflow_masks_the_telegram_session_in_the_harness_s_runs(embedded) -> None:
    """The extra `session` of telegram_default (a StringSession: the whole account) is masked in task
    logs like a password, in every `airflow` command the demo and the tests run."""
    import subprocess
    import sys

    probe = (
        "from airflow.sdk._shared.secrets_masker import redact;"
        "print(redact({'session': '1BVtsOKABu0-a-string-session'}))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=airflow_environment(), capture_output=True, text=True, check=True
    ).stdout
    assert "a-string-session" not in shown and "***" in shown


def test_files_with_secrets_are_their_owner_s_only_even_under_an_open_umask(tmp_path) -> None:
    """credentials.json and initdb's password file: created 0600, never briefly world-readable."""
    import os

    from socmon.warehouse.credentials import _write_secret_file

    old = os.umask(0)
    try:
        _write_secret_file(tmp_path / "credentials.json", "{}")
        opened = tmp_path / "was-open.json"
        opened.write_text("")
        opened.chmod(0o644)
        _write_secret_file(opened, "{}")
    finally:
        os.umask(old)
    assert [(p.name, p.stat().st_mode & 0o777) for p in sorted(tmp_path.iterdir())] == [
        ("credentials.json", 0o600),
        ("was-open.json", 0o600),
    ]
