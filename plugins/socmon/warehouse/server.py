"""The embedded Postgres 15 cluster behind `socmon db up|down|url`.

The cluster lives in `.socmon/pg` and listens on 127.0.0.1 only. Postgres refuses to run as root, so
when socmon runs as root the server runs as the `postgres` user; if that user cannot reach the
checkout (root's home is mode 700), the data directory moves to /tmp/socmon-<hash of the checkout>
and `.socmon/pg` links to it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from socmon.config import settings
from socmon.warehouse.credentials import (
    OWNER,
    ROLES,
    SUPERUSER,
    WarehouseError,
    _ensure_credentials,
    _write_secret_file,
    airflow_connection_params,
    bootstrap_connection,
    credentials,
    password,
    pseudonym_key,
)
from socmon.warehouse.roles import ensure_database

__all__ = [  # the roles and secrets, re-exported for `server.credentials()` and the like
    "OWNER",
    "ROLES",
    "WarehouseError",
    "credentials",
    "password",
    "pseudonym_key",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    data_dir: Path
    run_as: str | None  # None: the current user

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"


def pg_bindir() -> Path:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(out.stdout.strip())
    except (FileNotFoundError, subprocess.CalledProcessError):
        bindir = Path("/usr/lib/postgresql/15/bin")
    if not (bindir / "initdb").exists():
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
        raise WarehouseError(
            "Postgres server binaries (initdb, pg_ctl) are missing: run `make setup`, "
            "which installs postgresql-15 with apt-get."
        )
    return bindir


def _traversable_by(user: str, path: Path) -> bool:
    uid = pwd.getpwnam(user).pw_uid
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == uid:
            continue
        if not st.st_mode & 0o001:
            return False
    return True


def cluster() -> Cluster:
    state = settings().state_dir
    link = state / "pg"
    if os.geteuid() != 0:
        return Cluster(data_dir=link, run_as=None)
    if link.is_symlink() or _traversable_by("postgres", state):
        return Cluster(data_dir=link.resolve() if link.is_symlink() else link, run_as="postgres")
    key = hashlib.sha1(str(settings().project_dir).encode()).hexdigest()[:12]
    return Cluster(data_dir=Path(f"/tmp/socmon-{key}") / "pg", run_as="postgres")


def _run(cl: Cluster, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    cmd = ["runuser", "-u", cl.run_as, "--", *args] if cl.run_as else args
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def url(role: str) -> str:
    params = connection_params(role)
    secret = quote(str(params["password"]), safe="")
    return f"postgresql://{params['user']}:{secret}@{params['host']}:{params['port']}/{params['dbname']}"


def where() -> str:
    """Where the warehouse is, without any password (what `db up`/`db init` print)."""
    s = settings()
    return (
        f"warehouse ready at {s.pg_host}:{s.pg_port}/{s.database}; "
        "`socmon db url --role bi|officer|loader|transform|admin` prints a role's URL"
    )


def connection_params(role: str) -> dict[str, str | int]:
    """Where and as whom `role` connects: its Airflow connection in a task (socmon_warehouse_<role>),
    otherwise the settings and the role's password (credentials file or variable)."""
    if from_airflow := airflow_connection_params(role):
        return from_airflow
    s = settings()
    user = ROLES[role]
    return {
        "host": s.pg_host,
        "port": s.pg_port,
        "dbname": s.database,
        "user": user,
        "password": password(user),
    }


def connect(role: str, **kwargs: Any) -> psycopg.Connection:
    """A connection as `role` (a key of ROLES): every caller names the least role it needs; there is no
    default, least of all the owner."""
    params: dict[str, Any] = {**connection_params(role), **kwargs}
    return psycopg.connect(**params)


def is_running() -> bool:
    cl = cluster()
    if not (cl.data_dir / "PG_VERSION").exists():
        return False
    return _run(cl, [str(pg_bindir() / "pg_ctl"), "status", "-D", str(cl.data_dir)]).returncode == 0


def _initdb(cl: Cluster, creds: dict[str, str]) -> None:
    log.info("initialising a Postgres cluster in %s", cl.data_dir)
    cl.data_dir.parent.mkdir(parents=True, exist_ok=True)
    if cl.run_as:
        shutil.chown(cl.data_dir.parent, user=cl.run_as)
    pwfile = cl.data_dir.parent / ".initdb-pw"
    _write_secret_file(pwfile, creds[SUPERUSER])
    if cl.run_as:
        shutil.chown(pwfile, user=cl.run_as)
    try:
        result = _run(
            cl,
            [
                str(pg_bindir() / "initdb"),
                "-D",
                str(cl.data_dir),
                "-U",
                SUPERUSER,  # bootstraps only: `ensure_database` makes the owner, no superuser
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise WarehouseError(f"initdb failed:\n{result.stderr}")
    link = settings().state_dir / "pg"
    if cl.data_dir != link and not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(cl.data_dir)


def server_options() -> list[str]:
    """The server settings `up` starts Postgres with (settings().pg_server_settings), as pg_ctl's -o."""
    # pg_ctl runs the server through the shell: each setting is one quoted word
    return [f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings().pg_server_settings.items()]


def up() -> str:
    """Start the cluster (creating it on first use), then make sure roles and schemas exist."""
    s = settings()
    cl = cluster()
    creds = _ensure_credentials()
    if not (cl.data_dir / "PG_VERSION").exists():
        _initdb(cl, creds)
    if not is_running():
        log.info("starting Postgres on %s:%s", s.pg_host, s.pg_port)
        options = " ".join(
            [
                f"-c listen_addresses={s.pg_host} -p {s.pg_port} -k {cl.data_dir.parent}",
                *server_options(),
            ]
        )
        result = _run(
            cl,
            [
                str(pg_bindir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(cl.data_dir),
                "-l",
                str(cl.log_file),
                "-o",
                options,
            ],
        )
        if result.returncode != 0:
            tail = cl.log_file.read_text()[-2000:] if cl.log_file.exists() else ""
            raise WarehouseError(f"Postgres did not start:\n{result.stderr}\n{tail}")
    _wait_until_ready()
    ensure_database(creds)
    return where()


def _wait_until_ready(timeout: float = 30) -> None:
    s = settings()
    deadline = time.monotonic() + timeout
    while True:
        try:
            bootstrap_connection("postgres").close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise WarehouseError(f"Postgres is not answering on port {s.pg_port}: {exc}") from exc
            time.sleep(0.3)


def down() -> None:
    cl = cluster()
    if is_running():
        log.info("stopping Postgres")
        _run(cl, [str(pg_bindir() / "pg_ctl"), "stop", "-m", "fast", "-D", str(cl.data_dir)])
