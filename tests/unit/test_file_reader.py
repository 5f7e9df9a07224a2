"""`socmon ingest`'s reader: items one at a time, exact byte offsets of damage, whatever the chunking."""

import io
import json

import pytest

from socmon.sources import files
from socmon.sources.files import UnknownFileFormat, file_records


def read(body: bytes, platform: str = "vk", topic_id: int | None = None):
    """(records as (table, value), damage) of a body, the way ingest reads a file."""
    damage: list = []
    records = list(files._read_records(io.BytesIO(body), platform, topic_id, damage))
    return [(table, _value(record)) for table, record in records], damage


def _value(record):
    if isinstance(record, bytes):
        try:
            return json.loads(record)
        except (ValueError, RecursionError):
            return record
    return record


def post(post_id: int, text: str = "Ямы на Красной 😡") -> dict:
    return {"id": post_id, "owner_id": -1, "date": 1764000000, "text": text}


def wall(*items) -> bytes:
    return json.dumps({"response": {"count": len(items), "items": list(items)}}, ensure_ascii=False).encode()


@pytest.fixture(params=[7, 1 << 20], ids=["7-byte chunks", "1-MiB chunks"])
def chunk(request, monkeypatch):
    """Every reader test runs with chunks that split items, keys and multi-byte characters too."""
    monkeypatch.setattr(files, "CHUNK_BYTES", request.param)
    return request.param


def test_posts_are_read_one_by_one(chunk):
    records, damage = read(wall(post(1), post(2, "Вода\u2028свет"), post(3)))
    assert records == [("vk_posts", post(1)), ("vk_posts", post(2, "Вода\u2028свет")), ("vk_posts", post(3))]
    assert damage == []


def test_comments_bring_their_thread_replies_and_tolerate_a_broken_thread(chunk):
    comment = {"owner_id": -1, "post_id": 11, "date": 1764000000}
    reply = {"id": 31, **comment}
    comments = [
        {"id": 30, **comment, "thread": {"count": 1, "items": [reply]}},
        {"id": 32, **comment, "thread": "не ветка"},
        {"id": 33, **comment, "thread": {"items": None}},
    ]
    records, _ = read(wall(*comments))
    assert [(t, r["id"]) for t, r in records] == [
        ("vk_comments", 30),
        ("vk_comments", 31),
        ("vk_comments", 32),
        ("vk_comments", 33),
    ]


def test_items_null_is_an_empty_list(chunk):
    assert read(b'{"response": {"count": 0, "items": null}}') == ([], [])


def test_groups_of_an_extended_wall_get_are_not_taken_for_groups_get_by_id(chunk):
    body = {"response": {"items": [post(1)], "groups": [{"id": 1, "name": "x"}]}}
    records, _ = read(json.dumps(body).encode())
    assert records == [("vk_posts", post(1))]
    records, _ = read(json.dumps({"response": {"groups": [{"id": 1}]}}).encode())
    assert records == [("vk_groups", {"id": 1})]


def test_a_malformed_item_is_kept_for_the_loader_and_the_next_ones_are_read(chunk):
    body = wall(post(1), post(3)).replace(b'{"id": 3', b'{"id": 2, "text": "],}" ,, }, {"id": 3')
    records, damage = read(body)
    assert [r for _, r in records] == [post(1), b'{"id": 2, "text": "],}" ,, }', post(3)]
    assert damage == []


def test_a_deep_item_is_kept_for_the_loader_and_the_next_ones_are_read(chunk):
    deep = b'{"id": 2, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    body = wall(post(1), post(3)).replace(b'{"id": 3', deep + b', {"id": 3')
    records, _ = read(body)
    assert [r for _, r in records] == [post(1), deep, post(3)]


def test_a_truncated_body_loads_what_precedes_and_gives_the_byte_offset_of_the_damage(chunk):
    whole = wall(post(1, "Первый ✓"), post(2), post(3))
    cut = whole[: whole.index(b'{"id": 3') + 10]
    records, damage = read(cut)
    assert [r["id"] for _, r in records] == [1, 2]
    [(offset, reason, tail)] = damage
    assert offset == whole.index(b'{"id": 3')
    assert "truncated" in reason
    assert tail == cut[offset:].decode()


def test_a_body_cut_after_its_list_is_damage_too(chunk):
    whole = wall(post(1))
    records, damage = read(whole[:-2])
    assert [r["id"] for _, r in records] == [1]
    assert damage and "truncated" in damage[0][1]


def test_text_after_the_body_is_damage(chunk):
    _, damage = read(wall(post(1)) + b" {}")
    assert damage and damage[0][0] == len(wall(post(1))) + 1


def test_a_body_that_is_not_json_is_damage_at_byte_zero(chunk):
    records, damage = read("вчера".encode())
    assert records == [] and damage[0][0] == 0


def test_a_body_without_any_known_list_is_an_unknown_format(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"response": {"count": 0}}')
    with pytest.raises(UnknownFileFormat):
        list(file_records(path, "vk"))


def test_telegram_lines_end_at_newline_only(chunk):
    texts = ["до\u2028после", "абзац\u2029абзац", "next\x85line", "вертикальная\x0bтаб"]
    lines = [json.dumps({"id": i, "message": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    records, damage = read(("\n".join(lines) + "\n").encode(), "telegram")
    assert [r["message"] for _, r in records] == texts
    assert damage == []


def test_a_telegram_export_cut_short_is_damage_at_its_last_line(chunk):
    first = json.dumps({"id": 1, "message": "целая"}, ensure_ascii=False).encode() + b"\n"
    cut = '{"id": 2, "message": "обор'.encode()
    records, damage = read(first + cut, "telegram")
    assert [r["id"] for _, r in records] == [1]
    [(offset, reason, _)] = damage
    assert offset == len(first) and "truncated" in reason
    complete_last = first + b'{"id": 2}'
    assert read(complete_last, "telegram")[1] == []  # a last line without newline that is whole is fine


def test_ok_topics_take_the_group_of_entities_even_when_entities_come_last(chunk):
    topics = [{"id": "5"}, {"id": "6", "owner_ref": "group:7"}]
    body = {"media_topics": topics, "entities": {"groups": [{"uid": "9"}]}}
    records, _ = read(json.dumps(body).encode(), "ok")
    assert sorted((r["id"], r["group_id"]) for _, r in records) == [("5", "9"), ("6", "7")]


def test_an_ok_error_body_is_refused(tmp_path):
    path = tmp_path / "error.json"
    path.write_text('{"error_code": 102, "error_msg": "PARAM_SESSION_EXPIRED"}')
    with pytest.raises(UnknownFileFormat, match="error"):
        list(file_records(path, "ok"))
