"""VK's extractor: walls, comments, deletions, keyword searches and the metadata of official accounts.

Above the client (`client.py`: execute batching, token buckets, retries) and the wall paging
(`walls.py`). The extractor reads
walls newest first down to its window and re-reads the last 3 days on every run: comments (so that
official answers are seen), edits (a new `edited` time: a new payload version) and deletions (a post
gone from the re-read window is marked in `vk_deleted_posts`, never dropped). The comments of older
posts are re-read too while an incident in them waits for its final answer (`open_threads`).
`prefetch` reads the walls of a whole batch of sources in the background, so that pages of several
walls share each request and loading overlaps with reading.

What VK's errors mean for a run is in `client.py`: the extractor records 5, 15, 18, 29, 30, 203 and 212
on the source and goes on, and raises the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from socmon.sources.base import Batch, Source
from socmon.sources.rate_limit import TokenPool
from socmon.sources.vk.client import (
    DAILY_LIMIT_ERROR,
    MAX_CALLS_PER_EXECUTE,
    RECORDED_ERRORS,
    VkAnswer,
    VkCall,
    VkClient,
    VkError,
)
from socmon.sources.vk.walls import (
    WallRead,
    Window,
    comments_page,
    int_field,
    search_page,
    unique_posts,
)

log = logging.getLogger(__name__)

SEARCH_RESULT_CAP = 1000  # newsfeed.search serves only the first 1,000 results: a fuller window is split
COMMENTS_GONE_ERROR = 100  # wall.getComments of a post deleted since wall.get: "post_id is undefined"
SKIPPED_COMMENT_ERRORS = {*RECORDED_ERRORS, DAILY_LIMIT_ERROR, COMMENTS_GONE_ERROR}

GROUP_FIELDS = ",".join(
    [
        "verified", "members_count", "description", "site", "cover", "counters", "contacts", "has_photo",
        "wall", "can_post", "status", "activity", "addresses", "is_closed", "deactivated",
        "photo_200", "links", "main_section", "city",
    ]
)  # fmt: skip
MAX_GROUP_IDS = 500  # groups.getById takes at most 500 ids a call


class VkExtractor:
    """Posts, comments and deletions of VK walls, keyword searches, and the metadata of official accounts.

    Sources of kind `community` and `official_account` are walls (`external_id` is the owner id);
    kind `query` is a newsfeed.search (`external_id` is the query text). Cursors:
    - `wall.get`: `{"newest_date": unix time, "recent": {post id: [date, edited]}}`, the posts of the
      re-read window, to notice edits and deletions on the next run;
    - `newsfeed.search`: `{"searched_until": unix time}`;
    - `groups.getById`: `{"day": "YYYY-MM-DD"}`.
    `calls_per_execute=1` sends every call in its own request (the naive path, for comparison).
    """

    platform = "vk"

    def __init__(self, client: VkClient, calls_per_execute: int = MAX_CALLS_PER_EXECUTE) -> None:
        self.client = client
        self.calls_per_execute = calls_per_execute
        self._prefetched: dict[int, WallRead] = {}
        self._read_ahead: ThreadPoolExecutor | None = None
        self._read_ahead_lock = threading.Lock()

    @property
    def token_pool(self) -> TokenPool:
        """The client's tokens and what each may not call today (kept across runs by the caller)."""
        return self.client.pool

    def prefetch(self, sources: Iterable[Source], since: datetime, until: datetime) -> Future[None]:
        """Start reading the walls of many sources in the background, for their `extract` to use.

        The first pages of 25 walls share each `execute`, then their further pages share the next ones,
        several in flight. `extract` of a source waits only for its own wall, so the walls read first are
        loaded while the rest are still being read. Best effort: a wall whose read failed, or that a
        source's cursor needs read deeper, is read again by its `extract`. The returned future is done
        when every wall has been tried.
        """
        oldest = Window.of(since, until).oldest
        reads = [WallRead(int(s.external_id), oldest) for s in sources if s.kind != "query"]
        self._prefetched = {read.owner_id: read for read in reads}
        with self._read_ahead_lock:
            if self._read_ahead is None:
                self._read_ahead = ThreadPoolExecutor(1, thread_name_prefix="vk-read-ahead")
            return self._read_ahead.submit(self._read_ahead_walls, reads)

    def _read_ahead_walls(self, reads: list[WallRead]) -> None:
        try:
            self._read_walls(reads)
        except Exception:
            log.warning(
                "prefetching %d walls failed; each is read by its own extract",
                len(reads),
                exc_info=True,
            )
        finally:
            for read in reads:
                read.settled.set()

    def extract(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str] = (),
    ) -> Iterator[Batch]:
        if source.kind == "query":
            yield from self._extract_search(source, since, until, cursors)
            return
        yield from self._extract_wall(source, since, until, cursors, open_threads)
        if source.kind == "official_account":
            yield from self._extract_group(source, until, cursors)

    def search(self, query: str, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Posts matching `query` published in [since, until), from newsfeed.search.

        A window whose results reach 1,000 (all VK serves) is split in halves until each half has
        fewer; windows and pages are read together in `execute` requests. Raises `VkError`.
        """
        seen: set[tuple[Any, Any] | None] = set()
        windows = [(int(since.timestamp()), int(until.timestamp()) - 1)]  # end_time is inclusive
        pages: list[tuple[tuple[int, int], str]] = []
        while windows or pages:
            calls = [search_page(query, w) for w in windows] + [search_page(query, w, f) for w, f in pages]
            answers = self.client.call_all(calls, self.calls_per_execute)
            asked = [(w, True) for w in windows] + [(w, False) for w, _ in pages]
            windows, pages = [], []
            for (window, is_first), answer in zip(asked, answers, strict=True):
                if answer.error is not None:
                    raise answer.error
                found = answer.response
                total = max(found.get("count", 0), found.get("total_count", 0))
                start, end = window
                if is_first and total >= SEARCH_RESULT_CAP and end > start:
                    middle = (start + end) // 2
                    windows += [(start, middle), (middle + 1, end)]
                    continue
                if is_first and total >= SEARCH_RESULT_CAP:
                    log.warning(
                        "%r: %d results in the one second %d; VK serves the first 1,000", query, total, start
                    )
                for post in found.get("items", []):
                    key = (post.get("owner_id"), post.get("id")) if isinstance(post, dict) else None
                    if key is None or key not in seen:
                        seen.add(key)
                        yield post
                if found.get("next_from") and found.get("items"):
                    pages.append((window, found["next_from"]))

    # walls

    def _extract_wall(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str],
    ) -> Iterator[Batch]:
        owner_id = int(source.external_id)
        wall_cursor = cursors.get("wall.get", {})
        if "newest_date" in wall_cursor:  # a missed run leaves no gap: read from where we stopped
            since = min(since, datetime.fromtimestamp(wall_cursor["newest_date"], since.tzinfo))
        window = Window.of(since, until)
        read = self._read_wall(owner_id, window.oldest)
        if read.error is not None:
            # what was read is kept; the cursor stays where the data is complete, so nothing is skipped
            partial = [p for p in read.posts if window.holds_new(p)]
            yield Batch("vk_posts", partial, errors=_recorded(source, {"wall.get": _describe(read.error)}))
            return
        posts = read.posts

        known: dict[str, list[int]] = wall_cursor.get("recent", {})
        gone, unconfirmed = window.missing(known, posts) if known else set(), set()
        if gone:  # confirm with a second read: a post deleted while paging shifts the offsets
            again = self._read_wall(owner_id, window.oldest, fresh=True)
            if again.error is not None:
                gone, unconfirmed = set(), gone  # checked again on the next run
            else:
                posts = unique_posts([*posts, *again.posts])
                gone = window.missing(known, again.posts) & gone
        if gone:
            log.info("%s: %d posts deleted since the last read", source.source_id, len(gone))
            detected = [{"owner_id": owner_id, "post_id": int(i), "date": known[i][0]} for i in sorted(gone)]
            yield Batch("vk_deleted_posts", detected)

        wall = window.sort_out(posts, known)
        newest = max(wall.newest_date or 0, wall_cursor.get("newest_date", window.since))
        kept = {i: v for i, v in known.items() if v[0] >= window.until or i in unconfirmed}
        cursor = {"newest_date": newest, "recent": kept | wall.recent}
        yield Batch("vk_posts", wall.to_store, method="wall.get", cursor=cursor)

        reread = set(wall.commented)
        older_open = [int(t) for t in open_threads if t.isdigit() and int(t) not in reread]
        if older_open:
            log.info("%s: re-reading %d threads with open incidents", source.source_id, len(older_open))
        comments, errors = self._read_comments(owner_id, [*wall.commented, *older_open], window.until)
        yield Batch("vk_comments", comments, errors=_recorded(source, errors))

    def _read_wall(self, owner_id: int, oldest_ts: int, fresh: bool = False) -> WallRead:
        """The wall down to oldest_ts: prefetched when that read went deep enough, else read now."""
        read = None if fresh else self._prefetched.pop(owner_id, None)
        if read is not None:
            read.settled.wait()
        if read is None or not read.done or read.oldest_ts > oldest_ts:
            read = WallRead(owner_id, oldest_ts)
            self._read_walls([read])
        if read.error is not None:
            _raise_unless_recorded(read.error)
        return read

    def _read_walls(self, reads: list[WallRead]) -> None:
        """Page all the walls at once: each round asks every unfinished wall for the pages it still
        needs (estimated from its post dates), in shared `execute` requests. A wall is `settled` as soon
        as its last page is in, while other walls' pages are still on their way."""
        pending = [read for read in reads if not read.done]
        while pending:
            wanted = [(read, read.next_pages(self.calls_per_execute)) for read in pending]
            calls = [call for _, pages in wanted for call in pages]
            reader_of = [(read, len(pages)) for read, pages in wanted for _ in pages]
            answered: dict[int, dict[int, VkAnswer]] = {}
            for index, answer in self.client.call_each(calls, self.calls_per_execute):
                read, page_count = reader_of[index]
                pages = answered.setdefault(id(read), {})
                pages[index] = answer
                if len(pages) == page_count:
                    read.take([pages[i] for i in sorted(pages)])
                    if read.done:
                        read.settled.set()
            pending = [read for read in pending if not read.done]

    # comments

    def _read_comments(
        self, owner_id: int, post_ids: list[int], until_ts: int
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Every comment of the posts, replies included, each as its own record; and what could not be read.

        First pages of all posts go out together; then every follow-up (further pages, threads longer
        than the replies inlined) together, until nothing is left.
        """
        comments: list[Any] = []
        refused: dict[int, list[int]] = {}  # error code → posts
        first_errors: dict[int, VkError] = {}
        calls = [comments_page(owner_id, post_id) for post_id in post_ids]
        while calls:
            follow_ups: list[VkCall] = []
            for answer in self.client.call_all(calls, self.calls_per_execute):
                params = answer.call.params
                if answer.error is not None:
                    if answer.error.code not in SKIPPED_COMMENT_ERRORS:
                        raise answer.error
                    refused.setdefault(answer.error.code, []).append(params["post_id"])
                    first_errors.setdefault(answer.error.code, answer.error)
                    continue
                items = answer.response.get("items", [])
                for comment in items:
                    comments.append(comment)
                    thread = comment.get("thread") if isinstance(comment, dict) else None
                    replies = (thread.get("items") or []) if isinstance(thread, dict) else []
                    comment_id = int_field(comment, "id")
                    if comment_id is not None and (int_field(thread, "count") or 0) > len(replies):
                        follow_ups.append(comments_page(owner_id, params["post_id"], comment_id=comment_id))
                    else:
                        comments += replies
                level_count = answer.response.get("current_level_count", answer.response.get("count", 0))
                if items and params["offset"] + len(items) < level_count:
                    follow_ups.append(
                        VkCall("wall.getComments", {**params, "offset": params["offset"] + len(items)})
                    )
            calls = follow_ups
        kept = [c for c in comments if (date := int_field(c, "date")) is None or date < until_ts]
        errors = {}
        if refused:
            errors["wall.getComments"] = "; ".join(
                f"{_describe(first_errors[code])} (on {len(set(posts))} posts: "
                + ", ".join(map(str, sorted(set(posts))[:20]))
                + ")"
                for code, posts in sorted(refused.items())
            )
        return kept, errors

    # official accounts

    def _extract_group(
        self, source: Source, until: datetime, cursors: dict[str, dict[str, Any]]
    ) -> Iterator[Batch]:
        today = until.date().isoformat()
        if cursors.get("groups.getById", {}).get("day") == today:
            return
        owner_id = int(source.external_id)
        answer = self.client.call_all(
            [VkCall("groups.getById", {"group_id": -owner_id, "fields": GROUP_FIELDS})]
        )[0]
        if answer.error is not None:
            _raise_unless_recorded(answer.error)
            yield Batch(
                "vk_groups", [], errors=_recorded(source, {"groups.getById": _describe(answer.error)})
            )
            return
        yield Batch("vk_groups", answer.response["groups"], method="groups.getById", cursor={"day": today})

    # keyword searches

    def _extract_search(
        self, source: Source, since: datetime, until: datetime, cursors: dict[str, dict[str, Any]]
    ) -> Iterator[Batch]:
        searched_until = cursors.get("newsfeed.search", {}).get("searched_until")
        if searched_until is not None:  # a missed run leaves no gap
            since = min(since, datetime.fromtimestamp(searched_until, since.tzinfo))
        try:
            posts = list(self.search(source.external_id, since, until))
        except VkError as error:
            _raise_unless_recorded(error)
            yield Batch("vk_posts", [], errors=_recorded(source, {"newsfeed.search": _describe(error)}))
            return
        yield from self._describe_communities(source, posts)
        cursor = {"searched_until": max(int(until.timestamp()), searched_until or 0)}
        yield Batch("vk_posts", posts, method="newsfeed.search", cursor=cursor)

    def _describe_communities(self, source: Source, posts: list[dict[str, Any]]) -> Iterator[Batch]:
        """The metadata (city, description) of the communities whose walls the search found posts on:
        a post that names no place gets its municipality from its community's city or description.
        Loaded before the posts, so the transform that classifies them sees their communities."""
        group_ids = sorted({-owner for p in posts if (owner := int_field(p, "owner_id") or 0) < 0})
        for start in range(0, len(group_ids), MAX_GROUP_IDS):
            chunk = ",".join(map(str, group_ids[start : start + MAX_GROUP_IDS]))
            call = VkCall("groups.getById", {"group_ids": chunk, "fields": GROUP_FIELDS})
            answer = self.client.call_all([call])[0]
            if answer.error is not None:
                _raise_unless_recorded(answer.error)
                errors = _recorded(source, {"groups.getById": _describe(answer.error)})
                yield Batch("vk_groups", [], errors=errors)
                return
            yield Batch("vk_groups", answer.response["groups"], method="groups.getById")


def _recorded(source: Source, errors: dict[str, str]) -> dict[str, str]:
    """Errors to record on the source, logged here too."""
    for method, reason in errors.items():
        log.warning("%s: %s not read: %s", source.source_id, method, reason)
    return errors


def _raise_unless_recorded(error: VkError) -> None:
    if error.code not in RECORDED_ERRORS and error.code != DAILY_LIMIT_ERROR:
        raise error


def _describe(error: VkError) -> str:
    meaning = RECORDED_ERRORS.get(
        error.code, "daily limit reached" if error.code == DAILY_LIMIT_ERROR else ""
    )
    return f"VK error {error.code} ({meaning}): {error.message}" if meaning else str(error)
