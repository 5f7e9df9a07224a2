"""No record halts the warehouse: a file of mixed bad input, a deeply nested file, a truncated Telegram
export and poison rows written straight into raw all leave `socmon transform` (dbt build) green. Every
clean item reaches casework.fct_messages_classified; every broken one stays out of the marts and is listed
in a quarantine (raw.rejected for the loader, staging.stg_quarantined_rows for staging)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from socmon.cli import main as socmon
from socmon.transform import run_dbt
from socmon.warehouse import loader
from socmon.warehouse.quarantine import quarantined_records

COMMUNITY = -100002  # Подслушано Армавир, a monitored VK community
CHANNEL = 1700000001  # Краснодар Live | Новости, a monitored Telegram channel
DATE = 1764061200  # 2025-11-25 09:00 UTC
LOADED_AT = datetime(2025, 11, 25, 12, 0, tzinfo=UTC)  # the fixed clock: loads, then the build
AS_OF = LOADED_AT + timedelta(hours=1)


def vk_post(post_id: int, text: str, **fields) -> dict:
    post = {"id": post_id, "owner_id": COMMUNITY, "from_id": 500 + post_id, "date": DATE + post_id}
    return {**post, "text": text, **fields}


def telegram_post(message_id: int, text: str, **fields) -> dict:
    return {
        "_": "Message",
        "id": message_id,
        "peer_id": {"_": "PeerChannel", "channel_id": CHANNEL},
        "date": "2025-11-25T10:00:00+00:00",
        "message": text,
        "post": True,
        **fields,
    }


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CLEAN_VK = {
    101: "В Армавире третий день нет воды на улице Кирова 😡 +7 (861) 255-12-34, voda.kirova@mail.ru",
    102: "Яма на дороге по ул. Ленина\u2028уже месяц никто не чинит",  # U+2028 inside the text
    103: "Продам гараж",
    104: "Когда уберут мусор во дворе на Розы Люксембург?",
    105: "Спасибо за новый парк!",
    301: "Не работает светофор на Мира",
    302: "Опять отключили свет в Армавире",
}
LOADER_REJECTS_VK = {  # post id: why the loader quarantines it
    201: "field 'date' should be a Unix time",
    203: "NUL character",
    204: "field 'from_id' should be a 64-bit integer",
    205: "field 'likes' should be an object",
    206: "not JSON",
    207: "invalid UTF-8",
    208: "lone surrogate",
    209: "field 'date' should be a Unix time",
    303: "nested deeper than",
    304: "nested deeper than",
}


def mixed_vk_file() -> bytes:
    items = [json.dumps(vk_post(i, CLEAN_VK[i]), ensure_ascii=False).encode() for i in range(101, 106)]
    broken = [
        json.dumps(vk_post(201, "вчера было", date="вчера"), ensure_ascii=False),
        json.dumps(vk_post(202, "огромный id", id=2**64)),
        json.dumps(vk_post(203, "нулевой \u0000 символ")),
        json.dumps(vk_post(204, "автор", from_id=2**70)),
        json.dumps(vk_post(205, "лайки", likes=[1, 2])),
        '{"id": 206, "owner_id": -100002, "date": 1764061406, "text": "сломано",, }',
        b'{"id": 207, "owner_id": -100002, "date": 1, "text": "\xff\xfe"}',  # invalid UTF-8
        '{"id": 208, "owner_id": -100002, "date": 1764061408, "text": "\\udc00"}',
        json.dumps(vk_post(209, "далёкое будущее", date=10**15)),
    ]
    encoded = [b if isinstance(b, bytes) else b.encode() for b in broken]
    return b'{"response": {"count": 14, "items": [' + b", ".join(items + encoded) + b"]}}"


def deep_vk_file() -> str:
    items = [
        json.dumps(vk_post(301, CLEAN_VK[301]), ensure_ascii=False),
        f'{{"id": 303, "owner_id": -100002, "date": 1764061503, "attachments": {nested(5000)}}}',
        json.dumps(vk_post(302, CLEAN_VK[302]), ensure_ascii=False),
        f'{{"id": 304, "owner_id": -100002, "date": 1764061504, "attachments": {nested(100)}}}',
    ]
    return '{"response": {"count": 4, "items": [' + ", ".join(items) + "]}}"


CLEAN_TELEGRAM = {
    11: "Опять нет горячей воды\u2028на Северной, куда звонить?",
    12: "Дороги не чистят\u2029третий день",
}


def telegram_file() -> str:
    lines = [json.dumps(telegram_post(i, CLEAN_TELEGRAM[i]), ensure_ascii=False) for i in CLEAN_TELEGRAM]
    lines.append(json.dumps(telegram_post(21, "без даты", date="вчера"), ensure_ascii=False))
    lines.append(json.dumps(telegram_post(22, "кто автор", from_id="user9"), ensure_ascii=False))
    lines.append(json.dumps(telegram_post(23, "ответ", reply_to=[1]), ensure_ascii=False))
    cut_short = json.dumps(telegram_post(24, "последняя строка оборвана"), ensure_ascii=False)[:60]
    return "\n".join(lines) + "\n" + cut_short  # no newline at the end: a truncated export


POISON_VK = {  # written straight into raw.vk_posts, past the loader: post id -> payload
    401: {"id": 401, "owner_id": COMMUNITY, "date": "вчера", "text": "Яма на Кирова"},
    402: {"id": 402, "owner_id": COMMUNITY, "date": DATE, "from_id": str(2**64), "text": "Нет воды"},
    403: [1, 2],
}


@pytest.fixture(scope="module")
def bad_input_built(warehouse, stamp_loads, tmp_path_factory):
    files = tmp_path_factory.mktemp("bad-input")
    (files / "mixed.json").write_bytes(mixed_vk_file())
    (files / "deep.json").write_text(deep_vk_file(), encoding="utf-8")
    (files / "channel.jsonl").write_text(telegram_file(), encoding="utf-8")
    with warehouse.connect("admin", autocommit=True) as admin:
        loader.empty_raw(admin)
        with stamp_loads(admin, LOADED_AT):
            platforms = {"mixed.json": "vk", "deep.json": "vk", "channel.jsonl": "telegram"}
            exit_codes = {
                name: socmon(["ingest", str(files / name), "--platform", platform])
                for name, platform in platforms.items()
            }
            for post_id, payload in POISON_VK.items():
                admin.execute(
                    "insert into raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id)"
                    " values (%s, %s, %s, %s, 'hand-made', 'hand-made')",
                    [COMMUNITY, post_id, Jsonb(payload), f"poison-{post_id}"],
                )
            admin.execute(
                "insert into raw.telegram_messages"
                " (peer_id, message_id, payload, payload_hash, source_id, load_id)"
                " values (%s, 31, %s, 'poison-31', 'hand-made', 'hand-made')",
                [CHANNEL, Jsonb(telegram_post(31, "дата мимо", date="2025-02-30T10:00:00+00:00"))],
            )
        # dbt build, models and data tests; raises if it fails. dbt's unit tests need no data (and those
        # given `this` fail on a fresh database: left to the tests of the incremental models)
        run_dbt(["build", "--exclude-resource-type", "unit_test"], {"as_of_at": AS_OF.isoformat()})
        classified = {
            key for (key,) in admin.execute("select source_message_key from casework.fct_messages_classified")
        }
        yield {"exit_codes": exit_codes, "classified": classified, "admin": admin}


def vk_key(post_id: int) -> str:
    return f"vk:wall{COMMUNITY}_{post_id}"


def telegram_key(message_id: int) -> str:
    return f"telegram:{CHANNEL}/{message_id}"


def test_every_clean_item_is_classified(bad_input_built):
    clean = {vk_key(i) for i in CLEAN_VK} | {telegram_key(i) for i in CLEAN_TELEGRAM}
    assert clean <= bad_input_built["classified"]


def test_officers_see_an_incident_s_text_with_phone_numbers_and_e_mails_masked(warehouse, bad_input_built):
    with warehouse.connect("officer") as officer:
        [(text,)] = officer.execute(
            "select message_text from casework.fct_incidents where source_message_key = %s", [vk_key(101)]
        ).fetchall()
    assert text.startswith("В Армавире третий день нет воды")
    assert "[телефон скрыт]" in text and "[e-mail скрыт]" in text
    assert "255-12-34" not in text and "voda.kirova" not in text


def test_no_broken_item_reaches_the_marts(bad_input_built):
    broken = {vk_key(i) for i in [*LOADER_REJECTS_VK, *POISON_VK]} | {
        telegram_key(i) for i in (21, 22, 23, 24, 31)
    }
    assert not broken & bad_input_built["classified"]


def test_the_loader_quarantines_each_bad_item_with_its_reason(bad_input_built):
    admin = bad_input_built["admin"]
    rejected = admin.execute("select source_id, reason, raw_text from raw.rejected").fetchall()
    vk_files = ("file:mixed.json", "file:deep.json")
    vk = [(reason, text) for source, reason, text in rejected if source in vk_files]
    for post_id, reason in LOADER_REJECTS_VK.items():
        assert any(reason in r and f'"id": {post_id},' in t for r, t in vk), (post_id, reason)
    assert any("64-bit integer" in r and str(2**64) in t for r, t in vk)  # post 202's id
    assert len(vk) == len(LOADER_REJECTS_VK) + 1

    telegram = {reason for source, reason, _ in rejected if source == "file:channel.jsonl"}
    assert any("field 'date' should be an ISO 8601" in r for r in telegram)
    assert any("field 'from_id' should be an object" in r for r in telegram)
    assert any("field 'reply_to' should be an object" in r for r in telegram)
    assert any(r.startswith("file damaged at byte ") and "truncated" in r for r in telegram)
    assert len(telegram) == 4


def test_a_truncated_file_exits_non_zero_and_the_others_zero(bad_input_built):
    assert bad_input_built["exit_codes"] == {"mixed.json": 0, "deep.json": 0, "channel.jsonl": 1}


def test_the_damaged_tail_is_quarantined_with_its_byte_offset(bad_input_built):
    [(reason, text)] = (
        bad_input_built["admin"]
        .execute("select reason, raw_text from raw.rejected where reason like 'file damaged%'")
        .fetchall()
    )
    offset = int(reason.removeprefix("file damaged at byte ").split(":")[0])
    whole = telegram_file().encode()
    assert whole[offset:].decode() == text


def test_staging_quarantines_the_poison_rows_and_says_why(bad_input_built):
    rows = (
        bad_input_built["admin"]
        .execute("select object_key, reason from staging.stg_quarantined_rows order by object_key")
        .fetchall()
    )
    assert rows == [
        (telegram_key(31), "field 'date' is not an ISO 8601 time with its offset: 2025-02-30T10:00:00+00:00"),
        (vk_key(401), "field 'date' is not a Unix time: вчера"),
        (vk_key(402), f"field 'from_id' is not a 64-bit integer: {2**64}"),
        (vk_key(403), "payload is not a JSON object but array"),
    ]


def test_quarantine_list_shows_both_quarantines_newest_first(bad_input_built, capsys, only_the_role):
    records = quarantined_records(bad_input_built["admin"])
    assert {r.stage for r in records} == {"loader", "staging"}
    assert [r.at for r in records] == sorted((r.at for r in records), reverse=True)
    with only_the_role("transform"):  # it reads raw.rejected and staging, and needs no more
        assert socmon(["quarantine", "list"]) == 0
    shown = capsys.readouterr().out
    assert "field 'date' is not a Unix time: вчера" in shown
    assert "nested deeper than" in shown
    assert shown.strip().endswith(f"{len(records) - 4} rejected by the loader, 4 left out by staging")


def test_the_gate_counts_both_quarantines_without_failing_on_them(bad_input_built):
    from socmon.quality.gate import run_gate

    records = quarantined_records(bad_input_built["admin"])
    result = run_gate()
    assert result.quarantined == {"loader": len(records) - 4, "staging": 4}
    assert f"quarantined: {len(records) - 4} by loader, 4 by staging" in result.summary()
