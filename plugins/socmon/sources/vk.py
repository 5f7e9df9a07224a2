"""VKontakte: a budgeted vk_api client (API 5.199) and the extractor of walls, comments and groups."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import requests
import vk_api
from requests.adapters import HTTPAdapter
from vk_api.exceptions import ApiError, ApiHttpError

from socmon.sources.base import Batch, Source

log = logging.getLogger(__name__)

API_VERSION = "5.199"
VK_API_URL = "https://api.vk.ru"
PAGE_SIZE = 100  # the most wall.get and wall.getComments return per call
THREAD_ITEMS = 10  # the most replies wall.getComments inlines per comment
COMMENT_REREAD_DAYS = 3  # comments of posts this recent are re-read on every run, to see answers
RETRYABLE_ERRORS = {6, 9, 10}  # too many requests per second, flood control, internal server error


class VkTransport(HTTPAdapter):
    """Gives every request a timeout, and sends it to another API host (the sandbox) when asked."""

    def __init__(self, api_url: str = VK_API_URL, timeout: float = 30.0) -> None:
        super().__init__(max_retries=0)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if self.api_url != VK_API_URL and request.url.startswith(VK_API_URL):
            request.url = self.api_url + request.url[len(VK_API_URL) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


class _VkApiWithoutOwnRetry(vk_api.VkApi):
    """vk_api retries error 6 forever; socmon retries within its own budget instead."""

    def too_many_rps_handler(self, error: ApiError) -> None:
        return None


class VkClient:
    """Calls VK API methods at a bounded rate, retrying transient failures within a budget."""

    def __init__(
        self,
        token: str,
        api_url: str = VK_API_URL,
        requests_per_second: float = 3.0,
        retry_budget: int = 5,
        max_backoff_seconds: float = 8.0,
    ) -> None:
        session = requests.Session()
        session.mount("https://", VkTransport(api_url))
        session.mount("http://", VkTransport(api_url))
        self._vk = _VkApiWithoutOwnRetry(token=token, api_version=API_VERSION, session=session)
        self._vk.RPS_DELAY = 1.0 / requests_per_second
        self.retry_budget = retry_budget
        self.max_backoff_seconds = max_backoff_seconds

    def call(self, method: str, **params: Any) -> Any:
        attempt = 0
        while True:
            try:
                return self._vk.method(method, params)
            except ApiError as exc:
                if exc.code not in RETRYABLE_ERRORS or attempt >= self.retry_budget:
                    raise
                reason = f"VK error {exc.code}"
            except (requests.RequestException, ApiHttpError, ValueError) as exc:
                if attempt >= self.retry_budget:
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            delay = min(self.max_backoff_seconds, 0.25 * 2**attempt)
            attempt += 1
            log.warning("%s on %s, retry %d/%d in %.2fs", reason, method, attempt, self.retry_budget, delay)
            time.sleep(delay)


class VkExtractor:
    """Posts and comments of VK walls, and the metadata of official accounts."""

    platform = "vk"

    def __init__(self, client: VkClient) -> None:
        self.client = client

    def extract(
        self, source: Source, since: datetime, until: datetime, cursors: dict[str, dict[str, Any]]
    ) -> Iterator[Batch]:
        owner_id = int(source.external_id)
        wall_cursor = cursors.get("wall.get", {})
        if "newest_date" in wall_cursor:  # a missed run leaves no gap: read from where we stopped
            since = min(since, datetime.fromtimestamp(wall_cursor["newest_date"], since.tzinfo))
        since_ts, until_ts = int(since.timestamp()), int(until.timestamp())
        reread_from_ts = int((until - timedelta(days=COMMENT_REREAD_DAYS)).timestamp())

        posts = list(self._wall(owner_id, oldest_ts=min(since_ts, reread_from_ts)))
        new_posts = [p for p in posts if since_ts <= p["date"] < until_ts]
        newest = max([p["date"] for p in new_posts], default=wall_cursor.get("newest_date", since_ts))
        yield Batch("vk_posts", new_posts, method="wall.get", cursor={"newest_date": newest})

        for post in posts:
            if reread_from_ts <= post["date"] < until_ts and post.get("comments", {}).get("count", 0) > 0:
                comments = [c for c in self._comments(owner_id, post["id"]) if c.get("date", 0) < until_ts]
                yield Batch("vk_comments", comments)

        if source.kind == "official_account":
            today = until.date().isoformat()
            if cursors.get("groups.getById", {}).get("day") != today:
                groups = self.client.call("groups.getById", group_id=-owner_id, fields=GROUP_FIELDS)
                yield Batch("vk_groups", groups["groups"], method="groups.getById", cursor={"day": today})

    def _wall(self, owner_id: int, oldest_ts: int) -> Iterator[dict]:
        """Posts newest first, down to oldest_ts. The pinned post comes first whatever its date."""
        offset = 0
        while True:
            page = self.client.call("wall.get", owner_id=owner_id, offset=offset, count=PAGE_SIZE)
            items = page.get("items", [])
            for post in items:
                if post.get("date", 0) >= oldest_ts:
                    yield post
            unpinned = [p for p in items if not p.get("is_pinned")]
            offset += len(items)
            if not items or offset >= page.get("count", 0) or (unpinned and unpinned[-1]["date"] < oldest_ts):
                return

    def _comments(self, owner_id: int, post_id: int) -> Iterator[dict]:
        """Every comment of a post, replies included, each as its own record."""
        for comment in self._paged_comments(owner_id, post_id):
            yield comment
            thread = comment.get("thread") or {}
            replies = thread.get("items") or []
            if thread.get("count", 0) > len(replies):
                replies = list(self._paged_comments(owner_id, post_id, comment_id=comment["id"]))
            yield from replies

    def _paged_comments(self, owner_id: int, post_id: int, comment_id: int | None = None) -> Iterator[dict]:
        offset = 0
        while True:
            params: dict[str, Any] = {
                "owner_id": owner_id,
                "post_id": post_id,
                "offset": offset,
                "count": PAGE_SIZE,
                "sort": "asc",
                "thread_items_count": 0 if comment_id else THREAD_ITEMS,
            }
            if comment_id:
                params["comment_id"] = comment_id
            page = self.client.call("wall.getComments", **params)
            items = page.get("items", [])
            yield from items
            offset += len(items)
            if not items or offset >= page.get("current_level_count", page.get("count", 0)):
                return


GROUP_FIELDS = ",".join(
    [
        "verified", "members_count", "description", "site", "cover", "counters", "contacts",
        "wall", "can_post", "status", "activity", "addresses", "is_closed", "deactivated",
        "photo_200", "links", "main_section",
    ]
)
