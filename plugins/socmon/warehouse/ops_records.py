"""The records the processes keep in `ops`, and who may write each.

`socmon db up`/`db init` (roles.ensure_database) create every table here as the owner, so that no process
needs the right to create anything: each writes its own records with the one role it already connects
as, and the owner's password stays with the owner's own jobs (erasure, retention, the CLI).
- socmon_transform: its runs (`transform_runs`) and the seeds it loaded (`seed_loads`);
- socmon_officer (the gate, the exports, their delivery and the alerts): `gate_runs`, `export_log`,
  `deliveries`, `alerts`, `alert_state`; it reads `transform_runs` (are the marts fresh?) and counts the
  quarantined records through `ops.quarantined_counts()`, never their text.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from socmon.warehouse.runs import ensure_runs_table

SEED_LOADS = """
create table if not exists ops.seed_loads (
    seed       text        primary key,
    file_hash  text        not null,
    loaded_at  timestamptz not null default clock_timestamp()
)
"""
GATE_RUNS = """
create table if not exists ops.gate_runs (
    run_at       timestamptz not null default now(),
    schema_name  text        not null,
    success      boolean     not null,
    expectations integer     not null,
    tables       integer     not null,
    failures     jsonb       not null,
    period       text
)
"""
EXPORT_LOG = """
create table if not exists ops.export_log (
    exported_at timestamptz not null default now(),
    period      text        not null,
    period_key  text        not null,
    schema_name text        not null,
    files       jsonb       not null,
    row_count   integer     not null
)
"""
DELIVERIES = """
create table if not exists ops.deliveries (
    recipient       text        not null,
    period          text        not null,
    period_key      text        not null,
    report          text        not null,
    message_id      text        not null,
    status          text        not null check (status in ('sent', 'refused')),
    attempts        integer     not null default 1,
    error           text,
    first_tried_at  timestamptz not null default now(),
    sent_at         timestamptz,
    primary key (recipient, period, period_key, report)
)
"""
ALERTS = """
create table if not exists ops.alerts (
    recipient       text        not null,
    incident_id     text        not null,
    kind            text        not null check (kind in ('new', 'reminder')),
    message_id      text        not null,
    status          text        not null check (status in ('sent', 'refused')),
    attempts        integer     not null default 1,
    error           text,
    detected_at     timestamptz,
    first_tried_at  timestamptz not null default now(),
    sent_at         timestamptz,
    primary key (recipient, incident_id, kind)
)
"""
ALERT_STATE = "create table if not exists ops.alert_state (started_from timestamptz not null)"
# tables made before a column was added
COLUMNS_ADDED = ["alter table ops.gate_runs add column if not exists period text"]

# what each role may do with each table: (role key in ROLES, privileges)
WRITERS = {
    "transform_runs": {"transform": "select, insert, update", "officer": "select"},
    "seed_loads": {"transform": "select, insert, update"},
    "gate_runs": {"officer": "select, insert"},
    "export_log": {"officer": "select, insert"},
    "deliveries": {"officer": "select, insert, update"},
    "alerts": {"officer": "select, insert, update"},
    "alert_state": {"officer": "select, insert"},
}

# How many records each quarantine holds since an instant: what the gate reports, without the records'
# text (raw.rejected keeps what the loader refused, citizens' text among it, which the officers' role
# does not read). Staging's quarantine counts once dbt has built it.
QUARANTINED_COUNTS = """
create or replace function ops.quarantined_counts(since timestamptz)
returns table (stage text, records bigint)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    return query
        select 'loader'::text, count(*) from raw.rejected
        where rejected_at >= coalesce(since, '-infinity');
    if to_regclass('staging.stg_quarantined_rows') is not null then
        return query execute
            'select ''staging''::text, count(*) from staging.stg_quarantined_rows'
            ' where loaded_at >= coalesce($1, ''-infinity'')'
            using since;
    end if;
end
$$
"""


def ensure_ops_records(conn: psycopg.Connection, roles: dict[str, str]) -> None:
    """Create the tables and grant each writer its rights; `conn` acts as the owner. `roles` maps the
    keys of WRITERS (ROLES' keys) to role names."""
    ensure_runs_table(conn)
    for ddl in (SEED_LOADS, GATE_RUNS, EXPORT_LOG, DELIVERIES, ALERTS, ALERT_STATE, *COLUMNS_ADDED):
        conn.execute(ddl)
    for table, writers in WRITERS.items():
        conn.execute(sql.SQL("revoke all on {} from public").format(sql.Identifier("ops", table)))
        for role, privileges in writers.items():
            conn.execute(
                sql.SQL("grant {} on {} to {}").format(
                    sql.SQL(privileges), sql.Identifier("ops", table), sql.Identifier(roles[role])
                )
            )
    conn.execute(QUARANTINED_COUNTS)
    conn.execute("revoke all on function ops.quarantined_counts(timestamptz) from public")
    for role in {role for writers in WRITERS.values() for role in writers}:
        conn.execute(sql.SQL("grant usage on schema ops to {}").format(sql.Identifier(roles[role])))
    conn.execute(
        sql.SQL("grant execute on function ops.quarantined_counts(timestamptz) to {}").format(
            sql.Identifier(roles["officer"])
        )
    )
