"""The bodies' time zone is named once for dbt (var `time_zone`) and once for Python."""

from pathlib import Path

import yaml

from socmon.timezone import TIME_ZONE

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def test_dbt_and_python_agree_on_the_time_zone():
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["time_zone"] == TIME_ZONE


def test_no_sql_names_the_time_zone_itself():
    for path in DBT_PROJECT.rglob("*.sql"):
        if "target" in path.relative_to(DBT_PROJECT).parts:
            continue
        assert f"'{TIME_ZONE}'" not in path.read_text(encoding="utf-8"), f"{path}: use {{{{ time_zone() }}}}"
