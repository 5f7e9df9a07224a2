"""`socmon transform`: dbt build as the transform role, in-process through dbt's programmatic runner."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence

from socmon.config import settings
from socmon.warehouse import server

log = logging.getLogger(__name__)


def dbt_environment() -> dict[str, str]:
    params = server.connection_params("transform")
    return {
        "SOCMON_PG_HOST": str(params["host"]),
        "SOCMON_PG_PORT": str(params["port"]),
        "SOCMON_PG_DATABASE": str(params["dbname"]),
        "SOCMON_DBT_USER": str(params["user"]),
        "SOCMON_DBT_PASSWORD": str(params["password"]),
        "DO_NOT_TRACK": "1",
    }


def run_dbt(args: Sequence[str], dbt_vars: dict | None = None) -> None:
    """Run one dbt command (e.g. ["build"]) against the warehouse; raise when it fails."""
    from dbt.cli.main import dbtRunner

    project = settings().dbt_project_dir
    os.environ.update(dbt_environment())
    cli_args = [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dbt_vars)]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(cli_args)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log above'}")


def build(select: str | None = None, full_refresh: bool = False, dbt_vars: dict | None = None) -> None:
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    run_dbt(args, dbt_vars)
