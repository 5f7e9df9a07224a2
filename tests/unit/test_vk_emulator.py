"""The VK emulator, called through the real `vk_api` client and checked against VK's own JSON schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import vk_api
from jsonschema.exceptions import ValidationError
from jsonschema.validators import Draft7Validator, extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from requests.adapters import HTTPAdapter

import socmon_sandbox
from socmon_sandbox import VkEmulator, World, generate_world

VK_API_URL = "https://api.vk.ru/method/"
SCHEMA_DIR = Path(socmon_sandbox.__file__).parent / "schema"
SCHEMA_BASE_URI = "https://vk-api-schema.local/"
COMMUNITY_ID = 100_002  # «Подслушано Армавир» in the registry


# --- the client, as the extractor builds it --------------------------------------------------------


class SandboxAdapter(HTTPAdapter):
    """Sends what vk_api addresses to api.vk.ru to the emulator instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace(VK_API_URL, f"{self.base_url}/method/", 1)
        return super().send(request, **kwargs)


def vk_client(emulator: VkEmulator, token: str | None = "sandbox") -> vk_api.VkApi:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment for 127.0.0.1
    session.mount("https://api.vk.ru/", SandboxAdapter(emulator.url))
    vk = vk_api.VkApi(token=token, api_version="5.199", session=session)
    vk.RPS_DELAY = 0  # vk_api's own pause of 0.34 s between calls: not needed against the sandbox
    return vk


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(date(2026, 11, 24), 3)


@pytest.fixture(scope="module")
def emulator(world: World) -> Iterator[VkEmulator]:
    with VkEmulator(world) as running:
        yield running


@pytest.fixture(scope="module")
def vk(emulator: VkEmulator) -> vk_api.VkApi:
    return vk_client(emulator)


# --- VK's JSON schema ------------------------------------------------------------------------------


def _properties_with_required_flag(validator, properties, instance, schema):
    """`properties`, plus the draft-3 `"required": true` inside a property that VK's schema uses."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name in instance:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)
        elif subschema.get("required") is True:
            yield ValidationError(f"{name!r} is a required property")


def _required_list_only(validator, required, instance, schema):
    if isinstance(required, list) and validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(f"{name!r} is a required property")


VkSchemaValidator = extend(
    Draft7Validator, {"properties": _properties_with_required_flag, "required": _required_list_only}
)


def _load_schema_file(path: Path) -> dict[str, Any]:
    contents = json.loads(path.read_text(encoding="utf-8"))
    if path.relative_to(SCHEMA_DIR).as_posix() == "groups/objects.json":
        # `groups_group` forbids additional properties, yet `groups_group_full` extends it with allOf,
        # which no validator can satisfy (every full field would be "additional"). The check moves to
        # the full object instead: see `allowed_group_fields` below.
        del contents["definitions"]["groups_group"]["additionalProperties"]
    return contents


@pytest.fixture(scope="module")
def schema_registry() -> Registry:
    resources: list[tuple[str, Resource[Any]]] = [
        (
            SCHEMA_BASE_URI + path.relative_to(SCHEMA_DIR).as_posix(),
            DRAFT7.create_resource(_load_schema_file(path)),
        )
        for path in SCHEMA_DIR.rglob("*.json")
    ]
    return Registry().with_resources(resources)


@pytest.fixture(scope="module")
def validate(schema_registry: Registry):
    def check(body: dict[str, Any], definition: str) -> None:
        section = definition.split("_", 1)[0]
        schema = {"$ref": f"{SCHEMA_BASE_URI}{section}/responses.json#/definitions/{definition}"}
        VkSchemaValidator(schema, registry=schema_registry).validate(body)

    return check


@pytest.fixture(scope="module")
def allowed_group_fields() -> set[str]:
    definitions = json.loads((SCHEMA_DIR / "groups/objects.json").read_text(encoding="utf-8"))["definitions"]
    parts = [definitions["groups_group"], definitions["groups_market_properties"]]
    parts += [p for p in definitions["groups_group_full"]["allOf"] if "properties" in p]
    return {name for part in parts for name in part["properties"]}


def test_the_schema_check_rejects_what_vk_would_not_send(validate) -> None:
    post = {"id": 1, "owner_id": -1, "from_id": -1, "date": 0, "text": "", "likes": {"count": 1}}
    with pytest.raises(jsonschema.ValidationError, match="inner_type"):
        validate({"response": {"count": 1, "items": [post]}}, "wall_get_response")
    post["inner_type"] = "wall_wallpost"
    with pytest.raises(jsonschema.ValidationError, match="can_like"):
        validate({"response": {"count": 1, "items": [post]}}, "wall_get_response")


# --- wall.get --------------------------------------------------------------------------------------


def test_wall_get_pages_by_offset_with_the_pinned_post_first(vk, world, validate) -> None:
    owner_id = -COMMUNITY_ID
    seen: list[dict[str, Any]] = []
    page_size = 7
    while True:
        body = vk.method(
            "wall.get", {"owner_id": owner_id, "offset": len(seen), "count": page_size}, raw=True
        )
        validate(body, "wall_get_response")
        items = body["response"]["items"]
        seen += items
        if len(items) < page_size:
            break
    assert body["response"]["count"] == len(seen) == len(world.vk_posts[owner_id])
    assert seen[0]["is_pinned"] == 1
    rest = seen[1:]
    assert [p["id"] for p in rest] == sorted((p["id"] for p in rest), reverse=True)
    assert [p["date"] for p in rest] == sorted((p["date"] for p in rest), reverse=True)
    assert seen[0]["date"] < rest[-1]["date"], "the pinned post is old, yet it comes first"
    assert len({p["id"] for p in seen}) == len(seen)


def test_wall_get_by_domain_with_owner_and_others_filters(vk, world, validate) -> None:
    screen_name = world.vk_groups[COMMUNITY_ID]["screen_name"]
    by_domain = vk.method("wall.get", {"domain": screen_name, "count": 100})
    by_id = vk.method("wall.get", {"owner_id": -COMMUNITY_ID, "count": 100})
    assert by_domain == by_id
    own = vk.method("wall.get", {"owner_id": -COMMUNITY_ID, "count": 100, "filter": "owner"})
    others = vk.method("wall.get", {"owner_id": -COMMUNITY_ID, "count": 100, "filter": "others"})
    assert own["items"] and all(p["from_id"] == -COMMUNITY_ID for p in own["items"])
    assert others["items"] and all(p["from_id"] > 0 for p in others["items"])
    assert own["count"] + others["count"] == by_id["count"]


def test_wall_get_extended_lists_the_authors(vk, validate) -> None:
    body = vk.method("wall.get", {"owner_id": -COMMUNITY_ID, "count": 50, "extended": 1}, raw=True)
    validate(body, "wall_get_extended_response")
    response = body["response"]
    citizens = {p["from_id"] for p in response["items"] if p["from_id"] > 0}
    assert {u["id"] for u in response["profiles"]} == citizens
    assert COMMUNITY_ID in {g["id"] for g in response["groups"]}


# --- wall.getComments ------------------------------------------------------------------------------


def _post_with_long_thread(world: World) -> tuple[int, int, dict[str, Any]]:
    for (owner_id, post_id), comments in world.vk_comments.items():
        for comment in comments:
            if comment["thread"]["count"] >= 2:
                return owner_id, post_id, comment
    raise AssertionError("the world has no comment with two replies")


def test_wall_get_comments_shows_threads_as_asked(vk, world, validate) -> None:
    owner_id, post_id, comment = _post_with_long_thread(world)
    ask = {"owner_id": owner_id, "post_id": post_id, "count": 100}

    body = vk.method("wall.getComments", ask, raw=True)
    validate(body, "wall_getComments_response")
    listed = next(c for c in body["response"]["items"] if c["id"] == comment["id"])
    assert listed["thread"]["items"] == [] and listed["thread"]["count"] == comment["thread"]["count"]
    assert "likes" not in listed

    body = vk.method("wall.getComments", {**ask, "thread_items_count": 1, "need_likes": 1}, raw=True)
    validate(body, "wall_getComments_response")
    listed = next(c for c in body["response"]["items"] if c["id"] == comment["id"])
    assert [r["id"] for r in listed["thread"]["items"]] == [comment["thread"]["items"][0]["id"]]
    assert "likes" in listed

    too_many = _api_error(vk, "wall.getComments", {**ask, "thread_items_count": 11})
    assert too_many.code == 100

    replies = vk.method("wall.getComments", {**ask, "comment_id": comment["id"]}, raw=True)
    validate(replies, "wall_getComments_response")
    items = replies["response"]["items"]
    assert [r["id"] for r in items] == [r["id"] for r in comment["thread"]["items"]]
    assert all(r["parents_stack"] == [comment["id"]] for r in items)
    assert all("reply_to_comment" in r and "reply_to_user" in r for r in items)


def test_wall_get_comments_counts_and_pages_the_top_level(vk, world, validate) -> None:
    owner_id, post_id = max(world.vk_comments, key=lambda key: len(world.vk_comments[key]))
    top_level = world.vk_comments[(owner_id, post_id)]
    first = vk.method("wall.getComments", {"owner_id": owner_id, "post_id": post_id, "count": 1})
    second = vk.method(
        "wall.getComments", {"owner_id": owner_id, "post_id": post_id, "count": 1, "offset": 1}
    )
    newest = vk.method(
        "wall.getComments", {"owner_id": owner_id, "post_id": post_id, "count": 1, "sort": "desc"}
    )
    assert first["current_level_count"] == len(top_level) >= 2
    assert first["count"] == len(top_level) + sum(c["thread"]["count"] for c in top_level)
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [c["id"] for c in top_level[:2]]
    assert newest["items"][0]["id"] == top_level[-1]["id"]


def test_wall_get_comments_extended_validates(vk, world, validate) -> None:
    owner_id, post_id, _ = _post_with_long_thread(world)
    ask = {"owner_id": owner_id, "post_id": post_id, "thread_items_count": 10, "extended": 1}
    body = vk.method("wall.getComments", ask, raw=True)
    validate(body, "wall_getComments_extended_response")
    assert body["response"]["groups"], "official answers come from groups"


# --- groups.getById --------------------------------------------------------------------------------


def test_groups_get_by_id_takes_ids_and_screen_names(vk, world, validate, allowed_group_fields) -> None:
    official = next(g for g in world.vk_groups.values() if g["type"] == "page")
    fields = (
        "description,members_count,verified,cover,site,counters,contacts,wall,can_post,fixed_post,activity"
    )
    ask = {"group_ids": f"{COMMUNITY_ID},{official['screen_name']},club{COMMUNITY_ID}", "fields": fields}
    body = vk.method("groups.getById", ask, raw=True)
    validate(body, "groups_getById_object_response")
    groups = body["response"]["groups"]
    assert [g["id"] for g in groups] == [COMMUNITY_ID, official["id"]]
    assert body["response"]["profiles"] == []
    for group in groups:
        assert set(group) <= allowed_group_fields
        assert {"description", "members_count", "verified", "cover", "fixed_post"} <= set(group)
    assert groups[1]["fixed_post"] == next(
        p["id"] for p in world.vk_posts[-official["id"]] if p.get("is_pinned")
    )

    plain = vk.method("groups.getById", {"group_id": COMMUNITY_ID})["groups"][0]
    assert set(plain) == {
        "id",
        "name",
        "screen_name",
        "is_closed",
        "type",
        "photo_50",
        "photo_100",
        "photo_200",
    }


def test_official_accounts_differ_in_how_they_are_kept(vk, world) -> None:
    officials = [str(g["id"]) for g in world.vk_groups.values() if g["type"] == "page"]
    fields = "verified,description,site,cover,wall"
    groups = vk.method("groups.getById", {"group_ids": ",".join(officials), "fields": fields})["groups"]
    assert {g["verified"] for g in groups} == {0, 1}
    assert any(g["description"] == "" and g["site"] == "" for g in groups)
    assert any(g["cover"]["enabled"] == 0 for g in groups)
    assert any(g["wall"] == 3 for g in groups), "one account keeps comments closed"


# --- errors, rate limit and faults -----------------------------------------------------------------


def _api_error(vk: vk_api.VkApi, method: str, values: dict[str, Any]) -> vk_api.exceptions.ApiError:
    with pytest.raises(vk_api.exceptions.ApiError) as caught:
        vk.method(method, values)
    return caught.value


@pytest.mark.parametrize(
    ("method", "values", "code"),
    [
        ("wall.getById", {"posts": "-1_1"}, 3),
        ("wall.get", {"owner_id": "abc"}, 100),
        ("wall.get", {"owner_id": -COMMUNITY_ID, "count": 101}, 100),
        ("wall.get", {"owner_id": -COMMUNITY_ID, "filter": "everything"}, 100),
        ("wall.get", {"owner_id": -999_999}, 100),
        ("wall.get", {"domain": "no_such_community"}, 100),
        ("wall.getComments", {"owner_id": -COMMUNITY_ID}, 100),
        ("wall.getComments", {"owner_id": -COMMUNITY_ID, "post_id": 1}, 100),
        ("groups.getById", {}, 100),
    ],
)
def test_errors_surface_as_api_errors(vk, method, values, code) -> None:
    error = _api_error(vk, method, values)
    assert error.code == code
    assert {"key": "method", "value": method} in error.error["request_params"]


def test_a_call_without_token_is_refused_with_error_5(emulator) -> None:
    error = _api_error(vk_client(emulator, token=None), "wall.get", {"owner_id": -COMMUNITY_ID})
    assert error.code == 5


def test_plain_http_get_and_a_missing_version(emulator) -> None:
    url = f"{emulator.url}/method/groups.getById"
    with requests.Session() as http:
        http.trust_env = False
        answer = http.get(url, params={"group_ids": COMMUNITY_ID, "access_token": "t", "v": "5.199"})
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["response"]["groups"][0]["name"] == "Подслушано Армавир"
        no_version = http.get(url, params={"group_ids": COMMUNITY_ID, "access_token": "t"}).json()
        assert no_version["error"]["error_code"] == 8
        assert http.get(f"{emulator.url}/elsewhere").status_code == 404


def test_the_rate_limit_answers_error_6_per_token(world) -> None:
    with VkEmulator(world, requests_per_second=2) as limited:
        vk = vk_client(limited)
        del vk.error_handlers[vk_api.exceptions.TOO_MANY_RPS_CODE]  # let error 6 surface instead of a retry
        vk.method("groups.getById", {"group_id": COMMUNITY_ID})
        vk.method("groups.getById", {"group_id": COMMUNITY_ID})
        assert _api_error(vk, "groups.getById", {"group_id": COMMUNITY_ID}).code == 6
        other_token = vk_client(limited, token="another")
        assert other_token.method("groups.getById", {"group_id": COMMUNITY_ID})["groups"]

        retrying = vk_client(limited, token="patient")  # vk_api's own handler waits 0.5 s and retries
        calls_before = limited.calls["groups.getById"]
        for _ in range(3):
            assert retrying.method("groups.getById", {"group_id": COMMUNITY_ID})["groups"]
        assert limited.calls["groups.getById"] - calls_before > 3, "the third call was refused, then retried"


def test_faults_are_served_one_per_call(emulator, vk) -> None:
    emulator.faults.extend([{"error_code": 10}, {"http_status": 502}, {"body": "not json"}])
    assert _api_error(vk, "groups.getById", {"group_id": COMMUNITY_ID}).code == 10
    with pytest.raises(vk_api.exceptions.ApiHttpError):
        vk.method("groups.getById", {"group_id": COMMUNITY_ID})
    with pytest.raises(requests.JSONDecodeError):
        vk.method("groups.getById", {"group_id": COMMUNITY_ID})
    assert vk.method("groups.getById", {"group_id": COMMUNITY_ID})["groups"][0]["id"] == COMMUNITY_ID
