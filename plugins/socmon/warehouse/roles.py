"""The database, its working roles and their schemas.

- socmon_loader writes `raw`, and reads `casework.open_incident_threads` (the threads to re-read);
- socmon_transform reads `raw` and writes `staging`, `intermediate`, `marts`, `casework`, `snapshots`;
- socmon_officer (compliance officers, the gate and the exports) reads `casework` (citizens' text, links
  and threads), `marts` and the reference seeds in `staging`;
- socmon_bi reads `marts` only, where nothing identifies a citizen.
The owner (`socmon`, no superuser) owns the database and keeps `ops` (the pseudonym key, author links,
the run records); it is a member of the loader's and the transform's roles, so erasure, retention and
VACUUM act on their tables without a superuser. The cluster's superuser only runs `ensure_database`.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from socmon.config import settings
from socmon.warehouse.credentials import OWNER, ROLES, WarehouseError, bootstrap_connection, pseudonym_key
from socmon.warehouse.ops_records import ensure_ops_records

LOADER, TRANSFORM, BI, OFFICER = ROLES["loader"], ROLES["transform"], ROLES["bi"], ROLES["officer"]
TRANSFORM_SCHEMAS = ("staging", "intermediate", "marts", "casework", "snapshots")
CASEWORK_SCHEMA, MARTS_SCHEMA = "casework", "marts"
# people's roles: a bounded number of connections (the gate and the exports use the officers' role too),
# and no query or idle transaction that holds dbt's table swaps for long
CONNECTION_LIMITS = {BI: 20, OFFICER: 50}
# every role a process connects as, the owner too: the cluster's superuser only bootstraps
ROLE_ATTRIBUTES = "login nosuperuser nocreaterole nocreatedb noreplication nobypassrls"
READER_TIMEOUTS = {"statement_timeout": "5min", "idle_in_transaction_session_timeout": "1min"}
# dbt's sessions: no JIT. The models turn it off in their own transactions (dbt_project.yml), but the
# macros' queries at compile time (rule versions, the rating's months, the spikes' scopes) and the snapshots
# ran with it: past 500,000 in estimated cost Postgres compiled their plans at full optimisation, seconds
# each once the history grew (10.5 million messages, bench/incremental_cost.py)
ROLE_SETTINGS = {BI: READER_TIMEOUTS, OFFICER: READER_TIMEOUTS, TRANSFORM: {"jit": "off"}}


def casework_schema(schema: str) -> str:
    """Where the facts that identify citizens are, beside a schema of marts: `casework` beside the
    warehouse's `marts`; any other schema (a test's) holds both."""
    return CASEWORK_SCHEMA if schema == MARTS_SCHEMA else schema


def ensure_database(creds: dict[str, str]) -> None:
    database = settings().database
    key = pseudonym_key(creds)  # nothing is created without it
    with bootstrap_connection("postgres") as conn:  # the superuser: the roles and the database
        for role in (OWNER, LOADER, TRANSFORM, BI, OFFICER):
            exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL(verb + " role {} " + ROLE_ATTRIBUTES + " password {}").format(
                    sql.Identifier(role), sql.Literal(creds[role])
                )
            )
        for role, limit in CONNECTION_LIMITS.items():
            conn.execute(
                sql.SQL("alter role {} connection limit {}").format(sql.Identifier(role), sql.Literal(limit))
            )
        for role, role_settings in ROLE_SETTINGS.items():
            for setting, value in role_settings.items():
                conn.execute(
                    sql.SQL("alter role {} set {} = {}").format(
                        sql.Identifier(role), sql.Identifier(setting), sql.Literal(value)
                    )
                )
        if not conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("alter database {} owner to {}").format(sql.Identifier(database), sql.Identifier(OWNER))
        )
    with bootstrap_connection(database) as conn:
        conn.execute("create extension if not exists pgcrypto with schema public")
        conn.execute("create extension if not exists pg_trgm with schema public")
        _grant(conn, database)
        # what is in `ops` is the owner's: the pseudonym function runs as its owner (SECURITY DEFINER)
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(OWNER)))
        ensure_ops_records(conn, ROLES)  # what each process records, and as which role
        _ensure_pseudonyms(conn, key)
        _ensure_author_links(conn)
        conn.execute("reset role")
    with psycopg.connect(
        host=settings().pg_host,
        port=settings().pg_port,
        dbname=database,
        user=LOADER,
        password=creds[LOADER],
        autocommit=True,
    ) as conn:
        conn.execute(resources.files("socmon.warehouse").joinpath("raw_schema.sql").read_text())


def _grant(conn: psycopg.Connection, database: str) -> None:
    i = sql.Identifier
    run = conn.execute
    run(sql.SQL("revoke all on database {} from public").format(i(database)))
    run("revoke create on schema public from public")
    for role in (LOADER, TRANSFORM, BI, OFFICER):
        run(sql.SQL("grant connect on database {} to {}").format(i(database), i(role)))
    run(sql.SQL("grant temporary on database {} to {}, {}").format(i(database), i(LOADER), i(TRANSFORM)))
    run(sql.SQL("create schema if not exists raw authorization {}").format(i(LOADER)))
    run(sql.SQL("grant usage on schema raw to {}").format(i(TRANSFORM)))
    run(sql.SQL("grant select on all tables in schema raw to {}").format(i(TRANSFORM)))
    run(
        sql.SQL("alter default privileges for role {} in schema raw grant select on tables to {}").format(
            i(LOADER), i(TRANSFORM)
        )
    )
    run(sql.SQL("grant create on database {} to {}").format(i(database), i(TRANSFORM)))
    for schema in TRANSFORM_SCHEMAS:
        run(sql.SQL("create schema if not exists {} authorization {}").format(i(schema), i(TRANSFORM)))
    run(sql.SQL("revoke all on schema raw, staging, intermediate, casework, snapshots from {}").format(i(BI)))
    run(sql.SQL("revoke all on all tables in schema casework from {}").format(i(BI)))
    # the loader reads one view in casework, open_incident_threads (granted by its dbt config)
    run(sql.SQL("grant usage on schema casework to {}").format(i(LOADER)))
    run(sql.SQL("revoke usage on schema marts from {}").format(i(LOADER)))
    readable = {BI: ("marts",), OFFICER: ("marts", "casework")}
    for role, schemas in readable.items():
        for schema in schemas:
            run(sql.SQL("grant usage on schema {} to {}").format(i(schema), i(role)))
            run(sql.SQL("grant select on all tables in schema {} to {}").format(i(schema), i(role)))
            run(
                sql.SQL(
                    "alter default privileges for role {} in schema {} grant select on tables to {}"
                ).format(i(TRANSFORM), i(schema), i(role))
            )
    _grant_officer_the_seeds(conn)
    run(sql.SQL("create schema if not exists ops authorization {}").format(i(OWNER)))
    run(sql.SQL("alter schema ops owner to {}").format(i(OWNER)))
    # the owner acts on the loader's and the transform's tables (erasure, retention) as their member
    run(sql.SQL("grant {}, {} to {}").format(i(LOADER), i(TRANSFORM), i(OWNER)))


PSEUDONYM_FUNCTION = """
create or replace function ops.pseudonym(platform text, author_id text) returns text
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    secret text;
begin
    if author_id is null then
        return null;
    end if;
    select key into secret from ops.pseudonym_key;
    if secret is null then
        raise exception 'this warehouse has no pseudonym key: set SOCMON_PSEUDONYM_KEY and run '
            'socmon db init (socmon db up generates one for the embedded warehouse)';
    end if;
    return encode(public.hmac(platform || ':' || author_id, secret, 'sha256'), 'hex');
end
$$
"""


def _grant_officer_the_seeds(conn: psycopg.Connection) -> None:
    """In `staging` the officers read the reference seeds only, never the stg_ views of raw (citizens'
    unmasked text): dbt grants each seed when it loads it (dbt_project.yml, +grants); this revokes what
    older warehouses granted on the whole schema and grants the seeds already loaded."""
    i = sql.Identifier
    conn.execute(sql.SQL("grant usage on schema staging to {}").format(i(OFFICER)))
    conn.execute(
        sql.SQL(
            "alter default privileges for role {} in schema staging revoke select on tables from {}"
        ).format(i(TRANSFORM), i(OFFICER))
    )
    conn.execute(sql.SQL("revoke select on all tables in schema staging from {}").format(i(OFFICER)))
    seeds = sorted({path.stem for path in (settings().dbt_project_dir / "seeds").rglob("*.csv")})
    for (table,) in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'staging'"
        " and table_name = any(%s)",
        [seeds],
    ).fetchall():
        conn.execute(sql.SQL("grant select on {} to {}").format(i("staging", table), i(OFFICER)))


def _ensure_pseudonyms(conn: psycopg.Connection, key: str) -> None:
    """The author pseudonym: HMAC-SHA-256 of `platform:id` keyed by a secret kept in a table only the
    owner reads; dbt calls ops.pseudonym() (SECURITY DEFINER), so the key is in no compiled SQL, dbt
    artifact or log, and the transform role can compute pseudonyms without ever seeing the key."""
    conn.execute(
        "create table if not exists ops.pseudonym_key ("
        " singleton boolean primary key default true check (singleton),"
        " key text not null,"
        " set_at timestamptz not null default now())"
    )
    conn.execute("revoke all on ops.pseudonym_key from public")
    stored = conn.execute("select key from ops.pseudonym_key").fetchone()
    if stored is None:
        conn.execute("insert into ops.pseudonym_key (key) values (%s)", [key])
    elif stored[0] != key:
        raise WarehouseError(
            "SOCMON_PSEUDONYM_KEY differs from the key this warehouse was initialised with: every author "
            "pseudonym would change. Use the original key (to rotate it, update ops.pseudonym_key by hand "
            "and rebuild the marts with --full-refresh)."
        )
    conn.execute(PSEUDONYM_FUNCTION)
    conn.execute("revoke all on function ops.pseudonym(text, text) from public")
    conn.execute(sql.SQL("grant usage on schema ops to {}").format(sql.Identifier(TRANSFORM)))
    conn.execute(
        sql.SQL("grant execute on function ops.pseudonym(text, text) to {}").format(sql.Identifier(TRANSFORM))
    )


def _ensure_author_links(conn: psycopg.Connection) -> None:
    """One person's accounts in several networks, linked by a curator: personal data, so a warehouse
    table (the owner writes it, dbt reads it), never a file in git. Add a link with
    `insert into ops.author_links (person_key, platform, author_id, linked_by, note) values (...)`."""
    conn.execute(
        "create table if not exists ops.author_links ("
        " person_key text not null,"
        " platform text not null check (platform in ('vk', 'ok', 'telegram')),"
        " author_id text not null,"
        " linked_by text not null,"
        " note text,"
        " linked_at timestamptz not null default now(),"
        " primary key (platform, author_id))"
    )
    conn.execute("revoke all on ops.author_links from public")
    conn.execute(sql.SQL("grant select on ops.author_links to {}").format(sql.Identifier(TRANSFORM)))
