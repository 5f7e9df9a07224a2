"""The warehouse's roles, and loading response files: bad items quarantined, nothing loaded twice."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from socmon.sources.files import ingest_files

pytestmark = pytest.mark.integration


PROBED_SCHEMAS = ("staging", "intermediate", "snapshots", "marts", "casework")


@pytest.fixture
def probes(warehouse, admin):
    """One single-row table per transform schema, created by the transform role as dbt creates its
    models (no grants of the test's own), and one in `ops` created by the owner."""
    with warehouse.connect("transform", autocommit=True) as transform:
        for schema in PROBED_SCHEMAS:
            transform.execute(f"create table {schema}.role_probe (x int)")
            transform.execute(f"insert into {schema}.role_probe values (1)")
    admin.execute("create table ops.role_probe (x int)")
    yield
    for schema in (*PROBED_SCHEMAS, "ops"):
        admin.execute(f"drop table if exists {schema}.role_probe")


def refused(conn, statement: str) -> bool:
    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


WRITES = (
    "insert into {table} default values",
    "update {table} set {column} = {column}",
    "delete from {table}",
    "truncate {table}",
)


def test_bi_reads_the_marts_and_nothing_else(warehouse, probes):
    with warehouse.connect("bi", autocommit=True) as bi:
        assert bi.execute("select x from marts.role_probe").fetchall() == [(1,)]
        unreadable = [
            "raw.vk_posts",
            "raw.rejected",
            "raw.source_cursors",
            "staging.role_probe",
            "intermediate.role_probe",
            "snapshots.role_probe",
            "casework.role_probe",
            "ops.role_probe",
        ]
        read = [table for table in unreadable if not refused(bi, f"select * from {table}")]
        assert read == []
        writes = [w.format(table="marts.role_probe", column="x") for w in WRITES] + [
            "insert into raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id)"
            " values (1, 1, '{}', 'h', 's', 'l')",
            "create table marts.bi_table (x int)",
            "create table public.bi_table (x int)",
            "create view marts.bi_view as select 1 as x",
            "create schema bi_schema",
            "create temporary table bi_scratch (x int)",
            "alter table marts.role_probe add column y int",
            "drop table marts.role_probe",
        ]
        done = [statement for statement in writes if not refused(bi, statement)]
        assert done == []
        assert bi.execute("select x from marts.role_probe").fetchall() == [(1,)]


def test_officers_read_casework_marts_and_no_staging_model_and_write_nothing(warehouse, probes):
    with warehouse.connect("officer", autocommit=True) as officer:
        readable = ("casework", "marts")
        for schema in readable:
            assert officer.execute(f"select x from {schema}.role_probe").fetchall() == [(1,)]
        # in staging only the reference seeds (granted by dbt as it loads them), not what dbt builds there
        unreadable = ["raw.vk_posts", "raw.rejected", "intermediate.role_probe", "snapshots.role_probe"]
        unreadable += ["staging.role_probe"]
        unreadable += ["ops.role_probe", "ops.pseudonym_key", "ops.author_links"]
        assert [table for table in unreadable if not refused(officer, f"select * from {table}")] == []
        writes = [w.format(table=f"{schema}.role_probe", column="x") for schema in readable for w in WRITES]
        writes += [
            f"create table {schema}.officer_table (x int)" for schema in (*readable, "staging", "public")
        ]
        assert [statement for statement in writes if not refused(officer, statement)] == []


def test_people_s_roles_have_timeouts_that_cannot_hold_dbt_and_bounded_connections(warehouse):
    for role in ("bi", "officer"):
        with warehouse.connect(role) as conn:
            assert conn.execute("show statement_timeout").fetchone() == ("5min",)
            assert conn.execute("show idle_in_transaction_session_timeout").fetchone() == ("1min",)
    with warehouse.connect("admin") as conn:
        limits = conn.execute(
            "select rolname, rolconnlimit from pg_roles where rolname like 'socmon%' and rolconnlimit >= 0"
        ).fetchall()
    assert dict(limits) == {"socmon_bi": 20, "socmon_officer": 50}  # as README says


def test_the_loader_writes_raw_and_reads_nothing_built_by_dbt(warehouse, probes):
    with warehouse.connect("loader", autocommit=True) as loader:
        loader.execute(
            "insert into raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id)"
            " values (-1, 1, '{}', 'probe', 'probe', 'probe')"
        )
        loader.execute("delete from raw.vk_posts where load_id = 'probe'")
        read = [
            schema
            for schema in (*PROBED_SCHEMAS, "ops")
            if not refused(loader, f"select * from {schema}.role_probe")
        ]
        assert read == []  # in casework it reads only the open_incident_threads view (granted by dbt)
        writes = [w.format(table="marts.role_probe", column="x") for w in WRITES] + [
            f"create table {schema}.loader_table (x int)" for schema in (*PROBED_SCHEMAS, "ops", "public")
        ]
        done = [statement for statement in writes if not refused(loader, statement)]
        assert done == []


def test_the_transform_role_reads_raw_and_never_writes_it(warehouse, probes):
    with warehouse.connect("transform", autocommit=True) as transform:
        transform.execute("select count(*) from raw.vk_posts")
        writes = [w.format(table="raw.vk_posts", column="load_id") for w in WRITES] + [
            "insert into raw.rejected default values",
            "create table raw.transform_table (x int)",
            "create table ops.transform_table (x int)",
            "alter table raw.vk_posts add column y int",
        ]
        done = [statement for statement in writes if not refused(transform, statement)]
        assert done == []
        assert refused(transform, "select * from ops.role_probe")


def test_the_urls_name_each_role(warehouse):
    assert warehouse.url("bi").startswith("postgresql://socmon_bi:")
    assert warehouse.url("admin").startswith("postgresql://socmon:")


WALL_WITH_ONE_BROKEN_ITEM = """{"response": {"count": 4, "items": [
  {"id": 11, "owner_id": -100002, "from_id": 501, "date": 1764061200, "text": "В Армавире нет воды 😡"},
  {"id": 12, "owner_id": -100002, "from_id": 502, "date": 1764064800, "text": "сломанная запись",, },
  {"id": 13, "owner_id": -100002, "from_id": 503, "date": 1764068400, "text": "Яма на ул. Кирова"},
  {"id": 14, "owner_id": -100002, "date": 1764068400, "text": "Продам гараж"}
]}}"""


def test_db_init_and_url_print_no_owner_password_and_url_defaults_to_bi(warehouse, capsys):
    from socmon.cli import main as socmon

    assert socmon(["db", "init"]) == 0
    assert socmon(["db", "url"]) == 0
    init, url = capsys.readouterr().out.strip().splitlines()
    secrets = [secret for secret in warehouse.credentials().values() if secret in init]
    assert secrets == [] and "socmon db url --role" in init
    assert url == warehouse.url("bi")


def test_a_file_with_one_malformed_item_loads_the_others_and_quarantines_it(empty_raw, tmp_path):
    path = tmp_path / "wall.get.json"
    path.write_text(WALL_WITH_ONE_BROKEN_ITEM, encoding="utf-8")

    first = ingest_files([path], platform="vk")
    again = ingest_files([path], platform="vk")

    assert (first.loaded, first.rejected) == (3, 1)
    assert (again.loaded, again.duplicates) == (0, 3)
    posts = empty_raw.execute("select post_id from raw.vk_posts order by post_id").fetchall()
    assert [p for (p,) in posts] == [11, 13, 14]
    rejected = empty_raw.execute(
        "select platform, entity, source_id, reason, raw_text from raw.rejected"
    ).fetchall()
    assert len(rejected) == 1
    platform, entity, source_id, reason, raw_text = rejected[0]
    assert (platform, entity, source_id) == ("vk", "vk_posts", "file:wall.get.json")
    assert reason.startswith("not JSON")
    assert '"id": 12' in raw_text


def test_comments_files_load_replies_from_threads(empty_raw, tmp_path):
    reply = {
        "id": 31,
        "owner_id": -100002,
        "post_id": 11,
        "from_id": -200003,
        "date": 1764070000,
        "text": "Здравствуйте! Принято в работу",
        "parents_stack": [30],
    }
    comment = {
        "id": 30,
        "owner_id": -100002,
        "post_id": 11,
        "from_id": 504,
        "date": 1764069000,
        "text": "и у нас тоже",
        "parents_stack": [],
        "thread": {"count": 1, "items": [reply]},
    }
    body = {"response": {"count": 1, "current_level_count": 1, "items": [comment]}}
    path = tmp_path / "wall.getComments.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    result = ingest_files([path], platform="vk")

    assert result.loaded == 2
    rows = empty_raw.execute("select comment_id from raw.vk_comments order by 1").fetchall()
    assert rows == [(30,), (31,)]


def test_an_edited_post_is_a_new_version_not_a_duplicate(empty_raw, tmp_path):
    original = {"id": 5, "owner_id": -100001, "from_id": 9, "date": 1764000000, "text": "Нет света"}
    edited = {**original, "text": "Нет света на Северной", "edited": 1764003600}
    for n, item in enumerate([original, edited, original]):
        path = tmp_path / f"wall-{n}.json"
        path.write_text(json.dumps({"response": {"count": 1, "items": [item]}}), encoding="utf-8")
        ingest_files([path], platform="vk")
    versions = empty_raw.execute("select payload->>'text' from raw.vk_posts order by loaded_at").fetchall()
    assert versions == [("Нет света",), ("Нет света на Северной",)]


def test_two_loads_racing_for_the_same_rows_store_them_once(empty_raw, warehouse):
    """The second load's COPY meets the first one's rows and falls back to INSERT ... ON CONFLICT."""
    import threading

    from socmon.warehouse import loader
    from socmon.warehouse.loader import load_records

    count = loader.DIRECT_COPY_MIN_ROWS  # large enough to take the direct COPY path
    posts = [
        {"id": n, "owner_id": -100009, "from_id": 1, "date": 1764000000 + n, "text": f"№{n}"}
        for n in range(count)
    ]
    first = warehouse.connect("loader")
    first.execute("select 1")
    first_result = load_records(first, "vk_posts", posts, "race", "first")  # not committed yet
    results = {}

    def second_load():
        with warehouse.connect("loader") as second, second.transaction():
            results["second"] = load_records(
                second, "vk_posts", [*posts, {**posts[0], "id": 99}], "race", "second"
            )

    racer = threading.Thread(target=second_load)
    racer.start()
    racer.join(timeout=1)  # the second COPY now waits on the first transaction's rows
    first.commit()
    first.close()
    racer.join(timeout=30)

    assert first_result.loaded == count
    assert (results["second"].loaded, results["second"].duplicates) == (1, count)
    assert empty_raw.execute("select count(*) from raw.vk_posts").fetchone()[0] == count + 1


def test_bulk_batches_streamed_into_copy_load_each_row_once(empty_raw, warehouse):
    """The loader COPYs a large batch while it is still checking the rest of it. A first batch of new
    posts goes straight into raw, every chunk of it. A second one meets a stored post only near its end,
    once thousands of its rows are sent: it goes through the ON CONFLICT path whole, so its new rows load,
    the stored ones count as duplicates, the same record twice loads once, and a malformed record in the
    middle is quarantined."""
    from socmon.warehouse import loader
    from socmon.warehouse.loader import load_records

    count = 4 * loader.DIRECT_COPY_MIN_ROWS + 3 * loader.COPY_CHUNK_ROWS + 7  # several writes to the COPY
    posts = [
        {"id": n, "owner_id": -100010, "from_id": 1, "date": 1764000000 + n, "text": f"№{n}"}
        for n in range(2 * count)
    ]
    first, second = posts[:count], posts[count:]
    with warehouse.connect("loader") as conn, conn.transaction():
        first_result = load_records(conn, "vk_posts", [*first, second[-2]], "bulk", "first")
    records = [
        *second[: count // 2],
        {"id": "двенадцать", "owner_id": -100010, "date": 1},
        *second[count // 2 :],
    ]
    records.append(second[7])  # the same record again, at the end

    with warehouse.connect("loader") as conn, conn.transaction():
        second_result = load_records(conn, "vk_posts", records, "bulk", "second")

    assert (first_result.loaded, first_result.duplicates, first_result.rejected) == (count + 1, 0, 0)
    assert (second_result.loaded, second_result.duplicates, second_result.rejected) == (count - 1, 2, 1)
    stored = empty_raw.execute(
        "select count(*), count(distinct post_id), min(post_id), max(post_id) from raw.vk_posts"
    ).fetchone()
    assert stored == (2 * count, 2 * count, 0, 2 * count - 1)
    reasons = empty_raw.execute("select reason from raw.rejected").fetchall()
    assert reasons == [("field 'id' should be an integer, got str: 'двенадцать'",)]


def socmon_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("socmon")), *args], env=env, capture_output=True, text=True
    )


def test_db_init_without_a_pseudonym_key_refuses_naming_the_variable(warehouse, tmp_path):
    with warehouse.connect("admin", autocommit=True) as conn:
        conn.execute("drop database if exists socmon_test_never_created")
    env = {k: v for k, v in os.environ.items() if k != "SOCMON_PSEUDONYM_KEY"}
    env["SOCMON_STATE_DIR"] = str(tmp_path)  # no credentials file, so no generated key either
    env["SOCMON_PG_DATABASE"] = "socmon_test_never_created"
    for role, password in warehouse.credentials().items():
        env[f"SOCMON_PG_PASSWORD__{role.upper()}"] = password

    result = socmon_cli("db", "init", env=env)

    assert result.returncode == 1
    assert "SOCMON_PSEUDONYM_KEY" in result.stderr
    with warehouse.connect("admin") as conn:
        created = conn.execute("select 1 from pg_database where datname = 'socmon_test_never_created'")
        assert created.fetchone() is None


def test_a_warehouse_without_its_key_refuses_to_pseudonymise(warehouse, admin):
    with warehouse.connect("transform") as transform:
        pseudonym = transform.execute("select ops.pseudonym('vk', '501')").fetchone()[0]
    key = admin.execute("select key from ops.pseudonym_key").fetchone()[0]
    assert pseudonym == hmac.new(key.encode(), b"vk:501", hashlib.sha256).hexdigest()

    admin.execute("delete from ops.pseudonym_key")
    try:
        with (
            warehouse.connect("transform") as transform,
            pytest.raises(psycopg.Error, match="SOCMON_PSEUDONYM_KEY"),
        ):
            transform.execute("select ops.pseudonym('vk', '501')")
    finally:
        admin.execute("insert into ops.pseudonym_key (key) values (%s)", [key])


def test_only_the_owner_reads_the_key_and_the_author_links(warehouse):
    for role in ("loader", "transform", "bi", "officer"):
        with warehouse.connect(role, autocommit=True) as conn:
            assert refused(conn, "select * from ops.pseudonym_key"), role
    with warehouse.connect("bi", autocommit=True) as bi:
        assert refused(bi, "select * from ops.author_links")
        assert refused(bi, "select ops.pseudonym('vk', '501')")


def test_no_role_a_process_connects_as_is_a_superuser(warehouse):
    """The owner too: the cluster's superuser only bootstraps (`db up`, `db init`)."""
    for role in warehouse.ROLES:
        with warehouse.connect(role) as conn:
            assert conn.execute("show is_superuser").fetchone() == ("off",), role
            attributes = conn.execute(
                "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls from pg_roles"
                " where rolname = current_user"
            ).fetchall()
            assert attributes == [(False,) * 5], role


def test_the_owner_owns_the_database_ops_and_the_pseudonym_function(warehouse):
    with warehouse.connect("admin") as conn:
        owners = conn.execute(
            """
            select
                (select datdba::regrole::text from pg_database where datname = current_database()),
                (select nspowner::regrole::text from pg_namespace where nspname = 'ops'),
                (select proowner::regrole::text from pg_proc
                    where oid = 'ops.pseudonym(text, text)'::regprocedure),
                (select relowner::regrole::text from pg_class where oid = 'ops.pseudonym_key'::regclass)
            """
        ).fetchone()
    assert owners == (warehouse.OWNER,) * 4


def test_each_process_keeps_its_records_in_ops_with_the_role_it_reads_as(warehouse, admin):
    """The gate, the exports, delivery and alerts hold the officers' password only; the transform its own."""
    officer_writes = [
        "insert into ops.gate_runs (schema_name, success, expectations, tables, failures)"
        " values ('probe', true, 0, 0, '[]')",
        "insert into ops.export_log (period, period_key, schema_name, files, row_count)"
        " values ('daily', 'probe', 'probe', '[]', 0)",
        "insert into ops.deliveries (recipient, period, period_key, report, message_id, status)"
        " values ('probe', 'daily', 'probe', 'probe', 'probe', 'sent')",
        "insert into ops.alerts (recipient, incident_id, kind, message_id, status)"
        " values ('probe', 'probe', 'new', 'probe', 'sent')",
        "insert into ops.alert_state (started_from) values (now())",
        "select stage, records from ops.quarantined_counts(null)",
    ]
    transform_writes = [
        "insert into ops.transform_runs (command, full_refresh, started_at, invoked_by)"
        " values ('probe', false, now(), 'probe')",
        "update ops.transform_runs set success = true where command = 'probe'",
        "insert into ops.seed_loads (seed, file_hash) values ('probe', 'probe')",
    ]
    with warehouse.connect("officer") as officer:
        for statement in officer_writes:
            officer.execute(statement)
        officer.execute("select count(*) from ops.transform_runs")  # are the marts fresh?
        [(rejected,)] = admin.execute("select count(*) from raw.rejected").fetchall()
        assert dict(officer.execute("select * from ops.quarantined_counts(null)").fetchall()) == {
            "loader": rejected
        }
        officer.rollback()
        refused_to_officer = [
            *transform_writes,
            "select * from raw.rejected",
            "select * from ops.pseudonym_key",
        ]
    with warehouse.connect("transform") as transform:
        for statement in transform_writes:
            transform.execute(statement)
        transform.rollback()
    with warehouse.connect("officer", autocommit=True) as officer:
        assert [s for s in refused_to_officer if not refused(officer, s)] == []
    with warehouse.connect("transform", autocommit=True) as transform:
        assert [s for s in officer_writes if not refused(transform, s)] == []
    with warehouse.connect("bi", autocommit=True) as bi:
        assert [s for s in [*officer_writes, *transform_writes] if not refused(bi, s)] == []


def test_the_transform_role_runs_without_jit(warehouse):
    """The macros' queries at compile time and the snapshots run outside the models' `set local jit = off`:
    at 10.5 million messages Postgres JIT-compiled their plans at full optimisation (bench/README.md)."""
    with warehouse.connect("transform") as conn:
        assert conn.execute("show jit").fetchone() == ("off",)


def test_the_server_runs_with_the_settings_db_up_gives_it(warehouse):
    """`socmon db up` starts Postgres with PG_SERVER_SETTINGS (in this suite, their defaults): on Postgres'
    own, a cycle's index inserts read their pages back from disk at 10.5M messages (bench/README.md)."""
    from socmon.config import PG_SERVER_SETTINGS

    with warehouse.connect("transform") as conn:
        running = {
            name: conn.execute("select current_setting(%s)", [name]).fetchone()[0]
            for name in PG_SERVER_SETTINGS
        }
    assert running == PG_SERVER_SETTINGS, "restart the server (socmon db down && socmon db up) to apply them"
