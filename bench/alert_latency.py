"""Alert latency on the sandbox: the time from an incident's `detected_at` to its alert letter, against
the transform cycle that found it, measured in the same run.

One production cycle, with the wall clock, through the real DAGs (`airflow dags test`) and a real local
SMTP server (aiosmtpd): `socmon_extract` reads the sandbox day (the loader stamps `loaded_at`, which
becomes the incidents' `detected_at`), `socmon_transform` builds the marts, `socmon_alerts` mails the
new incidents to their bodies' curators and records each in `ops.alerts` with its `sent_at`.

Prints the median and the worst latency (sent_at − detected_at) over all alerted incidents, the
duration of the transform run (the baseline: detection cannot be alerted before the marts hold it), and
their ratio. "Within one cycle" means the latency stays below the extraction period (an hour) and the
ratio close to 1 + (alert run / transform run).

    nice -n 10 .venv/bin/python bench/alert_latency.py [--days 1]

A scratch database, `socmon_bench_alerts`, is dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench_alerts")
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="socmon-bench-airflow-"))

import psycopg

from socmon.config import settings
from socmon.orchestration import airflow_environment, dags_test, ensure_airflow
from socmon.warehouse import roles, server
from socmon_sandbox import running_sandbox
from socmon_sandbox.mailbox import running_mailbox

MOSCOW = ZoneInfo("Europe/Moscow")


def fresh_database() -> None:
    server.up()
    creds = server.credentials()
    s = settings()
    with psycopg.connect(
        host=s.pg_host, port=s.pg_port, dbname="postgres", user=server.OWNER, password=creds[server.OWNER],
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'drop database if exists "{s.database}" with (force)')
    roles.ensure_database(creds)


def timed(label: str, run) -> float:
    started = time.monotonic()
    run()
    elapsed = time.monotonic() - started
    print(f"  {label:<18} {elapsed:7.1f} s", flush=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=1, help="sandbox days extracted in the cycle")
    args = parser.parse_args()
    fresh_database()
    logs = Path(tempfile.mkdtemp(prefix="socmon-bench-alerts-"))
    today = datetime.now(MOSCOW).date()
    first_day: date = today - timedelta(days=args.days)
    window_start = datetime.combine(first_day, datetime.min.time(), MOSCOW)
    window_end = datetime.combine(today, datetime.min.time(), MOSCOW)
    print(f"one cycle on {args.days} sandbox day(s) from {first_day}, database {settings().database}")
    with running_mailbox() as mailbox, running_sandbox(first_day, args.days) as sandbox:
        env = airflow_environment(
            {**sandbox.connections, "AIRFLOW_CONN_SMTP_DEFAULT": mailbox.connection_uri}
        )
        ensure_airflow(env)
        window = {"window_start": window_start.isoformat(), "window_end": window_end.isoformat()}
        timed("extract", lambda: dags_test("socmon_extract", window_end, env, conf=window,
                                          log_file=logs / "extract.log"))  # fmt: skip
        transform = timed("transform", lambda: dags_test("socmon_transform", datetime.now(MOSCOW), env,
                                                         log_file=logs / "transform.log"))  # fmt: skip
        alerts = timed("alerts", lambda: dags_test("socmon_alerts", datetime.now(MOSCOW), env,
                                                   log_file=logs / "alerts.log"))  # fmt: skip
    with server.connect("admin") as conn:
        latencies = [
            float(row[0])
            for row in conn.execute(
                "select extract(epoch from a.sent_at - i.detected_at) from ops.alerts as a"
                " join marts.fct_incidents as i using (incident_id)"
                " where a.kind = 'new' and a.status = 'sent'"
            )
        ]
    if not latencies:
        print("no incident was alerted: nothing to measure")
        return 1
    median, worst = statistics.median(latencies), max(latencies)
    print(f"\n{len(latencies)} alerts ({len(mailbox.received)} letters) to the bodies' curators")
    print(f"latency detected_at → alert sent: median {median:.1f} s, worst {worst:.1f} s")
    print(f"baseline, the transform run:      {transform:.1f} s (alert run {alerts:.1f} s)")
    print(f"ratio median latency / transform: {median / transform:.2f}; worst: {worst / transform:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
