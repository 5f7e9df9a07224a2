"""The OK client against the local OK API: signature, anchor paging, expired sessions, retries."""

import hashlib
import json
from datetime import date, datetime, timedelta

import pytest

from socmon.sources.base import Source
from socmon.sources.files import file_records
from socmon.sources.ok import (
    OkApiError,
    OkClient,
    OkCredentialsError,
    OkExtractor,
    OkTransportError,
    session_secret,
    signature,
)
from socmon_sandbox.ok_emulator import Fault, OkEmulator
from socmon_sandbox.social_world import MOSCOW, generate_social_world

START = date(2025, 11, 24)
COMMUNITY_GROUP = "70000000000001"
OFFICIAL_GROUP = "70000000000101"


@pytest.fixture(scope="module")
def world():
    return generate_social_world(START, days=3)


@pytest.fixture
def ok(world):
    with OkEmulator(world) as emulator:
        yield emulator


@pytest.fixture
def sleeps():
    return []


def client_for(ok, sleeps, **overrides):
    settings = {
        "application_key": ok.application_key,
        "access_token": ok.access_token,
        "application_secret_key": ok.application_secret_key,
        "api_url": ok.api_url,
        "requests_per_second": 1e9,  # no rate-limit waits among the backoffs recorded
        "sleep": sleeps.append,
    }
    return OkClient(**(settings | overrides))


def test_the_signature_is_oks_worked_example():
    # The server-side example of OK's client libraries: application key ABCDEFGHIGKLMNOPK, secret
    # ABC123DEF456GHI789JKL123, method events.get. By hand:
    token, app_secret = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7", "ABC123DEF456GHI789JKL123"
    secret = hashlib.md5((token + app_secret).encode()).hexdigest()
    assert secret == "b1a2b89707a94624c43afae67d59274c"
    by_hand = hashlib.md5(
        ("application_key=ABCDEFGHIGKLMNOPK" + "format=json" + "method=events.get" + secret).encode()
    ).hexdigest()
    assert by_hand == "232c8eb921951c4dba9b72606f9ddb4c"

    params = {"method": "events.get", "format": "json", "application_key": "ABCDEFGHIGKLMNOPK"}
    assert session_secret(token, app_secret) == secret
    assert signature(params, secret) == "232c8eb921951c4dba9b72606f9ddb4c"
    assert signature({**params, "access_token": token, "sig": "x"}, secret) == by_hand  # both left out
    # A client-side session signs with its own session secret key as it is.
    assert signature(params, "ae5362b5b588cc7294c2414d71b74d5d") == "03a41413523ea8092507949d6e711963"


def test_a_bad_signature_is_refused_with_error_104(ok, sleeps):
    client = client_for(ok, sleeps, application_secret_key="not-the-secret")
    with pytest.raises(OkCredentialsError, match="signature") as raised:
        client.call("group.getInfo", uids=OFFICIAL_GROUP, fields="uid,name")
    assert raised.value.code == 104


def test_topics_and_comments_are_paged_with_anchors(world, ok, sleeps):
    client = client_for(ok, sleeps)
    extractor = OkExtractor(client, topics_page_size=4, comments_page_size=2)
    source = Source(f"ok:{COMMUNITY_GROUP}", "ok", "community", COMMUNITY_GROUP, "Подслушано Краснодар")
    since = datetime.combine(START, datetime.min.time(), MOSCOW)
    until = since + timedelta(days=3)

    batches = list(extractor.extract(source, since, until, cursors={}))

    group = world.ok_groups[COMMUNITY_GROUP]
    topics = next(b for b in batches if b.table == "ok_topics")
    assert [t["id"] for t in topics.records] == [t["id"] for t in group.topics]
    assert {t["group_id"] for t in topics.records} == {COMMUNITY_GROUP}
    assert topics.cursor == {"newest_ms": group.topics[0]["created_ms"]}
    comments = [c for b in batches if b.table == "ok_comments" for c in b.records]
    assert len(comments) == sum(len(c) for c in group.comments.values())
    assert all(isinstance(c["topic_id"], int) and str(c["topic_id"]) in group.comments for c in comments)

    topic_pages = [r for r in ok.requests if r["method"] == "mediatopic.getTopics"]
    assert len(topic_pages) == -(-len(group.topics) // 4)
    assert "anchor" not in topic_pages[0]
    assert all(r["direction"] == "FORWARD" and r["anchor"] for r in topic_pages[1:])
    assert any("anchor" in r for r in ok.requests if r["method"] == "discussions.getComments")
    # data minimisation: no user's name (nor any user field) is asked for
    assert [r["fields"] for r in topic_pages if "user." in r["fields"].lower()] == []


def test_a_second_run_reads_topics_from_the_cursor(world, ok, sleeps):
    extractor = OkExtractor(client_for(ok, sleeps))
    source = Source(f"ok:{OFFICIAL_GROUP}", "ok", "official_account", OFFICIAL_GROUP, "Администрация")
    first_day = datetime.combine(START, datetime.min.time(), MOSCOW)
    day = timedelta(days=1)

    first = {b.table: b for b in extractor.extract(source, first_day, first_day + day, cursors={})}
    cursors = {b.method: b.cursor for b in first.values() if b.method}
    second = {b.table: b for b in extractor.extract(source, first_day + day, first_day + 2 * day, cursors)}

    def ids(batch):
        return {t["id"] for t in batch.records}

    published = {t["id"]: t["created_ms"] for t in world.ok_groups[OFFICIAL_GROUP].topics}
    boundary = int((first_day + day).timestamp() * 1000)
    assert ids(first["ok_topics"]) == {i for i, ms in published.items() if ms < boundary}
    assert ids(second["ok_topics"]) >= {
        i for i, ms in published.items() if boundary <= ms < boundary + 86_400_000
    }
    assert first["ok_groups"].records[0]["uid"] == OFFICIAL_GROUP
    assert "ok_groups" in second  # a new day: the account's metadata is read again


def test_comments_of_a_topic_deleted_meanwhile_are_skipped(world, ok, sleeps):
    extractor = OkExtractor(client_for(ok, sleeps))
    source = Source(f"ok:{COMMUNITY_GROUP}", "ok", "community", COMMUNITY_GROUP, "Подслушано Краснодар")
    since = datetime.combine(START, datetime.min.time(), MOSCOW)
    batches = extractor.extract(source, since, since + timedelta(days=3), cursors={})
    topics = next(batches)  # mediatopic.getTopics is answered; the first getComments will not be
    ok.inject(Fault.api_error(300))

    comments = [c for b in batches for c in b.records]

    every_comment = world.ok_groups[COMMUNITY_GROUP].comments
    first_commented = next(t["id"] for t in topics.records if t["discussion_summary"]["comments_count"])
    assert len(comments) == sum(map(len, every_comment.values())) - len(every_comment[first_commented])


def test_an_expired_session_raises_a_clear_credentials_error(ok, sleeps):
    client = client_for(ok, sleeps, access_token="an-old-token")
    with pytest.raises(OkCredentialsError) as raised:
        client.call("mediatopic.getTopics", gid=COMMUNITY_GROUP, count=5)
    assert raised.value.code == 102
    assert "OK session expired: renew the access token in the ok_default connection" in str(raised.value)
    assert len(ok.requests) == 1 and sleeps == []  # not retried


def test_a_server_error_then_success_is_retried(ok, sleeps):
    ok.inject(Fault.http_status(503), Fault.not_json(), Fault.api_error(2), Fault.api_error(8))
    body = client_for(ok, sleeps).call("group.getInfo", uids=OFFICIAL_GROUP, fields="uid,name,members_count")
    assert body == [{"uid": OFFICIAL_GROUP, "name": "Администрация Краснодарского края",
                     "members_count": body[0]["members_count"]}]  # fmt: skip
    assert len(ok.requests) == 5
    assert sleeps == [0.25, 0.5, 1.0, 2.0]


def test_an_exhausted_retry_budget_raises(ok, sleeps):
    ok.inject(*[Fault.http_status(502)] * 3)
    client = client_for(ok, sleeps, retry_budget=2)
    with pytest.raises(OkTransportError, match="HTTP 502"):
        client.call("group.getInfo", uids=OFFICIAL_GROUP, fields="uid")
    assert len(ok.requests) == 3


def test_other_api_errors_are_raised_at_once(ok, sleeps):
    with pytest.raises(OkApiError) as raised:
        client_for(ok, sleeps).call("mediatopic.getTopics", gid="1")  # no such group
    assert (raised.value.code, type(raised.value)) == (300, OkApiError)
    assert sleeps == []


def test_over_the_rate_limit_the_api_answers_flood_blocked(world, sleeps):
    with OkEmulator(world, requests_per_second=2) as limited:
        client = client_for(limited, sleeps, retry_budget=0)
        for _ in range(2):
            client.call("group.getInfo", uids=OFFICIAL_GROUP, fields="uid")
        with pytest.raises(OkApiError) as raised:
            client.call("group.getInfo", uids=OFFICIAL_GROUP, fields="uid")
    assert raised.value.code == 8  # FLOOD_BLOCKED: retried like any transient error, within the budget


def test_response_files_map_to_raw_tables(world, tmp_path):
    def records(body, topic_id=None):
        path = tmp_path / "body.json"
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        found = list(file_records(path, "ok", topic_id))
        tables = {table for table, _ in found}
        assert len(tables) == 1
        return tables.pop(), [record for _, record in found]

    group = world.ok_groups[COMMUNITY_GROUP]
    topics = {"media_topics": group.topics[:2], "anchor": "x", "has_more": True}
    table, items = records(topics)
    assert table == "ok_topics" and [t["group_id"] for t in items] == [COMMUNITY_GROUP] * 2
    table, _ = records([group.info])
    assert table == "ok_groups"
    topic_id = next(t for t, c in group.comments.items() if c)
    table, items = records({"comments": group.comments[topic_id]}, topic_id=int(topic_id))
    assert table == "ok_comments" and {c["topic_id"] for c in items} == {int(topic_id)}
    _, items = records({"comments": group.comments[topic_id]})
    assert all("topic_id" not in c for c in items)  # the body does not say: the loader will quarantine


def test_a_topic_without_owner_ref_takes_the_one_group_of_entities(world, tmp_path):
    group = world.ok_groups[COMMUNITY_GROUP]
    topic = {k: v for k, v in group.topics[0].items() if k not in ("owner_ref", "group_id")}
    body = {"media_topics": [topic], "entities": {"groups": [{"uid": COMMUNITY_GROUP}]}}
    path = tmp_path / "getTopics.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    [(table, record)] = file_records(path, "ok")
    assert table == "ok_topics" and record["group_id"] == COMMUNITY_GROUP


def test_comments_of_an_old_topic_with_an_open_incident_are_read_again(world, ok, sleeps):
    extractor = OkExtractor(client_for(ok, sleeps))
    source = Source(f"ok:{COMMUNITY_GROUP}", "ok", "community", COMMUNITY_GROUP, "Подслушано Краснодар")
    since = datetime.combine(START, datetime.min.time(), MOSCOW) + timedelta(days=10)  # all topics are old
    group = world.ok_groups[COMMUNITY_GROUP]
    open_topic = next(topic_id for topic_id, comments in group.comments.items() if comments)

    def comment_topics(open_threads):
        batches = extractor.extract(source, since, since + timedelta(hours=1), {}, open_threads)
        return {c["topic_id"] for b in batches if b.table == "ok_comments" for c in b.records}

    assert comment_topics([]) == set()
    assert comment_topics([open_topic]) == {int(open_topic)}
