"""Running the real DAGs in-process with `airflow dags test`, as the demo and the tests do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from socmon.config import settings
from socmon.constants import POOLS

WAREHOUSE_CONNECTION_PREFIX = "AIRFLOW_CONN_SOCMON_WAREHOUSE_"


class DagRunFailed(RuntimeError):
    pass


def warehouse_connections(roles: Iterable[str] | None = None) -> dict[str, str]:
    """The embedded warehouse's roles as Airflow connections (AIRFLOW_CONN_SOCMON_WAREHOUSE_<ROLE>),
    written from its credentials file: how the dev harness (`socmon demo`, the tests, `make stack`)
    gives the tasks their roles, as compose gives each worker its own. Empty without that file."""
    from socmon.warehouse import server
    from socmon.warehouse.credentials import ROLES, airflow_conn_id, has_credentials_file

    if not has_credentials_file():
        return {}
    connections = {}
    for role in ROLES if roles is None else roles:
        params = server.connection_params(role)
        connections[f"AIRFLOW_CONN_{airflow_conn_id(role).upper()}"] = json.dumps(
            {
                "conn_type": "postgres",
                "host": params["host"],
                "port": int(params["port"]),
                "schema": params["dbname"],
                "login": params["user"],
                "password": params["password"],
            }
        )
    return connections


def without_warehouse_connections(env: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if not name.startswith(WAREHOUSE_CONNECTION_PREFIX)}


def airflow_environment(
    extra: dict[str, str] | None = None, warehouse_roles: Iterable[str] | None = None
) -> dict[str, str]:
    """The environment of `airflow` commands: every role's warehouse connection of the embedded
    warehouse, or only `warehouse_roles`'."""
    s = settings()
    env = without_warehouse_connections(dict(os.environ)) if warehouse_roles is not None else dict(os.environ)
    env.update(warehouse_connections(warehouse_roles))
    env.setdefault("AIRFLOW_HOME", str(s.state_dir / "airflow"))
    env.update(
        {
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(s.project_dir / "dags"),
            "AIRFLOW__CORE__PARALLELISM": "2",
            "DO_NOT_TRACK": "1",
            # Telegram's StringSession (the connection's extra `session`) is masked like a password
            "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "session",
            "SOCMON_HOME": str(s.project_dir),
            "SOCMON_PG_DATABASE": s.database,  # this process's, also while `using_database` points it
        }
    )
    env.update(extra or {})
    return env


def _airflow(
    args: list[str], env: dict[str, str], log_file: Path | None = None
) -> subprocess.CompletedProcess:
    # beside the interpreter in a venv; on PATH in Airflow's image (installed for the airflow user)
    beside = Path(sys.executable).with_name("airflow")
    airflow = str(beside) if beside.exists() else shutil.which("airflow") or "airflow"
    result = subprocess.run([airflow, *args], env=env, capture_output=True, text=True)
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(result.stdout + result.stderr)
    return result


def ensure_airflow(env: dict[str, str]) -> None:
    """Migrate the metadata database (SQLite) and create the pools the DAGs use; once per AIRFLOW_HOME."""
    home = Path(env["AIRFLOW_HOME"])
    marker = home / ".socmon-ready"
    wanted = json.dumps({"airflow": _airflow_version(), "pools": POOLS}, sort_keys=True)
    if marker.exists() and marker.read_text() == wanted:
        return
    home.mkdir(parents=True, exist_ok=True)
    result = _airflow(["db", "migrate"], env)
    if result.returncode != 0:
        raise DagRunFailed(f"airflow db migrate failed:\n{result.stderr[-3000:]}")
    ensure_pools(env)
    marker.write_text(wanted)


def ensure_pools(env: dict[str, str]) -> None:
    """Create or resize the pools the DAGs use: a task of a missing pool stays `scheduled` for ever.
    `socmon pools` runs this in compose's airflow-init and in `make stack`."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        pools = Path(folder) / "pools.json"
        pools.write_text(
            json.dumps({name: {"slots": slots, "description": text} for name, (slots, text) in POOLS.items()})
        )
        result = _airflow(["pools", "import", str(pools)], env)
    if result.returncode != 0:
        raise DagRunFailed(f"airflow pools import failed:\n{result.stderr[-3000:]}")


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def dags_test(
    dag_id: str,
    logical_date: datetime,
    env: dict[str, str],
    conf: dict | None = None,
    log_file: Path | None = None,
) -> str:
    """Run one DAG run to the end; raise DagRunFailed with the log's tail when it does not succeed."""
    args = ["dags", "test", dag_id, logical_date.isoformat()]
    if conf:
        args += ["-c", json.dumps(conf)]
    # `airflow dags test` (3.3.2) fails on a DAG with a deadline alert (DagRun.update_state looks the
    # SDK's alerts up as if they were ids): the cycle DAGs' alert is off in runs it makes
    env = {**env, "SOCMON_CYCLE_DEADLINE_MINUTES": "0"}
    result = _airflow(args, env, log_file)
    output = result.stdout + result.stderr
    if result.returncode != 0 or "state=failed" in output or "DagRunState.FAILED" in output:
        where = f" (full log: {log_file})" if log_file else ""
        raise DagRunFailed(f"{dag_id} at {logical_date:%Y-%m-%d %H:%M} failed{where}:\n{output[-4000:]}")
    return output
