"""`make stack` / `make stack-down`: docker/docker-compose.yml's topology, natively, on the sandbox networks.

Redis (Debian's redis-server) as the Celery broker, the Airflow metadata database in the embedded Postgres
(its own database `socmon_airflow` and role `socmon_airflow`, next to the warehouse), the api-server
with the FAB auth manager, the scheduler, the dag-processor, the triggerer and two Celery workers with
distinct hostnames serving the default queue and the platform queues (`vk`, `ok`, `telegram`) that
socmon's cluster policy gives the extraction tasks. The VK and OK emulators are served by a process of
their own; Telegram runs in the workers through the fake client the connection names.

Every process runs in its own session; its pid is kept under `.socmon/stack/pids`, so `down` stops
exactly what `up` started. Generated secrets (Fernet key, JWT secret, the UI user's password, the
metadata role's password, Redis's password) are kept in `.socmon/stack/secrets.json` (mode 600).

Ports (all on 127.0.0.1): SOCMON_STACK_API_PORT (default 8793), SOCMON_STACK_REDIS_PORT (6389); the
triggerer's log server takes the API port + 1. The UI user is SOCMON_STACK_USER (default `admin`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

WORKERS = ("worker-1", "worker-2")
QUEUES = "default,vk,ok,telegram"
METADATA_DATABASE = "socmon_airflow"
METADATA_ROLE = "socmon_airflow"
SANDBOX_DAYS = 3
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@dataclass(frozen=True)
class StackPaths:
    root: Path

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def connections(self) -> Path:
        return self.root / "sandbox-connections.json"


def paths() -> StackPaths:
    from socmon.config import settings

    return StackPaths(settings().state_dir / "stack")


def api_port() -> int:
    return int(os.environ.get("SOCMON_STACK_API_PORT", "8793"))


def redis_port() -> int:
    return int(os.environ.get("SOCMON_STACK_REDIS_PORT", "6389"))


def api_url() -> str:
    return f"http://127.0.0.1:{api_port()}"


def user() -> str:
    return os.environ.get("SOCMON_STACK_USER", "admin")


def stack_secrets() -> dict[str, str]:
    """The stack's generated secrets, created once (mode 600) and kept across `up`s."""
    from cryptography.fernet import Fernet

    from socmon.warehouse.credentials import _write_secret_file

    path = paths().secrets
    stored = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "fernet_key": Fernet.generate_key().decode(),
        "jwt_secret": secrets.token_urlsafe(48),
        "api_secret_key": secrets.token_urlsafe(32),
        "ui_password": secrets.token_urlsafe(18),
        "metadata_password": secrets.token_urlsafe(18),
        "redis_password": secrets.token_urlsafe(18),
    }
    if wanted.keys() - stored.keys():
        stored = {**wanted, **stored}
        _write_secret_file(path, json.dumps(stored, indent=2))
    return stored


def airflow_environment(sandbox_connections: dict[str, str]) -> dict[str, str]:
    """The compose file's settings (x-airflow-common), with this machine's addresses."""
    from socmon.config import settings
    from socmon.orchestration import warehouse_connections

    s = settings()
    secret = stack_secrets()
    metadata = f"{METADATA_ROLE}:{secret['metadata_password']}@127.0.0.1:{s.pg_port}/{METADATA_DATABASE}"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(paths().airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(s.project_dir / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{metadata}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{metadata}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://:{secret['redis_password']}@127.0.0.1:{redis_port()}/0",
            "AIRFLOW__CORE__FERNET_KEY": secret["fernet_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": secret["jwt_secret"],
            "AIRFLOW__API__SECRET_KEY": secret["api_secret_key"],
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port()),
            "AIRFLOW__API__BASE_URL": api_url(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url()}/execution/",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(api_port() + 1),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # the workers' slots (2 × concurrency 2) bound the work, not the scheduler (the Makefile's 2
            # is for `airflow dags test`)
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "session",
            # a machine of 2 shared cores: the dag-processor re-reads the folder every 30 s, not 5
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "SOCMON_HOME": str(s.project_dir),
            "SOCMON_PG_PORT": str(s.pg_port),
            "SOCMON_PG_DATABASE": s.database,
            # the sandbox serves whole past days: no extraction lag applies (as in `socmon demo`)
            "SOCMON_EXTRACTION_LAG_MINUTES": "0",
            # each role's warehouse connection (socmon_warehouse_<role>), from the credentials file
            **warehouse_connections(),
            **sandbox_connections,
        }
    )
    return env


def worker_hostname() -> str:
    """Airflow's `hostname_callable` for the stack's workers: both run on this machine, and the task
    instances must say which of them ran them."""
    import socket

    return os.environ.get("SOCMON_STACK_WORKER") or socket.getfqdn()


# --- processes -------------------------------------------------------------------------------------


def _start(name: str, args: list[str], env: dict[str, str], stdin_text: str | None = None) -> int:
    p = paths()
    p.pids.mkdir(parents=True, exist_ok=True)
    p.logs.mkdir(parents=True, exist_ok=True)
    log = (p.logs / f"{name}.log").open("ab")
    process = subprocess.Popen(
        args,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    if stdin_text is not None:
        process.stdin.write(stdin_text)
        process.stdin.close()
    (p.pids / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def pid_of(name: str) -> int | None:
    path = paths().pids / f"{name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def stop(name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one process the stack started (its whole session: Airflow's children too)."""
    pid = pid_of(name)
    if pid is not None:
        for s in (sig, signal.SIGKILL):
            try:
                os.killpg(pid, s)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive_group(pid):
                time.sleep(0.2)
            if not _alive_group(pid):
                break
    (paths().pids / f"{name}.pid").unlink(missing_ok=True)


def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):  # reap a leader of our own, or it stays a zombie
        os.waitpid(pgid, os.WNOHANG)
    return Path(f"/proc/{pgid}").exists() and "zombie" not in _state(pgid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def _redis_server() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise SystemExit("redis-server is missing: `make stack` installs Debian's package with apt-get")
    return found


def _airflow(env: dict[str, str], *args: str) -> str:
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run([airflow, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-3000:]
        raise SystemExit(f"airflow {' '.join(args[:2])} failed:\n{output}")
    return result.stdout + result.stderr


def _metadata_database(fresh: bool = False) -> None:
    """The metadata role and database in the embedded cluster (as the compose file's `postgres`);
    `fresh` drops the database first."""
    from psycopg import sql

    from socmon.warehouse.credentials import bootstrap_connection

    password = stack_secrets()["metadata_password"]
    with bootstrap_connection("postgres") as conn:  # the cluster's superuser: a role and a database
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [METADATA_ROLE]).fetchone()
        conn.execute(
            sql.SQL("{} role {} login password {}").format(
                sql.SQL("alter" if exists else "create"), sql.Identifier(METADATA_ROLE), sql.Literal(password)
            )
        )
        if fresh:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(METADATA_DATABASE))
            )
        if not conn.execute("select 1 from pg_database where datname = %s", [METADATA_DATABASE]).fetchone():
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(METADATA_DATABASE), sql.Identifier(METADATA_ROLE)
                )
            )


def _wait_for(what: str, ready, timeout: float, name: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if name and pid_of(name) is None:
            raise SystemExit(f"{what}: the process stopped; see {paths().logs / (name + '.log')}")
        time.sleep(1)
    raise SystemExit(f"{what}: not ready after {timeout:.0f}s; see {paths().logs}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _redis_ping() -> bool:
    import redis

    try:
        client = redis.Redis(port=redis_port(), password=stack_secrets()["redis_password"], socket_timeout=2)
        return bool(client.ping())
    except redis.RedisError:
        return False


def up(fresh: bool = False) -> None:
    """Start the whole topology (idempotent: what is already running is left alone), then unpause the
    DAGs. `fresh` (the deployment test) starts from a new, empty metadata database and leaves the DAGs
    paused, so that the caller decides what runs."""
    from socmon.warehouse import server

    started = time.monotonic()
    server.up()
    secret = stack_secrets()
    p = paths()
    if fresh and not any(pid_of(name) for name in (*WORKERS, "scheduler", "api-server", "redis")):
        shutil.rmtree(p.logs, ignore_errors=True)  # this session's logs only

    if pid_of("redis") is None:
        # the configuration on stdin (`redis-server -`), so the password is in no process listing
        config = f"bind 127.0.0.1\nport {redis_port()}\nrequirepass {secret['redis_password']}\n"
        _start("redis", [_redis_server(), "-"], dict(os.environ), config + 'save ""\nappendonly no\n')
    _wait_for("redis", _redis_ping, 20, "redis")

    if pid_of("sandbox") is None:
        p.connections.unlink(missing_ok=True)
        _start("sandbox", [sys.executable, "-m", "socmon_sandbox.stack", "serve-sandbox"], dict(os.environ))
    _wait_for("the sandbox networks", p.connections.exists, 120, "sandbox")
    env = airflow_environment(json.loads(p.connections.read_text()))

    _metadata_database(fresh)
    _airflow(env, "db", "migrate")
    airflow = str(Path(sys.executable).with_name("airflow"))
    components = {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port()), "-w", "1"],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer"],
    }
    for name, args in components.items():
        if pid_of(name) is None:
            _start(name, args, env)
    for worker in WORKERS:
        start_worker(worker, env)
    # while the components start: the pools (before any task is scheduled) and the UI's admin
    _airflow(env, "pools", "import", str(_pools_file()))
    created = _airflow(
        env,
        "users",
        "create",
        "--username",
        user(),
        # one argument with its value: a generated password may start with "-", an option to argparse
        f"--password={secret['ui_password']}",
        "--firstname",
        "socmon",
        "--lastname",
        "admin",
        "--role",
        "Admin",
        "--email",
        f"{user()}@example.org",
    )
    if "already exist" in created:
        _airflow(env, "users", "reset-password", "--username", user(), f"--password={secret['ui_password']}")
    _wait_for("the api-server", lambda: _http_ok(f"{api_url()}/api/v2/monitor/health"), 180, "api-server")
    if not fresh:
        api = Api.login()
        _wait_for("the DAGs parsed", lambda: len(api.dag_ids()) >= 4, 180, "dag-processor")
        for dag_id in api.dag_ids():
            api.unpause(dag_id)
    print(
        f"stack up in {time.monotonic() - started:.0f}s: UI {api_url()} (user {user()!r}, password in "
        f"{p.secrets}), workers {', '.join(WORKERS)}, logs in {p.logs}",
        flush=True,
    )


class Api:
    """The stack's REST API (Airflow 3, /api/v2) with a JWT from /auth/token (FAB users)."""

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def login(cls, username: str | None = None, password: str | None = None) -> Api:
        answer = _request(
            "POST",
            "/auth/token",
            {"username": username or user(), "password": password or stack_secrets()["ui_password"]},
        )
        return cls(answer["access_token"])

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        return _request(method, path, body, self.token)

    def dag_ids(self) -> list[str]:
        return [dag["dag_id"] for dag in self.call("GET", "/api/v2/dags?limit=100")["dags"]]

    def next_logical_date(self, dag_id: str) -> str | None:
        """The logical date the scheduler will give the DAG's next scheduled run: a manual run given
        this date takes its place (the scheduler skips a date that already has a run)."""
        return self.call("GET", f"/api/v2/dags/{dag_id}")["next_dagrun_logical_date"]

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(
        self, dag_id: str, conf: dict | None = None, logical_date: datetime | str | None = None
    ) -> str:
        if isinstance(logical_date, datetime):
            logical_date = logical_date.isoformat()
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-start_date&limit=50")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=100"
        return self.call("GET", path)["task_instances"]


def _request(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(api_url() + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def start_worker(worker: str, env: dict[str, str] | None = None) -> None:
    if pid_of(worker) is not None:
        return
    if env is None:
        env = airflow_environment(json.loads(paths().connections.read_text()))
    airflow = str(Path(sys.executable).with_name("airflow"))
    _start(
        worker,
        [
            airflow,
            "celery",
            "worker",
            "--celery-hostname",
            f"{worker}@%h",
            "--queues",
            QUEUES,
            "--concurrency",
            "2",
            "--skip-serve-logs",
        ],
        {
            **env,
            "SOCMON_STACK_WORKER": worker,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socmon_sandbox.stack.worker_hostname",
        },
    )


def _pools_file() -> Path:
    from socmon.constants import POOLS

    path = paths().root / "pools.json"
    path.write_text(
        json.dumps({name: {"slots": slots, "description": text} for name, (slots, text) in POOLS.items()})
    )
    return path


def down() -> None:
    """Stop everything `up` started, workers first (warm shutdown), Redis and the sandbox last."""
    for name in (*WORKERS, "scheduler", "triggerer", "dag-processor", "api-server", "sandbox", "redis"):
        stop(name)
    print("stack down", flush=True)


def serve_sandbox() -> None:
    """The VK and OK emulators over the last SANDBOX_DAYS whole days (Moscow), until stopped."""
    from socmon.timezone import MOSCOW
    from socmon_sandbox import running_sandbox

    first_day = datetime.now(MOSCOW).date() - timedelta(days=SANDBOX_DAYS)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with running_sandbox(first_day, SANDBOX_DAYS) as sandbox:
        target = paths().connections
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(sandbox.connections))
        partial.replace(target)
        while not stopping:
            time.sleep(0.5)
    target.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    summary = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m socmon_sandbox.stack", description=summary)
    parser.add_argument("command", choices=["up", "down", "serve-sandbox"])
    parser.add_argument("--fresh", action="store_true", help="up: a new metadata database, DAGs left paused")
    args = parser.parse_args(argv)
    if args.command == "up":
        up(fresh=args.fresh)
    else:
        {"down": down, "serve-sandbox": serve_sandbox}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
