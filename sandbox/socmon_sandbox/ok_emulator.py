"""A local OK REST API (`/fb.do`) over the generated social world, on a real HTTP server.

It checks what OK checks, and answers the way OK answers:

- the application key (error 101), the access token (102: an unknown token is an expired session)
  and the signature (104), computed as `socmon.sources.ok.signature` documents;
- `group.getInfo` (a list of groups, with the requested fields), `mediatopic.getTopics` (newest first)
  and `discussions.getComments` (oldest first), both paged with an opaque `anchor`, `direction`
  FORWARD or BACKWARD, `count` and `has_more`;
- errors as HTTP 200 with `{"error_code", "error_msg", "error_data"}` and an `invocation-error` header.

For tests: an optional rate limit (error 8, FLOOD_BLOCKED, over `requests_per_second`) and a queue of
faults (`Fault.api_error(code)`, `Fault.http_status(503)`, `Fault.not_json()`), each served instead of
the next request. `requests` records the parameters of every request received.

    with OkEmulator(generate_social_world(date(2025, 11, 24), 3)) as ok:
        client = OkClient(ok.application_key, ok.access_token,
                          application_secret_key=ok.application_secret_key, api_url=ok.api_url)
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from socmon.sources.ok import session_secret, signature
from socmon_sandbox.social_world import SocialWorld

MAX_COUNT = 100
ERROR_NAMES = {
    1: "UNKNOWN", 2: "SERVICE", 3: "METHOD", 8: "FLOOD_BLOCKED", 10: "PERMISSION_DENIED", 100: "PARAM",
    101: "PARAM_API_KEY", 102: "PARAM_SESSION_EXPIRED", 104: "PARAM_SIGNATURE", 300: "NOT_FOUND",
    9999: "SYSTEM",
}  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One bad answer, served instead of the next request."""

    kind: str  # api_error | http_status | not_json
    value: int = 0

    @classmethod
    def api_error(cls, code: int) -> Fault:
        return cls("api_error", code)

    @classmethod
    def http_status(cls, status: int) -> Fault:
        return cls("http_status", status)

    @classmethod
    def not_json(cls) -> Fault:
        return cls("not_json")


class OkApiFailure(Exception):
    """An OK error answer, raised inside the emulator's method handlers."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{ERROR_NAMES.get(code, 'ERROR')} : {detail}")
        self.code = code


class OkEmulator:
    """The OK API of a `SocialWorld`; a context manager that serves it on 127.0.0.1 (port 0: any free one)."""

    def __init__(
        self,
        world: SocialWorld,
        *,
        application_key: str = "sandbox-app-key",
        application_secret_key: str = "sandbox-app-secret",
        access_token: str = "sandbox-access-token",
        host: str = "127.0.0.1",
        port: int = 0,
        requests_per_second: float | None = None,
        faults: Iterable[Fault] = (),
    ) -> None:
        self.world = world
        self.application_key = application_key
        self.application_secret_key = application_secret_key
        self.access_token = access_token
        self.requests_per_second = requests_per_second
        self.requests: list[dict[str, str]] = []
        self._faults: deque[Fault] = deque(faults)
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self.host = host
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/fb.do"

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def start(self) -> OkEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ok-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> OkEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- one request -------------------------------------------------------------------------------

    def answer(self, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """(HTTP status, body, extra headers) for the parameters of one request."""
        with self._lock:
            self.requests.append({k: v for k, v in params.items() if k not in ("sig", "access_token")})
            fault = self._faults.popleft() if self._faults else None
            over_rate = self._over_rate()
        if fault is not None and fault.kind == "http_status":
            return (
                fault.value,
                b"<html><body>Service Unavailable</body></html>",
                {"Content-Type": "text/html"},
            )
        if fault is not None and fault.kind == "not_json":
            return 200, b"<html>upstream error</html>", {"Content-Type": "text/html"}
        try:
            if fault is not None:
                raise OkApiFailure(fault.value, "injected by the sandbox")
            if over_rate:
                raise OkApiFailure(8, "Too many requests")
            self._authenticate(params)
            body = self._dispatch(params)
        except OkApiFailure as failure:
            error = {"error_code": failure.code, "error_msg": str(failure), "error_data": None}
            return 200, _json(error), {"invocation-error": str(failure.code)}
        return 200, _json(body), {}

    def _over_rate(self) -> bool:
        if not self.requests_per_second:
            return False
        now = time.monotonic()
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.requests_per_second:
            return True
        self._recent.append(now)
        return False

    def _authenticate(self, params: dict[str, str]) -> None:
        if params.get("application_key") != self.application_key:
            raise OkApiFailure(101, "Invalid application key")
        token = params.get("access_token")
        if token != self.access_token:
            raise OkApiFailure(102, "Session expired")
        expected = signature(params, session_secret(token, self.application_secret_key))
        if params.get("sig", "").lower() != expected:
            raise OkApiFailure(104, "Invalid signature")

    def _dispatch(self, params: dict[str, str]) -> Any:
        method = params.get("method", "")
        handler = {
            "group.getInfo": self._group_info,
            "mediatopic.getTopics": self._topics,
            "discussions.getComments": self._comments,
        }.get(method)
        if handler is None:
            raise OkApiFailure(3, f"Method {method} does not exist")
        return handler(params)

    # --- methods -----------------------------------------------------------------------------------

    def _group_info(self, params: dict[str, str]) -> list[dict[str, Any]]:
        uids, fields = _required(params, "uids").split(","), _required(params, "fields")
        wanted = {f.strip().lower() for f in fields.split(",")} | {"uid"}
        return [
            {k: v for k, v in self.world.ok_groups[uid].info.items() if k.lower() in wanted}
            for uid in uids
            if uid in self.world.ok_groups
        ]

    def _topics(self, params: dict[str, str]) -> dict[str, Any]:
        group = self.world.ok_groups.get(_required(params, "gid"))
        if group is None:
            raise OkApiFailure(300, "Group not found")
        page, anchor, has_more = _page(group.topics, params)
        authors = {t["author_ref"].removeprefix("user:") for t in page if t["author_ref"].startswith("user:")}
        # as OK does: the users' entities hold the `user.*` fields requested, and are left out without any
        fields = {f.strip().lower() for f in params.get("fields", "").split(",")}
        user_fields = {f.removeprefix("user.") for f in fields if f.startswith("user.")}
        entities: dict[str, Any] = {"groups": [{"uid": group.info["uid"], "name": group.info["name"]}]}
        if user_fields:
            entities["users"] = [
                {k: v for k, v in self.world.ok_users[uid].items() if k.lower() in user_fields | {"uid"}}
                for uid in sorted(authors)
                if uid in self.world.ok_users
            ]
        return {"media_topics": page, "anchor": anchor, "has_more": has_more, "entities": entities}

    def _comments(self, params: dict[str, str]) -> dict[str, Any]:
        topic_id = _required(params, "discussionId")
        if _required(params, "discussionType") != "GROUP_TOPIC":
            raise OkApiFailure(100, "discussionType: the sandbox serves GROUP_TOPIC discussions only")
        for group in self.world.ok_groups.values():
            if topic_id in group.comments:
                page, anchor, has_more = _page(group.comments[topic_id], params)
                return {"comments": page, "anchor": anchor, "has_more": has_more}
        raise OkApiFailure(300, "Discussion not found")


def _page(items: list[dict[str, Any]], params: dict[str, str]) -> tuple[list[dict[str, Any]], str, bool]:
    """A page after (FORWARD) or before (BACKWARD) the anchor; the anchor encodes a position."""
    count = min(max(int(params.get("count") or 10), 1), MAX_COUNT)
    position = _position(params["anchor"]) if params.get("anchor") else 0
    if params.get("direction", "FORWARD").upper() == "BACKWARD":
        start = max(position - count, 0)
        return items[start:position], _anchor(start), start > 0
    page = items[position : position + count]
    end = position + len(page)
    return page, _anchor(end), end < len(items)


def _anchor(position: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{position}".encode()).decode()


def _position(anchor: str) -> int:
    try:
        prefix, _, position = base64.urlsafe_b64decode(anchor.encode()).decode().partition(":")
        if prefix == "sandbox":
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise OkApiFailure(100, "anchor: invalid value")


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise OkApiFailure(100, f"{name}: missing required parameter")
    return value


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _handler_for(emulator: OkEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one small answer per request: no 40 ms delayed-ACK stalls

        def do_GET(self) -> None:
            self._serve(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode("utf-8")
            query = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
            self._serve({**dict(query), **dict(parse_qsl(form, keep_blank_values=True))})

        def _serve(self, params: dict[str, str]) -> None:
            if urlsplit(self.path).path.rstrip("/") != "/fb.do":
                status, body, headers = 404, b"not found", {"Content-Type": "text/plain"}
            else:
                status, body, headers = emulator.answer(params)
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json;charset=utf-8"))
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tests and the demo read `requests` instead

    return Handler
