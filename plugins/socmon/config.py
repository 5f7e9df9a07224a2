"""Where things live: the project folder, the state folder and the settings read from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path


def _guess_project_dir() -> Path:
    here = Path(__file__).resolve().parents[2]
    if (here / "dbt_project").is_dir():
        return here
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    state_dir: Path
    pg_port: int
    pg_host: str
    database: str
    out_dir: Path
    sandbox_port: int
    # how long after a moment extraction has surely loaded what was published before it
    extraction_lag: timedelta
    # the cycle: socmon_extract runs this often, and each run's new raw data triggers a transform
    extract_every: timedelta

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
    project_dir = Path(os.environ.get("SOCMON_HOME") or _guess_project_dir()).resolve()
    return Settings(
        project_dir=project_dir,
        state_dir=Path(os.environ.get("SOCMON_STATE_DIR") or project_dir / ".socmon"),
        pg_port=int(os.environ.get("SOCMON_PG_PORT", "5433")),
        pg_host=os.environ.get("SOCMON_PG_HOST", "127.0.0.1"),
        database=os.environ.get("SOCMON_PG_DATABASE", "socmon"),
        out_dir=Path(os.environ.get("SOCMON_OUT_DIR") or project_dir / "out"),
        sandbox_port=int(os.environ.get("SOCMON_SANDBOX_PORT", "8765")),
        # three 10-minute cycles: a run that failed and its retry have both had their turn
        extraction_lag=timedelta(minutes=int(os.environ.get("SOCMON_EXTRACTION_LAG_MINUTES", "30"))),
        extract_every=timedelta(minutes=float(os.environ.get("SOCMON_EXTRACT_EVERY_MINUTES", "10"))),
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
