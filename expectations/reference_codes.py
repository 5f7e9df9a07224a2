"""The reference code sets (bodies, municipalities, categories), read from the dbt seeds.

The seeds are `domain/*.csv` copied as they are, so the CSV files are the source of truth for the codes,
and the gate can check them before dbt has ever run.
"""

from __future__ import annotations

import csv
from functools import cache

from socmon.config import settings


@cache
def reference_codes(seed: str) -> tuple[str, ...]:
    """The `code` column of `dbt_project/seeds/domain/<seed>.csv`, sorted."""
    path = settings().dbt_project_dir / "seeds" / "domain" / f"{seed}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(sorted(row["code"] for row in csv.DictReader(handle)))
