"""A local HTTP emulator of the VK API (version 5.199) serving a generated `World`.

It answers `GET` and `POST` (form-encoded, as `vk_api` sends) on `/method/<name>` for `wall.get`,
`wall.getComments`, `groups.getById`, `newsfeed.search` and `execute`, in VK's shapes: HTTP 200 with
`{"response": ...}`, or with `{"error": {"error_code", "error_msg", "request_params"}}`. Checks run in VK's
order: token (error 5), version (8), method (3), rate limit (6, only with `requests_per_second`), then the
parameters (100).

`execute` runs the VKScript that `vk_api` generates for a pool of calls, `return [API.wall.get({...}),
API.wall.getComments({...}), ...];` (that shape only), at most 25 calls. The request counts once against
the rate limit, as in VK. A call that fails leaves `false` in the response list and its error in
`execute_errors`.

Faults, for tests of the extractor's resilience: append specs to `emulator.faults` (see
`socmon_sandbox.faults`). Each HTTP request takes the first spec that names no method (or names its
method) and applies it before the normal answer; each call inside `execute` takes the first spec that
names its method. `access_errors[(method, owner_id)] = code` makes every call of a method on a wall
answer that error (15 access denied, 212 no access to comments…), as a closed or banned community does.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from socmon_sandbox.faults import Fault, take_fault
from socmon_sandbox.world import World

log = logging.getLogger(__name__)

OLDEST_SUPPORTED_VERSION = (5, 81)
MAX_COUNT = 100
WALL_GET_DEFAULT_COUNT = 20
COMMENTS_DEFAULT_COUNT = 10
MAX_THREAD_ITEMS = 10
MAX_GROUP_IDS = 500
MAX_EXECUTE_CALLS = 25
SEARCH_DEFAULT_COUNT = 30
SEARCH_MAX_COUNT = 200
SEARCH_RESULT_CAP = 1000
"""newsfeed.search serves only the first 1,000 results of a query; `total_count` says how many there are."""
RATE_WINDOW_SECONDS = 1.0
SHUTDOWN_POLL_SECONDS = 0.05  # how soon `stop()` returns
WALL_FILTERS = ("all", "owner", "others", "postponed", "suggests", "archived", "donut")
COMMENT_SORTS = ("asc", "desc", "smart")
GROUP_ID_PREFIXES = ("club", "public", "event")
_METHOD_NAME = re.compile(r"[a-z]+\.[A-Za-z]+")
BASE_GROUP_FIELDS = ("id", "name", "screen_name", "is_closed", "type", "photo_50", "photo_100", "photo_200")
"""What groups.getById returns without `fields`, and what `extended=1` lists for each group."""
PROFILE_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "can_access_closed",
    "is_closed",
    "sex",
    "screen_name",
    "photo_50",
    "photo_100",
    "online",
)

ERROR_MESSAGES = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed: no access_token passed.",
    6: "Too many requests per second",
    8: "Invalid request: v is required",
    9: "Flood control",
    10: "Internal server error",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation",
    15: "Access denied",
    18: "User was deleted or banned",
    29: "Rate limit reached",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid",
    203: "Access to group denied",
    212: "Access to post comments denied",
}


class VkApiError(Exception):
    """An error that the emulator answers as VK does."""

    def __init__(self, code: int, detail: str = "", *, message: str | None = None) -> None:
        message = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[1])
        super().__init__(f"{message}: {detail}" if detail else message)
        self.code = code


class _RateLimiter:
    """At most `per_second` accepted calls per access token in any one-second window."""

    def __init__(self, per_second: float) -> None:
        self.limit = max(1, int(per_second))
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = self._calls.setdefault(token, deque())
            while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True


class VkEmulator:
    """The VK API over a `World`, on a real HTTP server in a daemon thread.

    Use it as a context manager (or `start()`/`stop()`); calls go to `f"{emulator.url}/method/wall.get"`.
    Port 0 picks a free port. Any non-empty access token is accepted.
    """

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        requests_per_second: float | None = None,
    ) -> None:
        self.world = world
        self.host, self.port = host, port
        self.faults: deque[Fault] = deque()
        self.access_errors: dict[tuple[str, int], int] = {}
        self._methods = _VkMethods(world, self.access_errors)
        self._limiter = _RateLimiter(requests_per_second) if requests_per_second else None
        self._calls: Counter[str] = Counter()
        self._requests = 0
        self._faults_served = 0
        self._calls_lock = threading.Lock()
        self._faults_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://host:port`, without the `/method/` part."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def calls(self) -> Counter[str]:
        """How many calls each method received (a copy): `execute` once per request, and each call
        inside it under its own method."""
        with self._calls_lock:
            return Counter(self._calls)

    @property
    def requests(self) -> int:
        """How many HTTP requests reached `/method/`."""
        with self._calls_lock:
            return self._requests

    @property
    def faults_served(self) -> int:
        """How many non-empty fault specs were applied, to requests or to calls inside `execute`."""
        with self._calls_lock:
            return self._faults_served

    def start(self) -> VkEmulator:
        if self._server is None:
            self._server = _Server((self.host, self.port), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                name="vk-emulator",
                daemon=True,
            )
            self._thread.start()
            log.debug("VK emulator listening at %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server, self._thread = None, None

    def __enter__(self) -> VkEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def answer(self, method: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one HTTP request."""
        self._count(method, request=True)
        fault = self._take_fault(method, whole_request=True)
        if fault.get("delay_seconds"):
            time.sleep(fault["delay_seconds"])
        if "http_status" in fault:
            body = fault.get("body", "Bad Gateway")
            return fault["http_status"], "text/plain; charset=utf-8", body.encode("utf-8", "surrogatepass")
        if "body" in fault:
            return 200, "application/json; charset=utf-8", fault["body"].encode("utf-8", "surrogatepass")
        try:
            payload = self._respond(method, params, fault)
        except VkApiError as error:
            payload = {"error": _error_object(error, method, params)}
        try:
            body = msgspec.json.encode(payload)  # 5x faster than json.dumps on Cyrillic
        except UnicodeEncodeError:  # a lone surrogate in a text: VK escapes it as \udXXX
            body = json.dumps(payload).encode("ascii")
        if fault.get("truncated"):
            body = body[: len(body) // 2]
        return 200, "application/json; charset=utf-8", body

    def _respond(self, method: str, params: dict[str, str], fault: Fault) -> dict[str, Any]:
        """The JSON body of a request that passed the HTTP faults."""
        if "error_code" in fault:
            raise VkApiError(fault["error_code"], message=fault.get("error_msg"))
        token = params.get("access_token", "")
        if not token:
            raise VkApiError(5)
        _check_version(params.get("v", ""))
        if method != "execute" and method not in self._methods.by_name:
            raise VkApiError(3)
        if self._limiter is not None and not self._limiter.allow(token):
            raise VkApiError(6)
        if method == "execute":
            return self._execute(params.get("code", ""))
        return {"response": self._call(method, params, fault)}

    def _execute(self, code: str) -> dict[str, Any]:
        """Every call of the VKScript, in order: its answer, or `false` and an entry in `execute_errors`."""
        calls = parse_execute_code(code)
        if len(calls) > MAX_EXECUTE_CALLS:
            raise VkApiError(13, f"too many API calls ({len(calls)} > {MAX_EXECUTE_CALLS})")
        results: list[Any] = []
        errors: list[dict[str, Any]] = []
        for method, values in calls:
            self._count(method, request=False)
            try:
                if method not in self._methods.by_name:
                    raise VkApiError(3)
                fault = self._take_fault(method, whole_request=False)
                if "error_code" in fault:
                    raise VkApiError(fault["error_code"], message=fault.get("error_msg"))
                results.append(self._call(method, values, fault))
            except VkApiError as error:
                results.append(False)
                errors.append({"method": method, "error_code": error.code, "error_msg": str(error)})
        return {"response": results, "execute_errors": errors} if errors else {"response": results}

    def _call(self, method: str, params: dict[str, str], fault: Fault) -> Any:
        """One method's answer, after the access errors set for its wall; `extra_items` appended."""
        owner_id = params.get("owner_id", "")
        denied = self.access_errors.get((method, int(owner_id))) if _is_integer(owner_id) else None
        if denied:
            raise VkApiError(denied)
        response = self._methods.by_name[method](params)
        if fault.get("extra_items") and isinstance(response, dict) and "items" in response:
            response = {**response, "items": [*response["items"], *fault["extra_items"]]}
        return response

    def _count(self, method: str, *, request: bool) -> None:
        with self._calls_lock:
            self._calls[method] += 1
            self._requests += request

    def _take_fault(self, method: str, *, whole_request: bool) -> Fault:
        with self._faults_lock:
            fault = take_fault(self.faults, method, whole_request=whole_request)
        if fault:
            with self._calls_lock:
                self._faults_served += 1
        return fault


def parse_execute_code(code: str) -> list[tuple[str, dict[str, str]]]:
    """The (method, params) calls of `return [API.a.b({...}), ...];`, with params as VK receives them."""
    text = code.strip()
    if not (text.startswith("return [") and text.endswith("];")):
        raise VkApiError(12, "only `return [API.<method>({...}), ...];` is supported")
    decoder = json.JSONDecoder()
    calls: list[tuple[str, dict[str, str]]] = []
    position, end = len("return ["), len(text) - len("];")
    while position < end:
        opening = text.find("(", position)
        method = text[position + len("API.") : opening]
        if not text.startswith("API.", position) or opening < 0 or not _METHOD_NAME.fullmatch(method):
            raise VkApiError(12, f"API.<method>( expected at character {position}")
        try:
            values, after = decoder.raw_decode(text, opening + 1)
        except ValueError as exc:
            raise VkApiError(12, f"a JSON object expected at character {opening + 1}") from exc
        if not isinstance(values, dict) or not text.startswith(")", after):
            raise VkApiError(12, f"API.{method}({{...}}) expected at character {position}")
        calls.append((method, {key: _as_request_value(value) for key, value in values.items()}))
        position = after + 1
        if text.startswith(",", position):
            position += 1
    return calls


def _as_request_value(value: Any) -> str:
    """A VKScript value as it would arrive in a form-encoded request."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_as_request_value(v) for v in value)
    return str(value)


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _check_version(version: str) -> None:
    if not version:
        raise VkApiError(8)
    try:
        major, minor = (int(part) for part in version.split(".", 1))
    except ValueError as exc:
        raise VkApiError(8) from exc
    if (major, minor) < OLDEST_SUPPORTED_VERSION:
        raise VkApiError(8)  # VK: «versions below 5.81 are deprecated»


def _error_object(error: VkApiError, method: str, params: dict[str, str]) -> dict[str, Any]:
    request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
    request_params += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
    return {"error_code": error.code, "error_msg": str(error), "request_params": request_params}


# --- the methods ------------------------------------------------------------------------------------


class _VkMethods:
    """wall.get, wall.getComments and groups.getById over the world (pure: no HTTP)."""

    def __init__(self, world: World, access_errors: dict[tuple[str, int], int] | None = None) -> None:
        self.world = world
        self.access_errors = access_errors if access_errors is not None else {}  # the emulator's, shared
        self._pinned_by_wall: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.group_ids_by_screen_name = {g["screen_name"]: gid for gid, g in world.vk_groups.items()}
        self.by_name: dict[str, Callable[[dict[str, str]], Any]] = {
            "wall.get": self.wall_get,
            "wall.getComments": self.wall_get_comments,
            "groups.getById": self.groups_get_by_id,
            "newsfeed.search": self.newsfeed_search,
        }

    def wall_get(self, params: dict[str, str]) -> dict[str, Any]:
        if "owner_id" in params:
            owner_id = _int_param(params, "owner_id")
        elif params.get("domain"):
            owner_id = -self._group_id(params["domain"], "domain")
        else:
            raise VkApiError(100, "owner_id is undefined")
        posts = wall = self._wall(owner_id)
        offset = _int_param(params, "offset", default=0, minimum=0)
        count = _int_param(params, "count", default=WALL_GET_DEFAULT_COUNT, minimum=0, maximum=MAX_COUNT)
        wall_filter = _choice_param(params, "filter", WALL_FILTERS, default="all")
        if wall_filter == "owner":
            posts = [p for p in posts if p["from_id"] == owner_id]
        elif wall_filter == "others":
            posts = [p for p in posts if p["from_id"] != owner_id]
        elif wall_filter != "all":
            posts = []  # postponed, suggests…: only the community's admins see those
        pinned = self._pinned(wall) if posts is wall else [p for p in posts if p.get("is_pinned")]
        if pinned:  # pinned posts first; the rest in order, sliced without copying the whole wall
            rest = [p for p in posts[: offset + count + len(pinned)] if not p.get("is_pinned")]
            items = (pinned + rest)[offset : offset + count]
        else:
            items = posts[offset : offset + count]
        response: dict[str, Any] = {"count": len(posts), "items": items}
        if _flag_param(params, "extended"):
            response |= self._authors(owner_id, items)
        return response

    def wall_get_comments(self, params: dict[str, str]) -> dict[str, Any]:
        owner_id = _int_param(params, "owner_id")
        post_id = _int_param(params, "post_id", minimum=0)
        post = next((p for p in self._wall(owner_id) if p["id"] == post_id), None)
        if post is None:
            raise VkApiError(100, "post_id is undefined")
        offset = _int_param(params, "offset", default=0, minimum=0)
        count = _int_param(params, "count", default=COMMENTS_DEFAULT_COUNT, minimum=0, maximum=MAX_COUNT)
        sort = _choice_param(params, "sort", COMMENT_SORTS, default="asc")
        thread_items = _int_param(
            params, "thread_items_count", default=0, minimum=0, maximum=MAX_THREAD_ITEMS
        )
        need_likes = _flag_param(params, "need_likes")
        top_level = self.world.vk_comments.get((owner_id, post_id), [])
        if "comment_id" in params:
            comment_id = _int_param(params, "comment_id", minimum=0)
            parent = next((c for c in top_level if c["id"] == comment_id), None)
            if parent is None:
                raise VkApiError(100, "comment_id is undefined")
            level = parent["thread"]["items"]
            total = len(level)
        else:
            level = top_level
            total = post["comments"]["count"]
        ordered = list(reversed(level)) if sort == "desc" else level
        items = [_comment_view(c, thread_items, need_likes) for c in ordered[offset : offset + count]]
        can_post = bool(post["comments"]["can_post"])
        response: dict[str, Any] = {
            "count": total,
            "current_level_count": len(level),
            "can_post": can_post,
            "show_reply_button": can_post,
            "groups_can_post": can_post,
            "items": items,
        }
        if _flag_param(params, "extended"):
            replies = [r for c in items for r in c.get("thread", {}).get("items", [])]
            response |= self._authors(owner_id, items + replies)
        return response

    def groups_get_by_id(self, params: dict[str, str]) -> dict[str, Any]:
        raw_ids = params.get("group_ids") or params.get("group_id") or ""
        names = [name.strip() for name in raw_ids.split(",") if name.strip()]
        if not names:
            raise VkApiError(100, "group_ids is undefined")
        if len(names) > MAX_GROUP_IDS:
            raise VkApiError(100, f"group_ids is too long, maximum {MAX_GROUP_IDS}")
        requested_fields = {f.strip() for f in params.get("fields", "").split(",")}
        group_ids = list(dict.fromkeys(self._group_id(name, "group_ids") for name in names))
        groups = [
            _project(self.world.vk_groups[gid], (*BASE_GROUP_FIELDS, *requested_fields)) for gid in group_ids
        ]
        return {"groups": groups, "profiles": []}

    def newsfeed_search(self, params: dict[str, str]) -> dict[str, Any]:
        """Posts of every open wall whose text contains `q` (any case), newest first, within [start_time,
        end_time]; pages by `start_from`, the `next_from` of the previous page; only the first 1,000. As in
        VK, a wall the caller may not read (`access_errors` on its wall.get) is not searched either."""
        query = params.get("q", "").casefold()
        start_time = _int_param(params, "start_time", default=0, minimum=0)
        end_time = _int_param(params, "end_time", default=2**31, minimum=0)
        count = _int_param(params, "count", default=SEARCH_DEFAULT_COUNT, minimum=0, maximum=SEARCH_MAX_COUNT)
        offset = int(params["start_from"]) if _is_integer(params.get("start_from", "")) else 0
        found = [
            post
            for owner_id, posts in self.world.vk_posts.items()
            if ("wall.get", owner_id) not in self.access_errors
            for post in posts
            if start_time <= post["date"] <= end_time and query in post.get("text", "").casefold()
        ]
        found.sort(key=lambda p: (p["date"], p["owner_id"], p["id"]), reverse=True)
        reachable = min(len(found), SEARCH_RESULT_CAP)
        items = found[offset : min(offset + count, reachable)]
        response: dict[str, Any] = {"items": items, "count": reachable, "total_count": len(found)}
        if items and offset + len(items) < reachable:
            response["next_from"] = str(offset + len(items))
        return response

    def _pinned(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pinned posts of a wall, remembered while the wall keeps its length: scanning a whole wall
        on every page made serving, not reading, the bottleneck of the throughput benchmark."""
        key = (id(posts), len(posts))
        if key not in self._pinned_by_wall:
            self._pinned_by_wall[key] = [p for p in posts if p.get("is_pinned")]
        return self._pinned_by_wall[key]

    def _wall(self, owner_id: int) -> list[dict[str, Any]]:
        posts = self.world.vk_posts.get(owner_id)
        if posts is None:
            raise VkApiError(100, "owner_id is undefined")
        return posts

    def _group_id(self, name: str, param: str) -> int:
        """A group id from `123`, `club123`, `public123` or a screen name."""
        for prefix in ("", *GROUP_ID_PREFIXES):
            rest = name.removeprefix(prefix)
            if rest.isdigit() and int(rest) in self.world.vk_groups:
                return int(rest)
        if name in self.group_ids_by_screen_name:
            return self.group_ids_by_screen_name[name]
        raise VkApiError(100, f"{param} is invalid")

    def _authors(self, owner_id: int, items: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """The `profiles` and `groups` of an `extended=1` answer: the wall's owner and the authors."""
        author_ids = list(dict.fromkeys([owner_id, *(item["from_id"] for item in items)]))
        profiles = [
            _project(self.world.vk_users[i], PROFILE_FIELDS) for i in author_ids if i in self.world.vk_users
        ]
        groups = [
            _project(self.world.vk_groups[-i], BASE_GROUP_FIELDS)
            for i in author_ids
            if -i in self.world.vk_groups
        ]
        return {"profiles": profiles, "groups": groups}


def _comment_view(comment: dict[str, Any], thread_items: int, need_likes: bool) -> dict[str, Any]:
    """A comment as wall.getComments shows it: likes only on request, the first replies of its thread."""
    view = {k: v for k, v in comment.items() if need_likes or k != "likes"}
    if "thread" in comment:
        replies = comment["thread"]["items"][:thread_items]
        view["thread"] = {**comment["thread"], "items": [_comment_view(r, 0, need_likes) for r in replies]}
    return view


def _project(obj: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    wanted = set(fields)
    return {k: v for k, v in obj.items() if k in wanted}


def _int_param(
    params: dict[str, str],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = params.get(name, "")
    if raw == "":
        if default is None:
            raise VkApiError(100, f"{name} is missing")
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise VkApiError(100, f"{name} not integer") from exc
    if minimum is not None and value < minimum:
        raise VkApiError(100, f"{name} should be greater or equal {minimum}")
    if maximum is not None and value > maximum:
        raise VkApiError(100, f"{name} should be less or equal {maximum}")
    return value


def _choice_param(params: dict[str, str], name: str, allowed: tuple[str, ...], *, default: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise VkApiError(100, f"{name} should be one of {', '.join(allowed)}")
    return value


def _flag_param(params: dict[str, str], name: str) -> bool:
    return params.get(name, "0").lower() in ("1", "true")


# --- HTTP -------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: VkEmulator
    ) -> None:
        super().__init__(address, handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection is kept
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self._serve(urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        query = urlsplit(self.path).query
        self._serve("&".join(part for part in (query, body) if part))

    def _serve(self, query: str) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/method/"):
            self._send(404, "text/plain; charset=utf-8", b"Not Found")
            return
        params = dict(parse_qsl(query, keep_blank_values=True))
        self._send(*self.server.emulator.answer(path.removeprefix("/method/"), params))

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
