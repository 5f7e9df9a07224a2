"""Where things live and how socmon is set up: one typed settings object (pydantic), read from the
environment once (`settings()`) and validated, so that a mistyped port or share fails at start, naming
the setting, instead of deep inside a run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


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

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def registry_dir(self) -> Path:
        return self.dbt_project_dir / "seeds" / "registry"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"


@cache
def settings() -> Settings:
    """The settings, read once per process (`using_database` re-reads them); raises pydantic's
    ValidationError naming the setting whose variable does not fit."""
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
        }
    )


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point socmon's settings (and the subprocesses it starts) at another database of the same cluster
    for the duration: the eval's scratch database, each integration test module's own."""
    previous = os.environ.get("SOCMON_PG_DATABASE")
    os.environ["SOCMON_PG_DATABASE"] = name
    settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOCMON_PG_DATABASE", None)
        else:
            os.environ["SOCMON_PG_DATABASE"] = previous
        settings.cache_clear()
