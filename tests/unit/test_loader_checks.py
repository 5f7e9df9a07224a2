"""What the loader accepts and why it rejects a record (no database needed for the checks)."""

import json

import pytest

from socmon.warehouse.loader import ENTITIES, MAX_PAYLOAD_BYTES, Rejection, prepare

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
        ('{"id": 1, "owner_id": -1, "text": "\\u0000"}', "NUL character"),
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
