"""dbt in a process of its own, given its settings explicitly.

dbt reads its connection from profiles.yml, and a profile can read only environment variables
(`env_var`); dbt's programmatic runner (`dbtRunner`) takes them from `os.environ` and from nowhere else.
So that socmon never writes its process's environment (which every thread and later call would
inherit), each dbt command runs in a child process with an environment built for it: the connection
of the transform role from `settings()` and the credentials, the few variables a program needs (PATH,
HOME, locale), and dbt's own `DBT_*` settings; nothing else of ours (no pseudonym key, no other
role's password). The child starts in about the time an in-process import of dbt takes, and keeps
partial parsing (target/partial_parse.msgpack), since the profile and vars stay the same between runs
(bench/dbt_process.py measures it).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from socmon.config import settings
from socmon.warehouse import server

log = logging.getLogger(__name__)

# what dbt needs of the calling process's environment; dbt's own settings (DBT_*) pass too
DBT_MAIN = "import sys; from dbt.cli.main import cli; sys.exit(cli())"  # what the `dbt` script runs
PASSED_THROUGH = frozenset(
    {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SOCMON_DBT_TARGET"}
)


def dbt_environment() -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads: the transform role's connection."""
    params = server.connection_params("transform")
    return {
        "SOCMON_PG_HOST": str(params["host"]),
        "SOCMON_PG_PORT": str(params["port"]),
        "SOCMON_PG_DATABASE": str(params["dbname"]),
        "SOCMON_DBT_USER": str(params["user"]),
        "SOCMON_DBT_PASSWORD": str(params["password"]),
        "DO_NOT_TRACK": "1",
    }


def child_environment(parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a dbt process: what it needs of `parent` (os.environ) and the profile's."""
    parent = os.environ if parent is None else parent
    passed = {k: v for k, v in parent.items() if k in PASSED_THROUGH or k.startswith("DBT_")}
    return {**passed, **dbt_environment()}


def dbt_command(args: Sequence[str], dbt_vars: dict | None = None, project: Path | None = None) -> list[str]:
    """The command line of one dbt command on `project` (the project's own dbt_project by default)."""
    project = project or settings().dbt_project_dir
    command = [sys.executable, "-c", DBT_MAIN, *args]
    command += ["--project-dir", str(project), "--profiles-dir", str(project)]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    return command


def invoke_dbt(args: Sequence[str], dbt_vars: dict | None = None, project: Path | None = None) -> None:
    """Run one dbt command; its output goes where this process's goes. Raise when it fails."""
    log.info("dbt %s", " ".join(args))
    result = subprocess.run(dbt_command(args, dbt_vars, project), env=child_environment(), check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {result.returncode}): see the dbt log above")
