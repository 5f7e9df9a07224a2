"""Paging VK walls: the window of one run, a wall read newest first, and the page requests."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from socmon.sources.vk.client import VkAnswer, VkCall, VkError

PAGE_SIZE = 100  # the most wall.get and wall.getComments return per call
THREAD_ITEMS = 10  # the most replies wall.getComments inlines per comment
COMMENT_REREAD_DAYS = 3  # posts this recent are re-read on every run: comments (answers), edits, deletions
SEARCH_PAGE_SIZE = 200  # the most newsfeed.search returns per call
PAGE_ESTIMATE_MARGIN = 1.1  # wall pages requested ahead: the estimate from post dates, plus 10%


@dataclass(frozen=True)
class Window:
    """The unix times of one run: new posts are in [since, until); posts from reread_from are re-read."""

    since: int
    until: int
    reread_from: int

    @classmethod
    def of(cls, since: datetime, until: datetime) -> Window:
        reread_from = until - timedelta(days=COMMENT_REREAD_DAYS)
        return cls(int(since.timestamp()), int(until.timestamp()), int(reread_from.timestamp()))

    @property
    def oldest(self) -> int:
        return min(self.since, self.reread_from)

    def holds_new(self, post: Any) -> bool:
        """A post published in [since, until), or one whose date cannot be read (the loader judges it)."""
        return self._is_new(int_field(post, "date"))

    def _is_new(self, date: int | None) -> bool:
        return date is None or self.since <= date < self.until

    def sort_out(self, posts: list[Any], known: dict[str, list[int]]) -> WallPosts:
        """One pass over a wall's posts (a wall of 2,500 is read in a tenth of a second, so it counts):
        what to store, the re-read window's versions, and the posts whose comments to read."""
        wall = WallPosts()
        for post in posts:
            post_id, date = int_field(post, "id"), int_field(post, "date")
            is_new = self._is_new(date)
            if is_new and date is not None and (wall.newest_date is None or date > wall.newest_date):
                wall.newest_date = date
            is_other_version = False
            if post_id is not None and date is not None and self.reread_from <= date < self.until:
                key = str(post_id)
                version = wall.recent[key] = [date, post.get("edited") or 0]
                is_other_version = known.get(key) != version  # edited, or not seen by the last run
                if comment_count(post) > 0:
                    wall.commented.append(post_id)
            if is_new or is_other_version:
                wall.to_store.append(post)
        return wall

    def missing(self, known: dict[str, list[int]], posts: list[dict[str, Any]]) -> set[str]:
        """Ids of known posts of the re-read window that the wall no longer shows."""
        shown = {post_key(p) for p in posts}
        return {
            i for i, (date, _) in known.items() if self.reread_from <= date < self.until and i not in shown
        }


@dataclass
class WallPosts:
    """A wall's posts sorted out for one run (`Window.sort_out`)."""

    to_store: list[Any] = field(default_factory=list)  # new posts, and re-read posts edited or not seen
    recent: dict[str, list[int]] = field(default_factory=dict)  # {post id: [date, edited]} re-read
    commented: list[int] = field(default_factory=list)  # re-read posts that have comments
    newest_date: int | None = None  # of the new posts


@dataclass
class WallRead:
    """One wall read newest first by offset, down to `oldest_ts`; the pinned post comes first whatever
    its date. Done when a page reaches past `oldest_ts` or the end of the wall, or VK refuses (`error`)."""

    owner_id: int
    oldest_ts: int
    offset: int = 0
    count: int | None = None
    posts: list[Any] = field(default_factory=list)
    done: bool = False
    error: VkError | None = None
    settled: threading.Event = field(default_factory=threading.Event)  # set once a prefetch has tried it
    _ids: set[int] = field(default_factory=set)

    def next_pages(self, most: int) -> list[VkCall]:
        """The first page; then as many as the post dates say are left (at most `most`)."""
        pages = (
            1
            if self.count is None
            else min(most, pages_wanted(self.posts, self.offset, self.count, self.oldest_ts))
        )
        return [wall_page(self.owner_id, self.offset + i * PAGE_SIZE) for i in range(pages)]

    def take(self, answers: list[VkAnswer]) -> None:
        """The answers to `next_pages`, in order; those past the last page needed are dropped."""
        for answer in answers:
            if answer.error is not None:
                self.error, self.done = answer.error, True
                break
            items = answer.response.get("items", [])
            self.count = answer.response.get("count", 0)
            self._keep(items)
            self.offset += PAGE_SIZE
            if is_last_page(items, self.offset, self.count or 0, self.oldest_ts):
                self.done = True
                break

    def _keep(self, items: list[Any]) -> None:
        """The page's posts down to `oldest_ts`, less repeats (a new post shifts the offsets by one)."""
        for post in items:
            date = int_field(post, "date")
            if date is not None and date < self.oldest_ts:
                continue
            post_id = int_field(post, "id")
            if post_id is not None:
                if post_id in self._ids:
                    continue
                self._ids.add(post_id)
            self.posts.append(post)


def wall_page(owner_id: int, offset: int) -> VkCall:
    return VkCall("wall.get", {"owner_id": owner_id, "offset": offset, "count": PAGE_SIZE})


def comments_page(owner_id: int, post_id: int, comment_id: int | None = None) -> VkCall:
    params: dict[str, Any] = {
        "owner_id": owner_id,
        "post_id": post_id,
        "offset": 0,
        "count": PAGE_SIZE,
        "sort": "asc",
        "thread_items_count": 0 if comment_id else THREAD_ITEMS,
    }
    if comment_id:
        params["comment_id"] = comment_id
    return VkCall("wall.getComments", params)


def search_page(query: str, window: tuple[int, int], start_from: str | None = None) -> VkCall:
    params: dict[str, Any] = {
        "q": query,
        "start_time": window[0],
        "end_time": window[1],
        "count": SEARCH_PAGE_SIZE,
    }
    if start_from:
        params["start_from"] = start_from
    return VkCall("newsfeed.search", params)


def is_last_page(items: list[Any], offset: int, count: int, oldest_ts: int) -> bool:
    """The end of the wall, or a page whose last dated post (pinned aside) is older than oldest_ts."""
    if not items or offset >= count:
        return True
    last = unpinned_date(reversed(items))
    return last is not None and last < oldest_ts


def pages_wanted(posts: list[Any], offset: int, count: int, oldest_ts: int) -> int:
    """How many more pages reach oldest_ts, from the posting rate of the posts read (at least 1)."""
    pages_left = max(1, math.ceil((count - offset) / PAGE_SIZE))
    newest, oldest = unpinned_date(posts), unpinned_date(reversed(posts))
    if newest is None or oldest is None or newest <= oldest or len(posts) < 2:
        return 1
    seconds_per_post = (newest - oldest) / (len(posts) - 1)
    posts_to_go = (oldest - oldest_ts) / seconds_per_post * PAGE_ESTIMATE_MARGIN
    return max(1, min(pages_left, math.ceil(posts_to_go / PAGE_SIZE)))


def unpinned_date(posts: Iterable[Any]) -> int | None:
    """The date of the first post that has one and is not pinned."""
    for post in posts:
        date = int_field(post, "date")
        if date is not None and not is_pinned(post):
            return date
    return None


def unique_posts(posts: list[Any]) -> list[Any]:
    """Posts without repeats (a new post shifts the offsets by one while paging), first seen first."""
    seen: set[Any] = set()
    unique = []
    for post in posts:
        key = int_field(post, "id")
        if key is None or key not in seen:
            unique.append(post)
            seen.add(key)
    return unique


def post_key(post: Any) -> str:
    return str(post.get("id")) if isinstance(post, dict) else ""


def int_field(item: Any, name: str) -> int | None:
    """An integer field of an item, or None: the item may lack it, mistype it, or not even be an object
    (the loader rejects such items; the extractor only must not trip over them)."""
    if type(item) is dict:
        value = item.get(name)
        if type(value) is int:  # not bool
            return value
    return None


def is_pinned(post: Any) -> bool:
    return isinstance(post, dict) and bool(post.get("is_pinned"))


def comment_count(post: dict[str, Any]) -> int:
    return int_field(post.get("comments"), "count") or 0
