"""The production topology, running: `make stack` (Redis, Postgres metadata, api-server, scheduler,
dag-processor, triggerer, two Celery workers, FAB auth) on the sandbox networks, driven like an operator
would drive it: the REST API with a JWT, and the UI in a real browser.

`socmon_extract` is triggered through /api/v2 for the sandbox's three days; `socmon_transform` must start
by itself from the Asset the extraction emits. While the transform runs, one worker is killed (SIGKILL,
its whole process group); `socmon_publish` is then triggered for yesterday and must complete, with the
exports on disk, on the surviving worker. Both workers must have executed tasks before the kill.

Run with `make test-deployment` (CI runs it after `make test`); it starts the stack itself and stops
everything it started. It refuses to run over a stack that is already up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from socmon.config import settings, using_database
from socmon.timezone import MOSCOW
from socmon.warehouse import roles, server
from socmon_sandbox import stack

pytestmark = pytest.mark.deployment

DATABASE = "socmon_test_deployment"
THE_THREE_DAGS = ("socmon_extract", "socmon_transform", "socmon_publish")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


def _recreate_warehouse_database() -> None:
    creds = server.credentials()
    params = {**server.connection_params("admin"), "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE)))
    with using_database(DATABASE):
        roles.ensure_database(creds)


def _stack_command(command: str, *args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "socmon_sandbox.stack", command, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"stack {command} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    """The stack on a warehouse database of its own, reports in a temporary folder; stopped at the end."""
    running = [name for name in (*stack.WORKERS, "api-server", "scheduler", "redis") if stack.pid_of(name)]
    if running:
        pytest.fail(f"a stack is already running ({', '.join(running)}): `make stack-down` first")
    server.up()
    _recreate_warehouse_database()
    out_dir = tmp_path_factory.mktemp("reports")
    env = {**os.environ, "SOCMON_PG_DATABASE": DATABASE, "SOCMON_OUT_DIR": str(out_dir)}
    try:
        _stack_command("up", "--fresh", env=env)
        with using_database(DATABASE):
            yield out_dir
    finally:
        _stack_command("down", env=env)


@pytest.fixture(scope="module")
def api(running_stack) -> stack.Api:
    api = stack.Api.login()
    _wait("the DAGs parsed", lambda: set(THE_THREE_DAGS) <= set(api.dag_ids()), 180)
    return api


def _wait(what: str, condition, timeout: float, every: float = 3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not after {timeout:.0f}s (logs: {stack.paths().logs})")


def _finished(api: stack.Api, dag_id: str, run_id: str, timeout: float) -> dict:
    def done():
        run = api.run(dag_id, run_id)
        return run if run["state"] in ("success", "failed") else None

    run = _wait(f"{dag_id} {run_id} finished", done, timeout)
    states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in api.task_instances(dag_id, run_id)}
    assert run["state"] == "success", f"{dag_id} {run_id}: {states}"
    return run


def _hosts(api: stack.Api, dag_id: str, run_id: str) -> dict[str, str]:
    return {
        f"{ti['task_id']}[{ti['map_index']}]": ti["hostname"]
        for ti in api.task_instances(dag_id, run_id)
        if ti["state"] == "success"
    }


@pytest.fixture(scope="module")
def pipeline(api, running_stack):
    """Extract (triggered through the API), transform (started by the Asset, a worker killed meanwhile),
    publish (triggered for the day its schedule is due); returns what each run did and where."""
    today = datetime.now(MOSCOW).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {
        "window_start": (today - timedelta(days=stack.SANDBOX_DAYS)).isoformat(),
        "window_end": today.isoformat(),
    }
    # Each run takes the date of the run that unpausing would schedule, which the scheduler then skips:
    # no second extraction, and no second transform queued ahead of ours.
    extract_run = api.trigger(
        "socmon_extract", conf=window, logical_date=api.next_logical_date("socmon_extract")
    )
    api.unpause("socmon_transform")
    api.unpause("socmon_extract")
    _finished(api, "socmon_extract", extract_run, 300)

    triggered_at = api.run("socmon_extract", extract_run)["queued_at"]

    def transform_after_extraction():
        runs = [
            run
            for run in api.runs("socmon_transform")
            if run["run_type"] == "asset_triggered" and run["queued_at"] > triggered_at
        ]
        return min(runs, key=lambda run: run["queued_at"]) if runs else None

    transform = _wait("socmon_transform triggered by the Asset", transform_after_extraction, 120)

    def dbt_running_on():
        tis = api.task_instances("socmon_transform", transform["dag_run_id"])
        return next((ti["hostname"] for ti in tis if ti["state"] == "running" and ti["hostname"]), None)

    busy = _wait("dbt_build running", dbt_running_on, 180, every=1)
    victim = next(worker for worker in stack.WORKERS if worker != busy)
    before_kill = _hosts(api, "socmon_extract", extract_run)
    stack.stop(victim, signal.SIGKILL)
    assert stack.pid_of(victim) is None

    _finished(api, "socmon_transform", transform["dag_run_id"], 300)
    publish_date = api.next_logical_date("socmon_publish") or datetime.now(MOSCOW).isoformat()
    publish_run = api.trigger("socmon_publish", logical_date=publish_date)
    api.unpause("socmon_publish")
    _finished(api, "socmon_publish", publish_run, 300)
    run_day = datetime.fromisoformat(publish_date.replace("Z", "+00:00")).astimezone(MOSCOW).date()
    return {
        "before_kill": before_kill,
        "victim": victim,
        "survivor": busy,
        "transform": _hosts(api, "socmon_transform", transform["dag_run_id"]),
        "publish": _hosts(api, "socmon_publish", publish_run),
        "reported_day": run_day - timedelta(days=1),
    }


def test_both_workers_executed_extraction_tasks(pipeline):
    assert set(pipeline["before_kill"].values()) == set(stack.WORKERS), pipeline["before_kill"]


def test_the_pipeline_completes_on_the_surviving_worker_after_one_is_killed(pipeline):
    assert set(pipeline["transform"].values()) == {pipeline["survivor"]}
    assert pipeline["publish"], "socmon_publish ran no task"
    assert set(pipeline["publish"].values()) == {pipeline["survivor"]}, pipeline["publish"]
    assert {"marts_cover_the_period[-1]", "quality_gate[-1]", "export[-1]"} <= pipeline["publish"].keys()


def test_the_reported_days_reports_are_on_disk(pipeline, running_stack):
    folder = running_stack / pipeline["reported_day"].isoformat()
    assert list(folder.glob("*")), f"no report in {folder}"


def test_the_warehouse_holds_what_the_workers_extracted(pipeline):
    with server.connect("admin") as conn:
        messages = conn.execute("select count(*) from marts.fct_messages_classified").fetchone()[0]
    assert settings().database == DATABASE
    assert messages > 0


def test_the_ui_in_chromium_shows_the_three_dags_and_their_successful_runs(pipeline):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    assert chromium and chromedriver, "make test-deployment installs Debian's chromium and chromium-driver"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = SCREENSHOTS.parent / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1350",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # the driver from Debian's package, named explicitly: Selenium Manager would download one
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{stack.api_url()}/auth/login/")
        wait.until(seen.presence_of_element_located((By.NAME, "username"))).send_keys(stack.user())
        driver.find_element(By.NAME, "password").send_keys(stack.stack_secrets()["ui_password"])
        driver.save_screenshot(str(SCREENSHOTS / "01-login.png"))
        driver.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
        wait.until(lambda d: "/auth/login" not in d.current_url)

        driver.get(f"{stack.api_url()}/dags")
        for dag_id in THE_THREE_DAGS:
            wait.until(seen.presence_of_element_located((By.XPATH, f"//a[contains(., '{dag_id}')]")))
        time.sleep(2)  # let the run bars render
        driver.save_screenshot(str(SCREENSHOTS / "02-dags.png"))
        page = driver.find_element(By.TAG_NAME, "body").text
        for dag_id in THE_THREE_DAGS:
            assert dag_id in page

        driver.get(f"{stack.api_url()}/dags/socmon_publish/runs")
        wait.until(lambda d: "Success" in d.find_element(By.TAG_NAME, "body").text)
        time.sleep(2)
        driver.save_screenshot(str(SCREENSHOTS / "03-publish-runs.png"))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
