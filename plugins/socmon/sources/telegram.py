"""Telegram: a thin async adapter over Telethon, and the extractor of channel posts, their discussion
threads and the metadata of official channels.

Messages are stored exactly as Telethon's `Message.to_json()` writes them. A reply lives in the
channel's discussion group: its `peer_id` is the group, and `reply_to.reply_to_top_id` (or, for a direct
reply, `reply_to.reply_to_msg_id`) names the thread's root, the group's copy of the post. The root is
stored too: its `fwd_from.saved_from_msg_id` is the channel post it copies.

Each run reads the posts after the cursor, and re-reads the threads of the last days' posts whose newest
reply is not stored yet, so that official answers are seen. Telethon is asynchronous; the extractor
drives it on an event loop of its own, so that it implements the same synchronous interface as the
other platforms.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from telethon import utils
from telethon.errors import FloodWaitError, MsgIdInvalidError, RPCError
from telethon.tl.functions.channels import GetFullChannelRequest
from telethon.tl.functions.messages import GetDiscussionMessageRequest
from telethon.tl.tlobject import TLObject
from telethon.tl.types import Message, PeerChannel
from telethon.tl.types.messages import ChatFull
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from socmon.sources.base import Batch, Source, SourceDeferred
from socmon.sources.rate_limit import TokenPool
from socmon.sources.retrying import RETRY_BUDGET

log = logging.getLogger(__name__)

FLOOD_WAIT_THRESHOLD_SECONDS = 30.0  # shorter flood waits are slept; longer ones defer the source
REPLIES_REREAD_DAYS = 3  # threads of posts this recent are re-read when they have replies not stored yet
POSTS_PER_BATCH = 100  # each batch of new posts commits with the cursor after its last post
POSTS_METHOD = "iter_messages"  # cursor {"max_id": N}: the newest channel post stored
REFRESH_METHOD = "refresh_recent_posts"  # cursor {"day": D}: views and forwards are re-stored once a day
THREADS_METHOD = "thread_replies"  # cursor {"stored_max_ids": {post id: newest reply stored}}
CHANNEL_INFO_METHOD = "GetFullChannelRequest"  # cursor {"day": D}
SEARCH_METHOD = "SearchGlobalRequest"  # cursor {"searched_until": unix time}

T = TypeVar("T")


class TelegramChannelUnknownError(RuntimeError):
    """A registry channel this session cannot resolve: it has no public username in the registry, and
    the session has not met its id. socmon never reads the account's dialogs to learn it."""


class TelegramCredentialsError(RuntimeError):
    """The session string of the connection is not (or no longer) authorised."""


def message_payload(message: TLObject) -> dict[str, Any]:
    """What raw stores of a message: `Message.to_json()`, parsed."""
    return json.loads(message.to_json())


def channel_info_payload(full: ChatFull) -> dict[str, Any]:
    """What raw stores of GetFullChannelRequest: the `messages.ChatFull` as `to_json()` writes it, with
    the channel's bare id added as `id` (the key of `raw.telegram_channels`).

    Subscribers are `full_chat.participants_count`, the description `full_chat.about`, the discussion
    group `full_chat.linked_chat_id`; the verification mark is `verified` of the channel in `chats`.
    """
    return {**message_payload(full), "id": full.full_chat.id}


def has_comments(message: Message) -> bool:
    """Whether a channel post has a discussion thread with at least one reply."""
    replies = getattr(message, "replies", None)
    return bool(replies and replies.comments and replies.replies)


class TelegramChannelReader:
    """The few Telethon calls socmon makes, over a `TelegramClient` (or the sandbox's fake of it).

    Use it as an async context manager: it connects, and refuses a session that is not authorised
    (Telethon would otherwise start an interactive login).
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    async def __aenter__(self) -> TelegramChannelReader:
        await self.client.connect()
        if not await self.client.is_user_authorized():
            await self.client.disconnect()
            raise TelegramCredentialsError(
                "the Telegram session is not authorised: put a fresh StringSession in the extra "
                "'session' of the telegram_default connection"
            )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.disconnect()

    async def channel(self, external_id: str, username: str | None = None) -> Any:
        """The channel entity of a registry entry: by its public username (contacts.resolveUsername,
        which also gives the access hash a fresh StringSession lacks), else by its bare id or username.

        Never through the account's dialogs: they hold its private chats, which socmon has no business
        reading (152-FZ), so a channel known only by an id the session has not met is an error."""
        is_id = external_id.lstrip("-").isdigit()
        if username:
            entity = await self.client.get_entity(username)
            if is_id and entity.id != utils.resolve_id(int(external_id))[0]:
                raise TelegramChannelUnknownError(
                    f"the Telegram username {username} is channel {entity.id}, not {external_id}: "
                    "fix the registry"
                )
            return entity
        ref: Any = PeerChannel(int(external_id)) if is_id else external_id
        try:
            return await self.client.get_entity(ref)
        except ValueError:
            raise TelegramChannelUnknownError(
                f"Telegram channel {external_id} is unknown to this session: give it its public username "
                "(screen_name) in the registry; socmon does not read the account's dialogs to find it"
            ) from None

    def posts_after(self, channel: Any, after_id: int, since: datetime) -> AsyncIterator[Message]:
        """Channel posts oldest first: after `after_id`, or (when it is 0) published after `since`."""
        if after_id:
            return self.client.iter_messages(channel, min_id=after_id, reverse=True)
        # offset_date is exclusive: start a second early and let the caller keep what is >= since.
        return self.client.iter_messages(channel, offset_date=since - timedelta(seconds=1), reverse=True)

    async def recent_posts(self, channel: Any, since: datetime, until: datetime) -> AsyncIterator[Message]:
        """Channel posts published in [since, until), newest first, with today's views and forwards."""
        async for message in self.client.iter_messages(channel, offset_date=until):
            if message.date < since:
                return
            if message.date < until:
                yield message

    async def thread(self, channel: Any, post_id: int) -> tuple[list[Message], list[Message]]:
        """The discussion thread of a post: its root (the discussion group's copy of the post; several
        messages for an album), and the replies, newest first."""
        discussion = await self.client(GetDiscussionMessageRequest(peer=channel, msg_id=post_id))
        replies = [m async for m in self.client.iter_messages(channel, reply_to=post_id)]
        return list(discussion.messages), replies

    async def search(self, query: str, since: datetime, until: datetime) -> AsyncIterator[Message]:
        """Messages containing `query` published in [since, until), newest first: Telethon's
        `iter_messages` without an entity is messages.SearchGlobalRequest, which searches the channels and
        groups the account has joined (a user account cannot search Telegram as a whole)."""
        async for message in self.client.iter_messages(None, search=query, offset_date=until):
            if message.date < since:
                return
            if message.date < until:
                yield message

    async def channel_info(self, channel: Any) -> ChatFull:
        """GetFullChannelRequest: subscribers, description, linked discussion group, verification."""
        return await self.client(GetFullChannelRequest(channel=channel))


class TelegramExtractor:
    """Posts and discussion threads of Telegram channels, the metadata of official channels, and keyword
    searches (sources of kind `query`) over the chats the account has joined.

    `reader_factory` builds a fresh reader (and client) for each source, on the extractor's own event
    loop. A flood wait up to `flood_wait_threshold_seconds` is slept (with `sleep`) and retried; a longer
    one saves what was read and raises `SourceDeferred`.
    """

    platform = "telegram"
    token_pool: TokenPool | None = None  # no daily limits to keep across runs

    def prefetch(self, sources: Iterable[Source], since: datetime, until: datetime) -> None:
        """Nothing to read ahead: each source is read by its own `extract`."""

    def __init__(
        self,
        reader_factory: Callable[[], TelegramChannelReader],
        *,
        flood_wait_threshold_seconds: float = FLOOD_WAIT_THRESHOLD_SECONDS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        posts_per_batch: int = POSTS_PER_BATCH,
    ) -> None:
        self.reader_factory = reader_factory
        self.flood_wait_threshold_seconds = flood_wait_threshold_seconds
        self.sleep = sleep
        self.posts_per_batch = posts_per_batch

    def extract(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str] = (),
    ) -> Iterator[Batch]:
        loop = asyncio.new_event_loop()
        batches = self._batches(source, _aware(since), _aware(until), cursors, open_threads)
        try:
            while True:
                try:
                    batch = loop.run_until_complete(_next(batches))
                except StopAsyncIteration:
                    return
                yield batch
        finally:
            loop.run_until_complete(batches.aclose())
            loop.close()

    async def _batches(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str],
    ) -> AsyncGenerator[Batch, None]:
        today = until.date().isoformat()
        async with self.reader_factory() as reader:
            if source.kind == "query":
                async for batch in self._search(reader, source, since, until, cursors):
                    yield batch
                return
            channel = await self._call(
                source, "channel lookup", lambda: reader.channel(source.external_id, source.screen_name)
            )

            new_ids: set[int] = set()
            after_id = int(cursors.get(POSTS_METHOD, {}).get("max_id", 0))
            async for batch in self._new_posts(reader, source, channel, after_id, since, until):
                new_ids.update(record["id"] for record in batch.records)
                yield batch

            reread_from = until - timedelta(days=REPLIES_REREAD_DAYS)
            recent = await self._call(
                source, "recent posts", lambda: _collect(reader.recent_posts(channel, reread_from, until))
            )
            if cursors.get(REFRESH_METHOD, {}).get("day") != today:
                refreshed = [message_payload(m) for m in recent if m.id not in new_ids]
                yield Batch("telegram_messages", refreshed, method=REFRESH_METHOD, cursor={"day": today})

            async for batch in self._threads(reader, source, channel, recent, until, cursors):
                yield batch

            recent_ids = {str(post.id) for post in recent}
            for post_id in [t for t in open_threads if t.isdigit() and t not in recent_ids]:
                # an older post with an incident still waiting for its answer: its whole thread again
                try:
                    roots, replies = await self._call(
                        source, f"thread of post {post_id}", partial(reader.thread, channel, int(post_id))
                    )
                except MsgIdInvalidError:  # the post was deleted: its thread is gone, the others are read
                    log.warning("%s: post %s of an open thread no longer exists", source.source_id, post_id)
                    continue
                replies = [m for m in replies if m.date < until]
                yield Batch("telegram_messages", [message_payload(m) for m in (*roots, *replies)])

            if source.kind == "official_account" and cursors.get(CHANNEL_INFO_METHOD, {}).get("day") != today:
                full = await self._call(source, "channel info", lambda: reader.channel_info(channel))
                yield Batch(
                    "telegram_channels",
                    [channel_info_payload(full)],
                    method=CHANNEL_INFO_METHOD,
                    cursor={"day": today},
                )

    async def _search(
        self,
        reader: TelegramChannelReader,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
    ) -> AsyncIterator[Batch]:
        """The messages a keyword search finds in the window, from where the last search stopped, after
        the channels whose posts it found (`_describe_channels`)."""
        searched_until = cursors.get(SEARCH_METHOD, {}).get("searched_until")
        if searched_until is not None:  # a missed run leaves no gap
            since = min(since, datetime.fromtimestamp(searched_until, since.tzinfo))
        found = await self._call(
            source, "search", lambda: _collect(reader.search(source.external_id, since, until))
        )
        described = await self._describe_channels(reader, source, found)
        if described:
            yield Batch("telegram_channels", described, method=CHANNEL_INFO_METHOD)
        cursor = {"searched_until": max(int(until.timestamp()), searched_until or 0)}
        records = [message_payload(m) for m in found]
        yield Batch("telegram_messages", records, method=SEARCH_METHOD, cursor=cursor)

    async def _describe_channels(
        self, reader: TelegramChannelReader, source: Source, found: list[Message]
    ) -> list[dict[str, Any]]:
        """GetFullChannelRequest of each channel whose posts the search found: a post that names no
        place gets its municipality from the channel's description (`full_chat.about`). Only broadcast
        channels (a post's `peer_id`): a basic group's full chat would list its members. Loaded before
        the messages, so the transform that classifies them sees their channels; a channel Telegram
        will not describe (made private since) is skipped, its messages are kept."""
        channel_ids = sorted(
            {m.peer_id.channel_id for m in found if m.post and isinstance(m.peer_id, PeerChannel)}
        )
        described = []
        for channel_id in channel_ids:
            try:
                full = await self._call(
                    source,
                    f"channel info of {channel_id}",
                    partial(reader.channel_info, PeerChannel(channel_id)),
                )
            except (RPCError, ValueError) as exc:
                log.warning(
                    "%s: channel %s found by the search is not described: %s",
                    source.source_id,
                    channel_id,
                    exc,
                )
                continue
            described.append(channel_info_payload(full))
        return described

    async def _threads(
        self,
        reader: TelegramChannelReader,
        source: Source,
        channel: Any,
        recent: list[Message],
        until: datetime,
        cursors: dict[str, dict[str, Any]],
    ) -> AsyncIterator[Batch]:
        """The threads of recent posts whose newest reply is not stored yet (an answer is a reply)."""
        recent_ids = {str(p.id) for p in recent}
        saved = cursors.get(THREADS_METHOD, {}).get("stored_max_ids", {})
        stored = {post_id: max_id for post_id, max_id in saved.items() if post_id in recent_ids}
        for post in recent:
            if not has_comments(post) or stored.get(str(post.id)) == post.replies.max_id:
                continue
            roots, replies = await self._call(
                source, f"thread of post {post.id}", partial(reader.thread, channel, post.id)
            )
            replies = [m for m in replies if m.date < until]
            stored[str(post.id)] = max((m.id for m in replies), default=0)
            yield Batch(
                "telegram_messages",
                [message_payload(m) for m in (*roots, *replies)],
                method=THREADS_METHOD,
                cursor={"stored_max_ids": dict(stored)},
            )

    async def _new_posts(
        self,
        reader: TelegramChannelReader,
        source: Source,
        channel: Any,
        after_id: int,
        since: datetime,
        until: datetime,
    ) -> AsyncIterator[Batch]:
        """Posts after the cursor (on a first run: from `since`) up to `until`, in batches that each
        move the cursor. A page is read again after a short flood wait (`_call`: tenacity, the shared
        budget); a long one yields what the page had read, with its cursor, then defers."""
        last_id, done = after_id, False
        while not done:
            read = partial(self._posts_page, reader, channel, after_id, last_id, since, until)
            page, last_id, done, flood = await self._call(source, "channel posts", read)
            if page or done or flood:
                yield self._posts_batch(page, last_id)
            if flood is not None:
                raise self._deferred(source, "channel posts", flood) from flood

    async def _posts_page(
        self,
        reader: TelegramChannelReader,
        channel: Any,
        after_id: int,
        last_id: int,
        since: datetime,
        until: datetime,
    ) -> tuple[list[Message], int, bool, FloodWaitError | None]:
        """The next batch of posts after `last_id`: the posts, the new last id, whether the window ends
        here, and the long flood wait that stopped it early (a short one is raised, for `_call` to retry
        the batch)."""
        page: list[Message] = []
        try:
            async for message in reader.posts_after(channel, last_id, since):
                if message.date >= until:
                    return page, last_id, True, None
                last_id = message.id
                if after_id or message.date >= since:
                    page.append(message)
                if len(page) >= self.posts_per_batch:
                    return page, last_id, False, None
        except FloodWaitError as exc:
            if exc.seconds > self.flood_wait_threshold_seconds:
                return page, last_id, False, exc
            raise
        return page, last_id, True, None

    @staticmethod
    def _posts_batch(page: list[Message], last_id: int) -> Batch:
        records = [message_payload(m) for m in page]
        return Batch("telegram_messages", records, method=POSTS_METHOD, cursor={"max_id": last_id})

    async def _call(self, source: Source, what: str, make: Callable[[], Awaitable[T]]) -> T:
        """`make()`, repeated after each short flood wait (tenacity, within the retry budget all three
        platforms share); a long one, or one past the budget, defers the source."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(RETRY_BUDGET + 1),
            wait=lambda state: float(_flood_wait_seconds(state)),
            retry=retry_if_exception_type(FloodWaitError),
            sleep=self.sleep,
            before_sleep=lambda state: log.warning(
                "%s: flood wait of %ss on %s, sleeping it out; retry %d/%d",
                source.source_id,
                _flood_wait_seconds(state),
                what,
                state.attempt_number,
                RETRY_BUDGET,
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await make()
                    except FloodWaitError as exc:
                        if exc.seconds > self.flood_wait_threshold_seconds:
                            raise self._deferred(source, what, exc) from exc
                        raise
        except FloodWaitError as exc:  # short waits, one after another past the budget
            raise self._deferred(source, what, exc) from exc
        raise AssertionError("unreachable: the last failure is raised")

    def _deferred(self, source: Source, what: str, exc: FloodWaitError) -> SourceDeferred:
        log.warning(
            "%s: flood wait of %ss on %s is over the %ss threshold: what was read is saved, the rest waits",
            source.source_id, exc.seconds, what, self.flood_wait_threshold_seconds,
        )  # fmt: skip
        return SourceDeferred(source.source_id, exc.seconds, f"Telegram flood wait on {what}")


def _flood_wait_seconds(state: RetryCallState) -> int:
    failure = state.outcome.exception() if state.outcome else None
    return int(getattr(failure, "seconds", 0))


async def _next(batches: AsyncIterator[Batch]) -> Batch:
    return await batches.__anext__()


async def _collect(messages: AsyncIterator[Message]) -> list[Message]:
    return [m async for m in messages]


def _aware(moment: datetime) -> datetime:
    """Telethon's dates carry a time zone; a naive bound is taken as local time, as `timestamp()` does."""
    return moment if moment.tzinfo else moment.astimezone()
