"""The warehouse for integration tests: one fresh database per test module, and a fixed clock.

Each module gets its own database, `socmon_test_<module>` (e.g. `socmon_test_pipeline`), dropped and
created again when the module starts, so no module depends on another's tables or on the order they
run in. socmon finds its database in SOCMON_PG_DATABASE through the cached `settings()`: the `warehouse`
fixture sets that variable for the module and clears the cache, and puts both back afterwards (dbt and
`airflow dags test` subprocesses inherit the variable).

Tests do not read the wall clock. Postgres stamps `loaded_at` with `now()` when a row is loaded, and
staging takes a message's `detected_at` from it, so a test that builds the marts pins the load time with
`loads_stamped(conn, at)`, and passes var `as_of_at` to dbt for the SLA and compliance evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pytest
from psycopg import sql

from socmon.config import using_database
from socmon.warehouse import loader, roles, server
from socmon.warehouse.credentials import bootstrap_connection


@pytest.fixture(scope="session")
def cluster():
    """The embedded Postgres cluster of SOCMON_PG_PORT, started once for the session."""
    server.up()
    return server


def module_database(module_name: str) -> str:
    """`tests.integration.test_pipeline` → `socmon_test_pipeline`."""
    return "socmon_test_" + module_name.rsplit(".", 1)[-1].removeprefix("test_")


def recreate_database(name: str) -> None:
    """Drop `name` if it exists, then create it with the three roles' grants and the raw schema."""
    with bootstrap_connection("postgres") as conn:  # the cluster's superuser, as `socmon db up` bootstraps
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    with using_database(name):
        roles.ensure_database(server.credentials())


@pytest.fixture(scope="module")
def warehouse(cluster, request) -> Iterator:
    """A fresh database of this module's own (`socmon_test_<module>`), with the roles and the raw schema;
    `settings().database` names it while the module runs. Yields socmon.warehouse.server."""
    name = module_database(request.module.__name__)
    recreate_database(name)
    # the environment too, for the programs a test starts itself (the socmon CLI, airflow)
    with using_database(name), pytest.MonkeyPatch.context() as env:
        env.setenv("SOCMON_PG_DATABASE", name)
        yield cluster


@pytest.fixture
def admin(warehouse):
    with warehouse.connect("admin", autocommit=True) as conn:
        yield conn


@pytest.fixture
def empty_raw(admin):
    loader.empty_raw(admin)
    # the threads of the module's earlier worlds, which the extractors would try to re-read
    admin.execute("drop view if exists casework.open_incident_threads")
    return admin


@pytest.fixture
def only_the_role():
    """`with only_the_role("transform"): ...`: see `holding_only`."""
    return holding_only


@contextmanager
def holding_only(role: str) -> Iterator[None]:
    """Inside the block this process holds one role's credentials only, as a task holding only its
    Airflow connection does (socmon_warehouse_<role>): a connection as any other role fails, naming it."""
    from socmon.orchestration import WAREHOUSE_CONNECTION_PREFIX, warehouse_connections

    connections = warehouse_connections([role])
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith(WAREHOUSE_CONNECTION_PREFIX)]:
            env.delenv(name)
        env.setenv("AIRFLOW_CTX_DAG_ID", "socmon_cli_job")  # no credentials file, as in a task
        for name, value in connections.items():
            env.setenv(name, value)
        yield


@contextmanager
def loads_stamped(conn: psycopg.Connection, at: datetime) -> Iterator[None]:
    """Rows loaded into raw inside the block are stamped as loaded `at` (their `loaded_at`, and the
    `detected_at` of deleted-post marks), instead of the wall-clock time of the test run. `conn` is an
    owner connection in autocommit mode."""
    started = conn.execute("select clock_timestamp()").fetchone()[0]
    yield
    stamped = conn.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'raw' and column_name in ('loaded_at', 'detected_at')"
    ).fetchall()
    for table, column in stamped:
        conn.execute(
            sql.SQL("update raw.{table} set {column} = %s where {column} >= %s").format(
                table=sql.Identifier(table), column=sql.Identifier(column)
            ),
            [at, started],
        )


@pytest.fixture(scope="session")
def stamp_loads():
    """`with stamp_loads(conn, at): ...` — see `loads_stamped`."""
    return loads_stamped
