"""The warehouse's roles, and loading response files: bad items quarantined, nothing loaded twice."""

import json

import psycopg
import pytest

from socmon.sources.files import ingest_files

pytestmark = pytest.mark.integration


def test_each_role_reaches_only_its_schemas(warehouse, admin):
    admin.execute("create table if not exists marts.role_probe (x int)")
    admin.execute("alter table marts.role_probe owner to socmon_transform")
    admin.execute("grant select on marts.role_probe to socmon_bi")
    with warehouse.connect("bi", autocommit=True) as bi:
        bi.execute("select * from marts.role_probe")
        for forbidden in ("raw.vk_posts", "raw.rejected"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute(f"select * from {forbidden}")
    with (
        warehouse.connect("loader", autocommit=True) as loader,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        loader.execute("create table staging.not_mine (x int)")
    with warehouse.connect("transform", autocommit=True) as transform:
        transform.execute("select count(*) from raw.vk_posts")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            transform.execute("insert into raw.rejected default values")
    admin.execute("drop table marts.role_probe")


def test_the_urls_name_each_role(warehouse):
    assert warehouse.url("bi").startswith("postgresql://socmon_bi:")
    assert warehouse.url().startswith("postgresql://socmon:")


WALL_WITH_ONE_BROKEN_ITEM = """{"response": {"count": 4, "items": [
  {"id": 11, "owner_id": -100002, "from_id": 501, "date": 1764061200, "text": "В Армавире нет воды 😡"},
  {"id": 12, "owner_id": -100002, "from_id": 502, "date": 1764064800, "text": "сломанная запись",, },
  {"id": 13, "owner_id": -100002, "from_id": 503, "date": 1764068400, "text": "Яма на ул. Кирова"},
  {"id": 14, "owner_id": -100002, "date": 1764068400, "text": "Продам гараж"}
]}}"""


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
