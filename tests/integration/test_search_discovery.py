"""Search finds what the registry does not: a complaint in a VK community nobody registered becomes an
incident through `newsfeed.search` (seeds/registry/search_queries.csv), and its community a candidate
for the registry (`marts.mart_candidate_communities`); a post both on a registered wall and found by the
search is stored once.

One generated sandbox day, plus a community outside the registry with one complaint, extracted through
the real client and loader, then `dbt build +mart_candidate_communities fct_incidents
+dim_municipalities`; the weekly report lists the candidate.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from telethon.tl import types

from socmon.period import MOSCOW, report_period
from socmon.reports.candidates import (
    SHEET,
    candidates_html_section,
    fetch_candidate_communities,
    write_candidates_sheet,
)
from socmon.reports.model import Report
from socmon.sources import extract_all, extract_batch_into_raw
from socmon.sources.registry import search_queries
from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor
from socmon.transform import run_dbt
from socmon_sandbox import VkEmulator, generate_world
from socmon_sandbox.social_world import Account, SocialWorld, TelegramChannel
from socmon_sandbox.telegram_fake import FakeTelegramClient

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 24)
UNTIL = datetime(2026, 11, 25, 0, 0, tzinfo=MOSCOW)
AS_OF = datetime(2026, 11, 25, 0, 30, tzinfo=MOSCOW)
REGISTERED = -100001  # Типичный Краснодар, in seeds/registry/monitored_communities.csv
UNREGISTERED = -300001  # in no registry file
PLACELESS = -300002  # in no registry file either; its VK city is Ейск
COMPLAINT = (
    "Третий день нет воды на улице Октябрьской в Тихорецке, дети без воды, в управляющей компании "
    "трубку не берут. Когда дадут воду?"
)
NO_PLACE_NAMED = (
    "Вторые сутки нет воды во всём доме, в управляющей компании трубку не берут, дети не мытые. Доколе?"
)
TELEGRAM_UNREGISTERED = 1799000001  # a channel the account joined, in no registry file
TELEGRAM_ABOUT = "Новости Ейска и Ейского района. Предложить новость: в личные сообщения"
ON_THE_REGISTERED_WALL = "Опять нет воды во дворе на улице Красной в Краснодаре, сколько можно терпеть?"


def post_like(template: dict[str, Any], owner_id: int, post_id: int, at: datetime, text: str) -> dict:
    post = copy.deepcopy(template)
    post.update(id=post_id, owner_id=owner_id, from_id=731_000_001, date=int(at.timestamp()), text=text)
    post["comments"]["count"] = 0
    return post


def telegram_world() -> SocialWorld:
    """One Telegram channel outside the registry, which says only in its description where it is, with
    a complaint that names no place."""
    entity = types.Channel(
        id=TELEGRAM_UNREGISTERED,
        title="Жесть у моря",
        photo=types.ChatPhotoEmpty(),
        date=datetime(2022, 3, 1, tzinfo=UTC),
        broadcast=True,
        access_hash=7,
        username="zhest_u_morya_tg",
    )
    full = types.ChannelFull(
        id=TELEGRAM_UNREGISTERED,
        about=TELEGRAM_ABOUT,
        read_inbox_max_id=0,
        read_outbox_max_id=0,
        unread_count=0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=types.PeerNotifySettings(),
        bot_info=[],
        pts=1,
        participants_count=4_200,
    )
    post = types.Message(
        id=12,
        peer_id=types.PeerChannel(TELEGRAM_UNREGISTERED),
        date=(UNTIL - timedelta(hours=7)).astimezone(UTC),
        message=NO_PLACE_NAMED,
        post=True,
        views=900,
        entities=[],
    )
    account = Account("telegram", str(TELEGRAM_UNREGISTERED), entity.username, entity.title, None)
    channel = TelegramChannel(account, entity, full, None, [post], {})
    return SocialWorld(DAY, 1, {TELEGRAM_UNREGISTERED: channel}, {}, {}, [])


def put_on_wall(posts: list[dict[str, Any]], post: dict[str, Any]) -> None:
    """A wall is newest first, its pinned post on top."""
    at = next(i for i, p in enumerate(posts) if not p.get("is_pinned") and p["date"] < post["date"])
    posts.insert(at, post)


@pytest.fixture(scope="module")
def found(warehouse, stamp_loads, tmp_path_factory) -> dict[str, Any]:
    world = generate_world(DAY, 1)
    template = world.vk_posts[REGISTERED][1]
    unregistered = post_like(template, UNREGISTERED, 501, UNTIL - timedelta(hours=5), COMPLAINT)
    world.vk_posts[UNREGISTERED] = [unregistered]
    group = {
        "id": -UNREGISTERED,
        "name": "Тихорецк | Новости",
        "screen_name": "tikhoretsk_news",
        "city": {"id": 72, "title": "Краснодар"},  # the text names Тихорецк: the text wins
    }
    world.vk_groups[-UNREGISTERED] = {**world.vk_groups[-REGISTERED], **group}
    placeless = post_like(template, PLACELESS, 7, UNTIL - timedelta(hours=6), NO_PLACE_NAMED)
    world.vk_posts[PLACELESS] = [placeless]
    group = {
        "id": -PLACELESS,
        "name": "Жесть у моря",
        "screen_name": "zhest_u_morya",
        "description": "Пишите в предложку",
        "city": {"id": 1493, "title": "Ейск"},
    }
    world.vk_groups[-PLACELESS] = {**world.vk_groups[-REGISTERED], **group}
    on_wall = post_like(template, REGISTERED, 90_001, UNTIL - timedelta(hours=4), ON_THE_REGISTERED_WALL)
    put_on_wall(world.vk_posts[REGISTERED], on_wall)

    scratch = tmp_path_factory.mktemp("dbt")
    with (
        warehouse.connect("admin", autocommit=True) as admin,
        VkEmulator(world) as vk,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("SOCMON_VK_API_URL", vk.url)
        env.setenv("SOCMON_VK_RPS", "100")
        environment = dict(os.environ)
        with stamp_loads(admin, UNTIL + timedelta(minutes=10)):
            extract_all("vk", UNTIL - timedelta(days=1), UNTIL)
            telegram = FakeTelegramClient(telegram_world())
            extract_batch_into_raw(
                [s.as_dict() for s in search_queries() if s.platform == "telegram"],
                UNTIL - timedelta(days=1),
                UNTIL,
                TelegramExtractor(lambda: TelegramChannelReader(telegram)),
            )
        searches = vk.calls["newsfeed.search"]
        run_dbt(
            [
                "build",
                "--select",
                "+mart_candidate_communities",
                "fct_incidents",
                "+dim_municipalities",
                "--exclude-resource-type",
                "test",
                "--exclude-resource-type",
                "unit_test",
                "--target-path",
                str(scratch / "target"),
                "--log-path",
                str(scratch / "logs"),
            ],
            {"as_of_at": AS_OF.isoformat()},
        )
        raw_rows = admin.execute(
            "select owner_id, post_id, source_id from raw.vk_posts"
            " where (owner_id, post_id) in ((%s, %s), (%s, %s), (%s, %s))",
            [UNREGISTERED, 501, REGISTERED, 90_001, PLACELESS, 7],
        ).fetchall()
        incidents = dict(  # the officers' schema: the incidents with their messages' keys
            admin.execute("select source_message_key, municipality_code from casework.fct_incidents")
        )
        telegram_places = admin.execute(
            "select municipality_code, municipality_source from intermediate.int_messages_classified"
            " where source_message_key = %s",
            [f"telegram:{TELEGRAM_UNREGISTERED}/12"],
        ).fetchall()
        unchanged = dict(os.environ) == environment  # extraction and dbt wrote no setting into it
        candidates = admin.execute(
            "select community_key, week_start, incident_count, municipality_codes, last_seen_at,"
            " suggested_registry_row from marts.mart_candidate_communities order by community_key"
        ).fetchall()
    return {
        "raw": raw_rows,
        "incidents": incidents,
        "candidates": candidates,
        "searches": searches,
        "telegram_requests": telegram.requests,
        "telegram_places": telegram_places,
        "environment_unchanged": unchanged,
    }


def test_a_complaint_outside_the_registry_becomes_an_incident_through_search(found) -> None:
    assert found["searches"] > 0
    assert (UNREGISTERED, 501, "vk:search:нет воды") in found["raw"]
    assert found["incidents"][f"vk:wall{UNREGISTERED}_501"] == "tikhoretsky"  # named in the text


def test_a_searched_post_that_names_no_place_has_its_communitys_city(found) -> None:
    assert (PLACELESS, 7, "vk:search:нет воды") in found["raw"]
    assert found["incidents"][f"vk:wall{PLACELESS}_7"] == "yeysky"  # VK says the community is in Ейск


def test_a_telegram_post_that_names_no_place_has_its_channel_s_described_place(found) -> None:
    assert ("GetFullChannel", TELEGRAM_UNREGISTERED) in found["telegram_requests"]
    assert ("GetDialogs",) not in found["telegram_requests"]
    # its description says "Новости Ейска и Ейского района"; the post itself names no place
    assert found["telegram_places"] == [("yeysky", "community")]


def test_extraction_and_dbt_leave_the_environment_as_it_was(found) -> None:
    assert found["environment_unchanged"]


def test_its_community_is_a_candidate_for_the_registry(found) -> None:
    published = UNTIL - timedelta(hours=5)
    others_found = (f"vk:{PLACELESS}", f"telegram:{TELEGRAM_UNREGISTERED}")
    assert [row for row in found["candidates"] if row[0] not in others_found] == [
        (
            f"vk:{UNREGISTERED}",
            date(2026, 11, 23),  # the Monday of the week
            1,
            ["tikhoretsky"],
            published,
            f"vk:{UNREGISTERED},vk,{-UNREGISTERED},,,tikhoretsky",
        )
    ]  # the registered community, whose posts the search found too, is none


def test_a_post_on_a_registered_wall_that_the_search_finds_too_is_stored_once(found) -> None:
    on_wall = [row for row in found["raw"] if row[:2] == (REGISTERED, 90_001)]
    assert on_wall == [(REGISTERED, 90_001, f"vk:{REGISTERED}")]  # read from the wall first
    assert f"vk:wall{REGISTERED}_90001" in found["incidents"]


def test_the_weekly_report_lists_the_candidate_with_its_registry_row(found) -> None:
    week = report_period("week", DAY)
    report = Report(week, (), datetime.now(MOSCOW), candidates=fetch_candidate_communities(week))
    row = f"vk:{UNREGISTERED},vk,{-UNREGISTERED},,,tikhoretsky"

    html = candidates_html_section(report)
    assert "Сообщества вне реестра" in html and "Тихорецкий район" in html and row in html

    workbook = Workbook()
    write_candidates_sheet(workbook, report)
    first = [c.value for c in workbook[SHEET][2]]
    assert first[:4] == [f"vk:{UNREGISTERED}", "ВКонтакте", 1, "Тихорецкий район"]
    assert workbook[SHEET]["F2"].value == row
