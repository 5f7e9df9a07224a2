"""The DAGs parse cleanly, follow the house rules and touch nothing at parse time."""

import socket
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "socmon_extract",
    "socmon_transform",
    "socmon_publish",
    "socmon_publish_weekly",
    "socmon_publish_monthly",
    "socmon_alerts",
    "socmon_retention",
}


class ParseTimeNetworkUse(AssertionError):
    pass


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise ParseTimeNetworkUse(f"a DAG opened a connection at parse time: {args}")

    original = socket.socket.connect
    socket.socket.connect = refuse
    try:
        return DagBag(dag_folder=str(DAGS_FOLDER))
    finally:
        socket.socket.connect = original


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "socmon" in dag.tags and len(dag.tags) >= 2
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.retries >= 2, f"{dag_id}.{task.task_id} has retries={task.retries}"


def test_each_platform_is_extracted_in_its_own_pool(dagbag):
    dag = dagbag.dags["socmon_extract"]
    assert {t.task_id: t.pool for t in dag.tasks if t.task_id.startswith("extract_")} == {
        "extract_vk": "vk_api",
        "extract_ok": "ok_api",
        "extract_telegram": "telegram_api",
    }


def test_the_dags_are_chained_by_assets(dagbag):
    extract = dagbag.dags["socmon_extract"].get_task("extract_vk")
    transform = dagbag.dags["socmon_transform"]
    assert [a.uri for a in extract.outlets] == ["socmon://warehouse/raw/messages"]
    triggers = [asset.uri for asset in transform.timetable.asset_condition.objects]
    assert triggers == ["socmon://warehouse/raw/messages"]


def test_the_cycle_is_ten_minutes_by_default_and_a_slow_run_is_a_deadline_alert(dagbag):
    extract, transform = dagbag.dags["socmon_extract"], dagbag.dags["socmon_transform"]
    assert (extract.timetable.delta.total_seconds(), extract.timetable.interval.total_seconds()) == (600, 600)
    for dag in (extract, transform):
        assert dag.max_active_runs == 1
        (deadline,) = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
        assert deadline.interval.total_seconds() == 600
        assert deadline.callback.path == "socmon.cycle.slow_cycle"


def test_the_cycle_is_one_setting(monkeypatch):
    from socmon.config import settings
    from socmon.cycle import extract_schedule

    monkeypatch.setenv("SOCMON_EXTRACT_EVERY_MINUTES", "5")
    settings.cache_clear()
    try:
        schedule = extract_schedule()
        assert (schedule.delta.total_seconds(), schedule.interval.total_seconds()) == (300, 300)
    finally:
        monkeypatch.undo()
        settings.cache_clear()


def test_heavy_imports_stay_inside_tasks():
    for path in DAGS_FOLDER.glob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        for line in top_level:
            assert line.split()[1].split(".")[0] in {"pendulum", "airflow", "socmon"}, f"{path.name}: {line}"
            light = ("socmon.assets", "socmon.timezone", "socmon.constants", "socmon.cycle")
            assert "socmon" not in line or any(m in line for m in light), f"{path.name}: {line}"


def test_alerts_follow_every_transform(dagbag):
    transform = dagbag.dags["socmon_transform"].get_task("dbt_build")
    alerts = dagbag.dags["socmon_alerts"]
    assert [a.uri for a in transform.outlets] == ["socmon://warehouse/marts"]
    assert [asset.uri for asset in alerts.timetable.asset_condition.objects] == ["socmon://warehouse/marts"]


def test_each_report_waits_for_fresh_marts_passes_the_gate_then_is_exported_and_delivered(dagbag):
    schedules = {
        "socmon_publish": "0 9 * * *",
        "socmon_publish_weekly": "0 9 * * 1",
        "socmon_publish_monthly": "0 9 1 * *",
    }
    for dag_id, cron in schedules.items():
        dag = dagbag.dags[dag_id]
        assert (dag.timetable.expression, str(dag.timetable.timezone)) == (cron, "Europe/Moscow")
        assert dag.get_task("marts_cover_the_period").downstream_task_ids == {"quality_gate"}
        assert dag.get_task("quality_gate").downstream_task_ids == {"export"}
        assert dag.get_task("export").downstream_task_ids == {"deliver"}


def test_extraction_goes_to_its_platforms_celery_queue_and_the_rest_to_the_default_one(dagbag):
    """The socmon cluster policy (entry point `airflow.policy`) routes by pool, so that rate-limited
    extraction can have workers of its own; everything else stays on Celery's default queue."""
    queues = {(dag_id, task.task_id): task.queue for dag_id, dag in dagbag.dags.items() for task in dag.tasks}
    extraction = {key: queue for key, queue in queues.items() if key[1].startswith("extract_")}
    assert extraction == {
        ("socmon_extract", "extract_vk"): "vk",
        ("socmon_extract", "extract_ok"): "ok",
        ("socmon_extract", "extract_telegram"): "telegram",
    }
    assert {queue for key, queue in queues.items() if key not in extraction} == {"default"}
