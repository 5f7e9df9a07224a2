"""Tests run against their own databases in the embedded cluster (`socmon_test` by default; each
integration module gets `socmon_test_<module>`, see tests/integration/conftest.py), and write reports
and Airflow state to temporary folders, so they never touch the demo's data."""

import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="socmon-tests-"))
os.environ["SOCMON_PG_DATABASE"] = "socmon_test"
os.environ["SOCMON_OUT_DIR"] = str(_TMP / "out")
os.environ["AIRFLOW_HOME"] = str(_TMP / "airflow")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[1] / "dags")
