"""Where things live and how socmon is set up: one typed settings object (pydantic), read from the
environment once (`settings()`) and validated, so that a mistyped port or share fails at start, naming
the setting, instead of deep inside a run.

The warehouse's secrets are part of it, as SecretStr (no repr, log line or error message shows them):
the ones this process was given (`Settings.secrets`: SOCMON_PSEUDONYM_KEY, SOCMON_PG_PASSWORD__<ROLE>)
and the embedded cluster's credentials file (`settings.embedded()`, read again only when `socmon db up`
rewrote it). Inside an Airflow task a role's password comes from its Airflow connection instead
(socmon.warehouse.credentials), never from either."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SOURCES_PER_TASK = 50  # one mapped Airflow task reads this many sources, so thousands stay cheap
RETENTION_DAYS = 365
# the embedded warehouse's server settings, applied by `socmon db up` when it starts the server (a server
# already running keeps its own until it is restarted); each one is overridden by SOCMON_PG_<NAME>, e.g.
# SOCMON_PG_SHARED_BUFFERS=4GB. Postgres' defaults (128 MB of buffers, a checkpoint at every 1 GB of WAL)
# are sized for a small shared host: a cycle's inserts into tables and indexes of millions of rows read
# their pages back from disk and checkpointed every 15-40 s (bench/README.md). Sized for the 24 GB machine
# of the benchmarks; docker/docker-compose.yml passes the same defaults to its warehouse.
PG_SERVER_SETTINGS = {
    "shared_buffers": "2GB",  # the indexes a cycle inserts into stay in Postgres' own cache
    "effective_cache_size": "12GB",  # what the planner may count on the OS cache holding too
    "max_wal_size": "8GB",  # checkpoints by time, not by every 1 GB of WAL a cycle writes
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "512MB",  # index builds (a full refresh, the bench's copies) sort in memory
}


PSEUDONYM_KEY_VARIABLE = "SOCMON_PSEUDONYM_KEY"
PASSWORD_VARIABLE_PREFIX = "SOCMON_PG_PASSWORD__"  # + the role's name: SOCMON_PG_PASSWORD__SOCMON_BI


class WarehouseSecrets(BaseModel):
    """Passwords of the warehouse's roles (by role name: socmon, socmon_bi, ..., postgres) and the
    pseudonym key, as SecretStr: `.get_secret_value()` is the only way to read one."""

    model_config = ConfigDict(frozen=True)

    passwords: dict[str, SecretStr] = Field(default_factory=dict)
    pseudonym_key: SecretStr | None = None

    def revealed(self) -> dict[str, str]:
        """The credentials file's shape, for `socmon db up` to write it back (and nothing else)."""
        shown = {role: secret.get_secret_value() for role, secret in self.passwords.items()}
        if self.pseudonym_key is not None:
            shown["pseudonym_key"] = self.pseudonym_key.get_secret_value()
        return shown


def _guess_project_dir() -> Path:
    here = Path(__file__).resolve().parents[2]
    if (here / "dbt_project").is_dir():
        return here
    return Path.cwd()


class Settings(BaseModel):
    """socmon's settings; `settings()` says which environment variable sets each."""

    model_config = ConfigDict(frozen=True)

    project_dir: Path
    state_dir: Path
    pg_port: int = Field(ge=1, le=65535)
    pg_host: str = Field(min_length=1)
    database: str = Field(min_length=1)
    out_dir: Path
    sandbox_port: int = Field(ge=0, le=65535)
    # how long after a moment extraction has surely loaded what was published before it
    extraction_lag: timedelta = Field(ge=timedelta(0))
    # the cycle: socmon_extract runs this often, and each run's new raw data triggers a transform
    extract_every: timedelta = Field(gt=timedelta(0))
    eval_database: str = Field(min_length=1)  # `socmon eval`'s scratch database
    eval_negative_share: float = Field(ge=0, lt=1)  # the share of non-incidents in the real flow
    # a cycle's deadline alert this long after the run was queued (default: one cycle); zero: none
    cycle_deadline: timedelta = Field(ge=timedelta(0))
    sources_per_task: int = Field(ge=1)  # one mapped extraction task reads this many sources
    retention_days: int = Field(ge=1)  # raw payloads and personal data older than this are deleted
    # the embedded server's settings (PG_SERVER_SETTINGS, each overridden by SOCMON_PG_<NAME>)
    pg_server_settings: dict[str, str]
    secrets: WarehouseSecrets = WarehouseSecrets()  # the ones given in the environment

    @property
    def credentials_file(self) -> Path:
        """The embedded cluster's secrets (0600), written by `socmon db up`."""
        return self.state_dir / "credentials.json"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def registry_dir(self) -> Path:
        return self.dbt_project_dir / "seeds" / "registry"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"


def _from_environment() -> Settings:
    env = os.environ.get
    project_dir = Path(env("SOCMON_HOME") or _guess_project_dir()).resolve()
    return Settings.model_validate(
        {
            "project_dir": project_dir,
            "state_dir": env("SOCMON_STATE_DIR") or project_dir / ".socmon",
            "pg_port": env("SOCMON_PG_PORT", "5433"),
            "pg_host": env("SOCMON_PG_HOST", "127.0.0.1"),
            "database": env("SOCMON_PG_DATABASE", "socmon"),
            "out_dir": env("SOCMON_OUT_DIR") or project_dir / "out",
            "sandbox_port": env("SOCMON_SANDBOX_PORT", "8765"),
            # three 10-minute cycles: a run that failed and its retry have both had their turn
            "extraction_lag": f"PT{env('SOCMON_EXTRACTION_LAG_MINUTES', '30')}M",  # ISO 8601
            "extract_every": f"PT{env('SOCMON_EXTRACT_EVERY_MINUTES', '10')}M",
            "eval_database": env("SOCMON_EVAL_DATABASE", "socmon_eval"),
            "eval_negative_share": env("SOCMON_EVAL_NEGATIVE_SHARE", "0.85"),
            "cycle_deadline": "PT{}M".format(
                env("SOCMON_CYCLE_DEADLINE_MINUTES") or env("SOCMON_EXTRACT_EVERY_MINUTES", "10")
            ),
            "sources_per_task": env("SOCMON_SOURCES_PER_TASK") or SOURCES_PER_TASK,
            "retention_days": env("SOCMON_RETENTION_DAYS") or RETENTION_DAYS,
            "pg_server_settings": {
                name: env(f"SOCMON_PG_{name.upper()}") or default
                for name, default in PG_SERVER_SETTINGS.items()
            },
            "secrets": {
                "passwords": {
                    name.removeprefix(PASSWORD_VARIABLE_PREFIX).lower(): value
                    for name, value in os.environ.items()
                    if name.startswith(PASSWORD_VARIABLE_PREFIX) and value
                },
                "pseudonym_key": env(PSEUDONYM_KEY_VARIABLE) or None,
            },
        }
    )


def _read_credentials_file(path: Path) -> WarehouseSecrets:
    stored = json.loads(path.read_text())
    if not isinstance(stored, dict):
        raise ValueError(f"{path} is not a JSON object of the warehouse's secrets")
    key = stored.pop("pseudonym_key", None)
    return WarehouseSecrets.model_validate({"passwords": stored, "pseudonym_key": key})


class ApiSettings(BaseModel):
    """The platforms' API credentials and rates of the CLI's extraction (`socmon extract`), defaulting
    to the local sandbox; the DAG's tasks take theirs from Airflow connections instead. Read when an
    extractor is built (`api_settings()`, once per extraction run), so a test that points a platform at
    its emulator is seen."""

    model_config = ConfigDict(frozen=True)

    vk_token: SecretStr
    vk_api_url: str | None  # None: VK's own
    vk_rps: float = Field(gt=0)
    ok_application_key: str = Field(min_length=1)
    ok_access_token: SecretStr
    ok_application_secret_key: SecretStr
    ok_api_url: str | None  # None: OK's own
    ok_rps: float = Field(gt=0)
    telegram_session: SecretStr | None  # a Telethon StringSession; Telegram has no sandbox default
    telegram_api_id: int | None
    telegram_api_hash: SecretStr | None


def api_settings() -> ApiSettings:
    env = os.environ.get
    return ApiSettings.model_validate(
        {
            "vk_token": env("SOCMON_VK_TOKEN", "sandbox"),
            "vk_api_url": env("SOCMON_VK_API_URL"),
            "vk_rps": env("SOCMON_VK_RPS", "3"),
            "ok_application_key": env("SOCMON_OK_APPLICATION_KEY", "sandbox-app-key"),
            "ok_access_token": env("SOCMON_OK_ACCESS_TOKEN", "sandbox-access-token"),
            "ok_application_secret_key": env("SOCMON_OK_APPLICATION_SECRET_KEY", "sandbox-app-secret"),
            "ok_api_url": env("SOCMON_OK_API_URL"),
            "ok_rps": env("SOCMON_OK_RPS", "5"),
            "telegram_session": env("SOCMON_TELEGRAM_SESSION"),
            "telegram_api_id": env("SOCMON_TELEGRAM_API_ID"),
            "telegram_api_hash": env("SOCMON_TELEGRAM_API_HASH"),
        }
    )


class _SettingsReader:
    """`settings()`: the settings, read from the environment once per process and validated (pydantic's
    ValidationError names the setting whose variable does not fit); `using_database` points them at
    another database for a while, without touching the environment. `settings.cache_clear()` reads the
    environment again on the next call (tests that change it)."""

    def __init__(self) -> None:
        self._read: Settings | None = None
        self.database: str | None = None  # using_database's, while it lasts
        self._embedded: tuple[tuple[Path, int, int], WarehouseSecrets] | None = None

    def __call__(self) -> Settings:
        if self._read is None:
            self._read = _from_environment()
        if self.database is None:
            return self._read
        return self._read.model_copy(update={"database": self.database})

    def embedded(self) -> WarehouseSecrets | None:
        """The embedded cluster's credentials file, validated; None where there is none (an external
        server, an Airflow worker). Read once, and again only after `socmon db up` has rewritten it."""
        path = self().credentials_file
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        version = (path, stat.st_mtime_ns, stat.st_size)
        if self._embedded is None or self._embedded[0] != version:
            self._embedded = (version, _read_credentials_file(path))
        return self._embedded[1]

    def cache_clear(self) -> None:
        self._read = None
        self._embedded = None


settings = _SettingsReader()


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point socmon's settings at another database of the same cluster for the duration: the eval's
    scratch database, each integration test module's own. Process-wide (every thread sees it), and not
    in the environment: a child process socmon starts is given the database explicitly (dbt's
    connection, `airflow_environment`)."""
    previous = settings.database
    settings.database = name
    try:
        yield
    finally:
        settings.database = previous
