"""The database, its three working roles and their schemas.

- socmon_loader writes `raw`, and reads `marts.open_incident_threads` (the threads to re-read);
- socmon_transform reads `raw` and writes `staging`, `intermediate` and `marts`;
- socmon_bi reads `marts` only.
The owner (`socmon`) reads everything and runs the gate and the exports.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from socmon.config import settings
from socmon.warehouse.server import OWNER, ROLES

LOADER, TRANSFORM, BI = ROLES["loader"], ROLES["transform"], ROLES["bi"]
TRANSFORM_SCHEMAS = ("staging", "intermediate", "marts", "snapshots")


def _owner_connection(dbname: str, creds: dict[str, str]) -> psycopg.Connection:
    s = settings()
    return psycopg.connect(
        host=s.pg_host, port=s.pg_port, dbname=dbname, user=OWNER, password=creds[OWNER], autocommit=True
    )


def ensure_database(creds: dict[str, str]) -> None:
    database = settings().database
    with _owner_connection("postgres", creds) as conn:
        for role in (LOADER, TRANSFORM, BI):
            exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL(verb + " role {} login password {}").format(
                    sql.Identifier(role), sql.Literal(creds[role])
                )
            )
        if not conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    with _owner_connection(database, creds) as conn:
        _grant(conn, database)
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
    for role in (LOADER, TRANSFORM, BI):
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
    run(sql.SQL("revoke all on schema raw, staging, intermediate from {}").format(i(BI)))
    run(sql.SQL("grant usage on schema marts to {}").format(i(BI)))
    # the loader reads one view there, marts.open_incident_threads (granted by its dbt config)
    run(sql.SQL("grant usage on schema marts to {}").format(i(LOADER)))
    run(sql.SQL("grant select on all tables in schema marts to {}").format(i(BI)))
    run(
        sql.SQL("alter default privileges for role {} in schema marts grant select on tables to {}").format(
            i(TRANSFORM), i(BI)
        )
    )
    run("create schema if not exists ops")
    run("create extension if not exists pg_trgm")
