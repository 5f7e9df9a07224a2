"""`socmon demo`: the whole pipeline on generated sandbox data, through the real DAGs.

1. start the warehouse and the sandbox VK API (a real HTTP server with a few days of generated posts);
2. `airflow dags test socmon_extract` once per generated day (a backfill window each);
3. `airflow dags test socmon_transform` (dbt build), then `socmon_alerts` (new incidents to the bodies);
4. `airflow dags test socmon_publish` (the GX gate, then yesterday's exports and their delivery);
5. a short summary from the marts, and where the reports are.

All mail goes to a local SMTP server (aiosmtpd) that writes what it receives under out/mail/ as .eml
files: what each officer and curator of the recipients registry would get.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from socmon.config import settings
from socmon.timezone import MOSCOW

if TYPE_CHECKING:
    from socmon_sandbox.mailbox import Mailbox

STEPS = 5


def _step(number: int, text: str) -> float:
    print(f"[{number}/{STEPS}] {text}", flush=True)
    return time.monotonic()


def _done(started: float, detail: str = "") -> None:
    print(f"      done in {time.monotonic() - started:.0f}s{': ' + detail if detail else ''}", flush=True)


def run_demo(days: int = 3) -> int:
    import shutil

    from socmon_sandbox.mailbox import running_mailbox

    mail_dir = settings().out_dir / "mail"
    shutil.rmtree(mail_dir, ignore_errors=True)
    with running_mailbox(eml_dir=mail_dir) as mailbox:
        return _run_pipeline(days, mailbox)


def _run_pipeline(days: int, mailbox: Mailbox) -> int:
    from socmon.orchestration import airflow_environment, dags_test, ensure_airflow
    from socmon.warehouse import server
    from socmon_sandbox import running_sandbox

    s = settings()
    logs = s.state_dir / "logs"
    today = datetime.now(MOSCOW).date()
    first_day = today - timedelta(days=days)
    began = time.monotonic()

    started = _step(1, f"warehouse, Airflow metadata and the sandbox networks ({days} days from {first_day})")
    server.up()
    with running_sandbox(first_day, days) as sandbox:
        # The demo extracts whole past days by backfill, so no extraction lag applies: without this, a
        # demo run between midnight and 02:00 Moscow time would wait for a later build to report yesterday.
        env = airflow_environment(
            {
                **sandbox.connections,
                "AIRFLOW_CONN_SMTP_DEFAULT": mailbox.connection_uri,
                "SOCMON_EXTRACTION_LAG_MINUTES": "0",
            }
        )
        ensure_airflow(env)
        _done(started, f"VK API at {sandbox.vk.url}, OK API at {sandbox.ok.url}, Telegram in-process")

        started = _step(2, "socmon_extract: one backfill window per day")
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            window_start = datetime.combine(day, datetime.min.time(), MOSCOW)
            window_end = window_start + timedelta(days=1)
            dags_test(
                "socmon_extract",
                window_end,
                env,
                conf={"window_start": window_start.isoformat(), "window_end": window_end.isoformat()},
                log_file=logs / f"socmon_extract-{day}.log",
            )
            print(f"      {day}: extracted", flush=True)
        _done(started, _raw_counts())

    started = _step(3, "socmon_transform: dbt build (staging, classification, marts), then socmon_alerts")
    dags_test("socmon_transform", datetime.now(MOSCOW), env, log_file=logs / "socmon_transform.log")
    dags_test("socmon_alerts", datetime.now(MOSCOW), env, log_file=logs / "socmon_alerts.log")
    _done(started, f"{len(mailbox.received)} alert letters to the bodies' curators")

    started = _step(4, "socmon_publish: the GX gate, then yesterday's reports")
    publish_at = datetime.combine(today, datetime.min.time(), MOSCOW).replace(hour=9)
    dags_test("socmon_publish", publish_at, env, log_file=logs / "socmon_publish.log")
    _done(started)

    _step(5, "summary")
    _print_summary(today - timedelta(days=1))
    print(f"\nMail received by the local SMTP server: {len(mailbox.received)} letters in {mailbox.eml_dir}")
    print(f"\nThe demo took {time.monotonic() - began:.0f}s. Logs of each DAG run: {logs}")
    return 0


def _raw_counts() -> str:
    from socmon.warehouse import server

    counts = {}
    with server.connect("loader") as conn:  # raw is the loader's
        for table in ("vk_posts", "vk_comments", "ok_topics", "ok_comments", "telegram_messages", "rejected"):
            counts[table] = conn.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
    return (
        "raw holds VK {vk_posts} posts + {vk_comments} comments, OK {ok_topics} topics + {ok_comments}"
        " comments, Telegram {telegram_messages} messages; {rejected} records rejected".format(**counts)
    )


def _print_summary(report_day) -> None:
    from socmon.warehouse import server

    with server.connect("bi") as conn:
        messages, incidents = conn.execute(
            "select count(*), count(*) filter (where is_incident) from marts.fct_messages_classified"
        ).fetchall()[0]
        print(f"Messages read: {messages}; incidents: {incidents}")
        print("\nIncidents per responsible body and SLA status:")
        rows = conn.execute(
            """
            select coalesce(b.name_ru, i.responsible_body_code) as body,
                   count(*) as total,
                   count(*) filter (where sla_status = 'answered_on_time') as on_time,
                   count(*) filter (where sla_status = 'answered_late') as late,
                   count(*) filter (where sla_status = 'overdue') as overdue,
                   count(*) filter (where sla_status = 'open') as open
            from marts.fct_incidents as i
            left join marts.dim_executive_bodies as b on b.code = i.responsible_body_code
            group by 1 order by 2 desc
            """
        ).fetchall()
        print(f"  {'орган':<60} {'всего':>5} {'в срок':>6} {'поздно':>6} {'просрочено':>10} {'открыто':>7}")
        for body, total, on_time, late, overdue, still_open in rows:
            print(f"  {body[:60]:<60} {total:>5} {on_time:>6} {late:>6} {overdue:>10} {still_open:>7}")
    out = settings().out_dir / report_day.isoformat()
    print(f"\nReports for {report_day}:")
    for path in sorted(out.glob("*")):
        print(f"  {path}")
