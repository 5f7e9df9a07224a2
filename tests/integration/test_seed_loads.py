"""A cycle loads a seed only when its file changed since it was last loaded (ops.seed_loads); the rules'
version changes when a rule seed or a classifier model's SQL changes, and only then.

Runs on a copy of the dbt project (its seed and model files are edited here), against this module's database.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from socmon.config import settings
from socmon.dbt_process import invoke_dbt
from socmon.transform import sync_seeds, warehouse_lock

pytestmark = pytest.mark.integration

CHANGED = "non_incident_reasons"  # a small seed, given a new column
UNCHANGED = ["categories", "executive_bodies", "working_calendar"]


@pytest.fixture(scope="module")
def project_copy(warehouse, tmp_path_factory, request) -> Path:
    """SOCMON_HOME pointing at a copy of the project's dbt folder; the state folder stays the real one."""
    original = settings()
    home = tmp_path_factory.mktemp("project")
    shutil.copytree(
        original.dbt_project_dir, home / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    patch = pytest.MonkeyPatch()
    patch.setenv("SOCMON_HOME", str(home))
    patch.setenv("SOCMON_STATE_DIR", str(original.state_dir))
    settings.cache_clear()
    yield home
    patch.undo()
    settings.cache_clear()


def _identities(admin, seeds: list[str]) -> dict[str, int]:
    """Each seed table's oid: a reload recreates the table (the seeds' +full_refresh), so it changes."""
    return {
        seed: admin.execute("select %s::regclass::oid", [f"staging.{seed}"]).fetchone()[0] for seed in seeds
    }


def _runs(admin) -> int:
    return admin.execute("select count(*) from ops.transform_runs").fetchone()[0]


def test_a_seed_is_reloaded_when_its_file_changes_and_only_then(project_copy: Path, admin) -> None:
    with warehouse_lock("test_seed_loads"):
        first = sync_seeds()
    assert set(first) >= {CHANGED, *UNCHANGED}, "a fresh database loads every seed"
    before = _identities(admin, [CHANGED, *UNCHANGED])
    runs = _runs(admin)

    with warehouse_lock("test_seed_loads"):
        assert sync_seeds() == []
    assert _identities(admin, [CHANGED, *UNCHANGED]) == before, "an unchanged seed was reloaded"
    assert _runs(admin) == runs, "nothing changed, yet dbt ran"

    seed = next((project_copy / "dbt_project" / "seeds").rglob(f"{CHANGED}.csv"))
    lines = seed.read_text(encoding="utf-8").splitlines()
    seed.write_text(
        "\n".join([lines[0] + ",reviewed"] + [line + ",true" for line in lines[1:]]) + "\n", encoding="utf-8"
    )
    with warehouse_lock("test_seed_loads"):
        assert sync_seeds() == [CHANGED]
    after = _identities(admin, [CHANGED, *UNCHANGED])
    assert after[CHANGED] != before[CHANGED]
    assert {s: after[s] for s in UNCHANGED} == {s: before[s] for s in UNCHANGED}
    reviewed = admin.execute(f"select count(*) from staging.{CHANGED} where reviewed").fetchone()[0]
    assert reviewed == len(lines) - 1, "the new column was not loaded"

    admin.execute("drop table staging.working_calendar cascade")  # a seed table gone: loaded again
    with warehouse_lock("test_seed_loads"):
        assert sync_seeds() == ["working_calendar"]


def _rule_version(project: Path) -> str:
    """The rules' version compiled into int_messages_classified (the rows it writes carry it)."""
    invoke_dbt(["compile", "--quiet", "--select", "int_messages_classified"], project=project / "dbt_project")
    compiled = next((project / "dbt_project" / "target" / "compiled").rglob("int_messages_classified.sql"))
    return re.search(r"rules-[0-9a-f]{12}", compiled.read_text(encoding="utf-8")).group()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_rules_version_follows_the_rules_and_not_how_a_model_runs(project_copy: Path) -> None:
    """A new version re-classifies every stored message (holds_other_rule_version): a year of them at 10M.
    An index or a planner setting must not cost that on deploy; a rule or the classifying SQL must."""
    models = project_copy / "dbt_project" / "models" / "intermediate"
    with warehouse_lock("test_seed_loads"):
        sync_seeds()
    before = _rule_version(project_copy)

    _edit(models / "int_messages_classified.sql", "{'columns': ['published_at']},", "")  # an index fewer
    _edit(models / "int_message_tokens.sql", "config(", "config(\n        post_hook=['analyze {{ this }}'],")
    _edit(models / "int_message_municipalities.sql", "{{", "{# reviewed #}\n{{")  # a Jinja comment
    assert _rule_version(project_copy) == before, "a change of config or comments re-classifies everything"

    _edit(models / "int_message_report_scores.sql", "select", "select distinct")
    changed_sql = _rule_version(project_copy)
    assert changed_sql != before, "the classifying SQL changed, yet the rules kept their version"

    seed = next((project_copy / "dbt_project" / "seeds").rglob("relayed_message_markers.csv"))
    seed.write_text(seed.read_text(encoding="utf-8") + '"\\mчитатели пишут\\M",relayed\n', encoding="utf-8")
    with warehouse_lock("test_seed_loads"):
        assert sync_seeds() == ["relayed_message_markers"]
    assert _rule_version(project_copy) not in {before, changed_sql}, "a rule seed changed, not the version"
