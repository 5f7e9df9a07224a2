"""What the loader accepts and why it rejects a record (no database needed for the checks)."""

import json

import pytest

from socmon.warehouse.loader import ENTITIES, MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, Rejection, prepare
from socmon.warehouse.record_checks import RECORD_SPECS, BadRecord

POSTS = ENTITIES["vk_posts"]


def post(**fields):
    return {
        "id": 1,
        "owner_id": -100001,
        "from_id": 7,
        "date": 1764000000,
        "text": "Ямы на Красной",
        **fields,
    }


def test_a_good_post_gives_its_key_and_a_stable_hash():
    prepared = prepare(post(), POSTS)
    assert prepared.key == (-100001, 1)
    assert json.loads(prepared.payload)["text"] == "Ямы на Красной"
    reordered = prepare(dict(reversed(post().items())), POSTS)
    assert reordered.payload_hash == prepared.payload_hash  # key order does not matter


def test_emoji_and_a_long_but_legal_text_load():
    assert not isinstance(prepare(post(text="Опять нет воды 😡💧 #Армавир @admkrai"), POSTS), Rejection)
    assert not isinstance(prepare(post(text="я" * 16_384), POSTS), Rejection)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ('{"id": 1, "owner_id": -1, "text": "оборвано', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (post(id=None), "missing field 'id'"),
        ({k: v for k, v in post().items() if k != "owner_id"}, "missing field 'owner_id'"),
        (post(id="123"), "field 'id' should be an integer, got str"),
        (post(id=True), "field 'id' should be an integer, got bool"),
        (post(text=["не", "строка"]), "field 'text' should be a string"),
        (post(text="нулевой \x00 байт"), "NUL character"),
        ('{"id": 1, "owner_id": -1, "date": 1764000000, "text": "\\u0000"}', "NUL character"),
        (post(text="одинокий \ud83d суррогат"), "lone surrogate"),
        ('{"id": 1, "owner_id": -1, "text": "\\udc00"}', "lone surrogate"),
        (post(text="x" * (MAX_PAYLOAD_BYTES + 1)), "exceeds"),
    ],
)
def test_bad_records_are_rejected_with_their_reason(record, reason):
    result = prepare(record, POSTS)
    assert isinstance(result, Rejection)
    assert reason in result.reason


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    assert not isinstance(prepare(post(text="путь C:\\u0000dir"), POSTS), Rejection)


# ---- every field staging casts, on every platform: a reason naming the field, never an exception ----

GOOD_RECORDS = {
    "vk_posts": post(likes={"count": 3}, views={"count": 40}, edited=1764000100, signer_id=5),
    "vk_comments": {
        "id": 5,
        "owner_id": -100001,
        "post_id": 1,
        "from_id": 7,
        "date": 1764000000,
        "text": "Когда починят?",
        "parents_stack": [4],
        "reply_to_comment": 4,
        "reply_to_user": 8,
        "thread": {"count": 0, "items": []},
        "likes": {"count": 0},
    },
    "vk_groups": {
        "id": 100001,
        "name": "Администрация",
        "is_closed": 0,
        "members_count": 1500,
        "wall": 1,
        "contacts": [{"phone": "+7 861 000-00-00"}],
        "cover": {"enabled": 1},
    },
    "telegram_messages": {
        "_": "Message",
        "id": 42,
        "peer_id": {"_": "PeerChannel", "channel_id": 1700000001},
        "date": "2026-11-25T10:00:00+00:00",
        "edit_date": "2026-11-25T11:00:00+00:00",
        "message": "Нет света на Северной",
        "post": False,
        "from_id": {"_": "PeerUser", "user_id": 9},
        "reply_to": {"reply_to_msg_id": 40, "reply_to_top_id": 39, "reply_to_peer_id": {"channel_id": 1}},
        "fwd_from": {"saved_from_peer": {"channel_id": 2}, "saved_from_msg_id": 3, "channel_post": 4},
        "replies": {"channel_id": 1700000002, "comments": True, "replies": 3},
        "views": 10,
        "forwards": 0,
        "pinned": False,
    },
    "telegram_channels": {
        "id": 1700000001,
        "chats": [{"id": 1700000001, "date": "2020-01-01T00:00:00+00:00", "verified": True, "photo": {}}],
        "full_chat": {"participants_count": 100, "linked_chat_id": 1700000002, "pinned_msg_id": 7},
    },
    "ok_topics": {
        "id": "155",
        "group_id": "70000000000001",
        "created_ms": 1764000000000,
        "author_ref": "user:5",
        "media": [{"type": "text", "text": "Ямы"}],
        "discussion_summary": {"comments_count": 2},
        "like_summary": {"count": 1},
        "reshare_summary": {"count": 0},
        "is_commenting_denied": False,
        "is_ad": "false",
    },
    "ok_comments": {
        "id": "MTc2NDAwMDAwMDAwMA",
        "topic_id": 155,
        "author_id": "5",
        "author_type": "USER",
        "date": "2026-11-25 14:30:00",
        "date_ms": 1764070200000,
        "text": "Спасибо",
        "reply_to_id": "6",
        "like_count": 0,
    },
    "ok_groups": {"uid": "70000000000001", "members_count": 10, "business": 0, "created_ms": 1500000000000},
}

WRONG_VALUES = [
    2**64,
    -(2**70),
    "99999999999999999999",
    "вчера",
    1.5,
    True,
    [],
    {},
    "2026-02-30T10:00:00+00:00",
]


def _with_value_at(record: dict, path: str, value) -> dict:
    """A copy of the record with `value` at a spec path ('a.b', 'a[].b')."""
    record = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    container = record
    for part in parents:
        name = part.removesuffix("[]")
        if part.endswith("[]"):
            if not isinstance(container.get(name), list) or not container[name]:
                container[name] = [{}]
            container = container[name][0]
        else:
            if not isinstance(container.get(name), dict):
                container[name] = {}
            container = container[name]
    name = last.removesuffix("[]")
    if last.endswith("[]"):
        container[name] = [value]
    else:
        container[name] = value
    return record


def test_the_good_record_of_every_platform_loads():
    for table, record in GOOD_RECORDS.items():
        prepared = prepare(record, ENTITIES[table])
        assert not isinstance(prepared, Rejection), (table, prepared)


@pytest.mark.parametrize("table", sorted(GOOD_RECORDS))
def test_a_wrong_value_in_any_checked_field_is_a_reason_naming_it(table):
    entity = ENTITIES[table]
    fields = list(RECORD_SPECS[table].fields)
    assert fields, "every platform's staging casts some fields"
    for path in fields:
        field_name = path.split(".")[-1].removesuffix("[]")
        for value in WRONG_VALUES:
            result = prepare(_with_value_at(GOOD_RECORDS[table], path, value), entity)
            if isinstance(result, Rejection):
                assert field_name in result.reason, (path, value, result.reason)
        # the first wrong value, a 65-bit integer, fits nothing that staging casts
        result = prepare(_with_value_at(GOOD_RECORDS[table], path, 2**64), entity)
        assert isinstance(result, Rejection), (table, path)


@pytest.mark.parametrize(
    ("table", "change", "reason"),
    [
        ("vk_posts", {"date": "вчера"}, "field 'date' should be a Unix time"),
        ("vk_posts", {"date": None}, "missing field 'date'"),
        ("vk_posts", {"date": 10**15}, "field 'date' should be a Unix time"),
        ("vk_posts", {"owner_id": 2**64}, "field 'owner_id' should be a 64-bit integer"),
        ("vk_posts", {"from_id": "18446744073709551616"}, "field 'from_id' should be a 64-bit integer"),
        ("vk_posts", {"likes": [1]}, "field 'likes' should be an object"),
        ("vk_posts", {"likes": {"count": "много"}}, "field 'likes.count' should be a 32-bit integer"),
        ("vk_comments", {"thread": "ветка"}, "field 'thread' should be an object"),
        ("vk_comments", {"thread": {"count": 1, "items": {}}}, "field 'thread.items' should be a list"),
        ("vk_comments", {"parents_stack": ["a"]}, "field 'parents_stack[0]' should be a 64-bit integer"),
        ("vk_groups", {"id": 0}, "field 'id' should be a positive id"),
        ("vk_groups", {"contacts": "+7 861"}, "field 'contacts' should be a list"),
        ("telegram_messages", {"from_id": "user9"}, "field 'from_id' should be an object"),
        ("telegram_messages", {"date": "2026-02-30T10:00:00+00:00"}, "field 'date' should be an ISO 8601"),
        ("telegram_messages", {"date": 1764000000}, "field 'date' should be an ISO 8601"),
        ("telegram_messages", {"peer_id": {"channel_id": 2**63}}, "field 'channel_id' should be a 64-bit"),
        ("telegram_messages", {"post": "maybe"}, "field 'post' should be a boolean"),
        ("telegram_channels", {"chats": {"id": 1}}, "field 'chats' should be a list"),
        ("telegram_channels", {"full_chat": []}, "field 'full_chat' should be an object"),
        ("ok_topics", {"group_id": "12a"}, "field 'group_id' should be numeric, a 64-bit id"),
        ("ok_topics", {"created_ms": None}, "missing field 'created_ms'"),
        ("ok_topics", {"media": {"type": "text"}}, "field 'media' should be a list"),
        ("ok_topics", {"author_ref": "user:abc"}, "field 'author_ref' should be a string such as"),
        ("ok_comments", {"date_ms": None, "date": None}, "missing field 'date_ms' (nor is there a 'date')"),
        ("ok_comments", {"date": "вчера"}, "field 'date' should be a time"),
        ("ok_comments", {"topic_id": "155"}, "field 'topic_id' should be an integer"),
        ("ok_groups", {"uid": str(2**64)}, "field 'uid' should be numeric, a 64-bit id"),
        ("ok_groups", {"members_count": 2**31}, "field 'members_count' should be a 32-bit integer"),
    ],
)
def test_each_platform_names_the_field_that_does_not_fit(table, change, reason):
    result = prepare({**GOOD_RECORDS[table], **change}, ENTITIES[table])
    assert isinstance(result, Rejection)
    assert reason in result.reason


def test_absent_and_null_optional_fields_are_fine():
    sparse = {"id": 1, "owner_id": -1, "date": 1764000000, "likes": None, "text": None, "thread": None}
    assert not isinstance(prepare(sparse, POSTS), Rejection)
    assert not isinstance(prepare({**sparse, "post_id": 1}, ENTITIES["vk_comments"]), Rejection)


def _nested(depth: int) -> dict:
    record = post()
    inner = record
    for _ in range(depth):
        inner["attachments"] = {}
        inner = inner["attachments"]
    return record


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 5_000, 200_000])
def test_any_nesting_depth_is_a_reason_not_a_recursion_error(depth):
    as_dict = prepare(_nested(depth), POSTS)
    assert isinstance(as_dict, Rejection)
    assert "nested deeper than" in as_dict.reason
    as_text = '{"id": 1, "owner_id": -1, "date": 1, "x": ' + "[" * depth + "]" * depth + "}"
    result = prepare(as_text, POSTS)
    assert isinstance(result, Rejection)
    assert "nested deeper than" in result.reason


def test_a_nesting_within_the_limit_loads():
    assert not isinstance(prepare(_nested(MAX_NESTING_DEPTH - 1), POSTS), Rejection)


def test_invalid_utf8_and_giant_numbers_are_reasons():
    broken = b'{"id": 1, "owner_id": -1, "date": 1, "text": "\xff\xfe"}'
    result = prepare(broken, POSTS)
    assert isinstance(result, Rejection)
    assert "invalid UTF-8 at byte" in result.reason
    giant = '{"id": 1, "owner_id": -1, "date": 1, "views": {"count": ' + "9" * 5_000 + "}}"
    result = prepare(giant, POSTS)
    assert isinstance(result, Rejection)
    assert "out of range" in result.reason


@pytest.mark.parametrize("table", sorted(GOOD_RECORDS))
def test_the_fast_path_passes_only_what_the_general_walk_passes(table):
    """RecordSpec's generated fast path (`_fits`) must never accept a record the general walk rejects;
    it should accept the plain good record, or it saves nothing."""
    spec = RECORD_SPECS[table]
    assert spec._fits(GOOD_RECORDS[table])
    for path in spec.fields:
        for value in [*WRONG_VALUES, None, 0, 5, "7", "текст", {"count": 1}, [{"id": 1}]]:
            record = _with_value_at(GOOD_RECORDS[table], path, value)
            try:
                spec._check_fields(record)
                walk_passes = True
            except BadRecord:
                walk_passes = False
            assert walk_passes or not spec._fits(record), (path, value)
