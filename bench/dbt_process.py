"""The fixed cost of a dbt command: in its own process with its settings given (socmon.dbt_process, now)
against in-process through dbtRunner after writing os.environ (before issue 15), same run.

Each sample is a fresh Python process, as each Airflow task is: it imports what the path needs, then
runs a parse and a one-view `dbt run` (what a cycle does: one parse, then the build; the build here is
tiny so that the fixed cost is what is measured). Both paths keep partial parsing. Alternates the two
paths ROUNDS times and prints the medians and their ratio (new / old).

    SOCMON_PG_PORT=... .venv/bin/python bench/dbt_process.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 5
SELECT = ["run", "--select", "stg_vk__groups", "--quiet"]

IN_PROCESS = f"""
import os
from socmon.config import settings
from socmon.dbt_process import dbt_environment
from dbt.cli.main import dbtRunner
os.environ.update(dbt_environment())
project = str(settings().dbt_project_dir)
paths = ["--project-dir", project, "--profiles-dir", project]
parsed = dbtRunner().invoke(["parse", "--quiet", *paths])
assert parsed.success
assert dbtRunner(manifest=parsed.result).invoke([*{SELECT!r}, *paths]).success
"""

OWN_PROCESS = f"""
from socmon.dbt_process import invoke_dbt
invoke_dbt({SELECT!r})
"""


def seconds(program: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", program], check=True)
    return time.monotonic() - started


def main() -> None:
    seconds(OWN_PROCESS)  # warm: the partial parse file and the page cache
    old, new = [], []
    for _ in range(ROUNDS):
        old.append(seconds(IN_PROCESS))
        new.append(seconds(OWN_PROCESS))
    old_median, new_median = statistics.median(old), statistics.median(new)
    for name, samples, median in (
        ("in-process, os.environ written", old, old_median),
        ("own process", new, new_median),
    ):
        print(f"{name:31} {median:.2f} s (median of {ROUNDS}: {', '.join(f'{s:.1f}' for s in samples)})")
    print(f"ratio own / in-process: {new_median / old_median:.2f}")


if __name__ == "__main__":
    main()
