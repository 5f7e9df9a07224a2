"""A fake `TelegramClient` over the generated social world, for the sandbox and the tests.

It implements only what `socmon.sources.telegram.TelegramChannelReader` calls, with Telethon's own
semantics, and returns real `telethon.tl.types` objects:

- `iter_messages(entity, limit, offset_date=, min_id=, max_id=, reverse=, reply_to=)`: an async
  generator, newest first unless `reverse`; `min_id`, `max_id` and `offset_date` are exclusive;
  `reply_to` lists a post's discussion replies. It fetches `page_size` messages per request, as
  Telethon asks for at most 100 at a time. Without an entity and with `search=`, it is Telegram's
  messages.SearchGlobalRequest: the posts and replies of every chat (the account has joined them all)
  whose text contains the words, newest first;
- `get_entity`, `get_dialogs`, `connect`, `disconnect`, `is_user_authorized`;
- `client(GetFullChannelRequest(...))` → `messages.ChatFull`, and
  `client(GetDiscussionMessageRequest(...))` → `messages.DiscussionMessage`.

`flood_waits={n: seconds}` makes the n-th request (1-based, counting message pages and calls) raise
`FloodWaitError` instead of answering. `requests` records every request served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from telethon import utils
from telethon.errors import ChannelInvalidError, FloodWaitError, MsgIdInvalidError
from telethon.tl.functions.channels import GetFullChannelRequest
from telethon.tl.functions.messages import GetDiscussionMessageRequest
from telethon.tl.types import Channel, Message, PeerChannel
from telethon.tl.types.messages import ChatFull, DiscussionMessage

from socmon_sandbox.social_world import SocialWorld, TelegramChannel, generate_social_world

TELETHON_PAGE_SIZE = 100


class FakeTelegramClient:
    """The Telegram channels of a `SocialWorld`, served the way Telethon's client serves real ones."""

    def __init__(
        self,
        world: SocialWorld,
        *,
        page_size: int = TELETHON_PAGE_SIZE,
        flood_waits: Mapping[int, int] | None = None,
        authorized: bool = True,
    ) -> None:
        self.channels: dict[int, TelegramChannel] = world.telegram
        self.page_size = page_size
        self.flood_waits = dict(flood_waits or {})
        self.authorized = authorized
        self.requests: list[tuple[Any, ...]] = []
        self.request_count = 0
        self.connected = False

    # --- the session -------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def is_user_authorized(self) -> bool:
        return self.authorized

    async def get_dialogs(self) -> list[Any]:
        """The account's dialogs (its private chats too): recorded, so that tests can see socmon never
        asks for them; the fake knows every channel already."""
        self.requests.append(("GetDialogs",))
        return []

    async def get_entity(self, entity: Any) -> Channel:
        return self._channel(entity).entity

    # --- requests ----------------------------------------------------------------------------------

    async def iter_messages(
        self,
        entity: Any,
        limit: int | None = None,
        *,
        offset_date: datetime | None = None,
        min_id: int = 0,
        max_id: int = 0,
        reverse: bool = False,
        reply_to: int | None = None,
        search: str | None = None,
    ) -> AsyncIterator[Message]:
        if entity is None:
            if not search:
                raise ValueError("iter_messages needs an entity, or a search over all chats")
            async for message in self._search_global(search, limit, offset_date):
                yield message
            return
        channel = self._channel(entity)
        channel_id = channel.entity.id
        if reply_to is None:
            request: tuple[Any, ...] = ("GetHistory", channel_id)
            messages = channel.posts
        else:
            request = ("GetReplies", channel_id, reply_to)
            thread = channel.threads.get(reply_to)
            if thread is None and not any(p.id == reply_to for p in channel.posts if p.replies):
                raise MsgIdInvalidError(request=None)
            messages = thread.replies if thread else []
        selected = [m for m in messages if m.id > min_id and (not max_id or m.id < max_id)]
        if offset_date is not None:
            selected = [m for m in selected if (m.date > offset_date if reverse else m.date < offset_date)]
        selected.sort(key=lambda m: m.id, reverse=not reverse)
        if limit is not None:
            selected = selected[:limit]
        for start in range(0, max(len(selected), 1), self.page_size):
            self._serve(request)
            for message in selected[start : start + self.page_size]:
                yield message

    async def _search_global(
        self, search: str, limit: int | None, offset_date: datetime | None
    ) -> AsyncIterator[Message]:
        words = search.casefold()
        found = [
            message
            for channel in self.channels.values()
            for message in [
                *channel.posts,
                *(m for thread in channel.threads.values() for m in (thread.root, *thread.replies)),
            ]
            if words in (message.message or "").casefold()
            and (offset_date is None or message.date < offset_date)
        ]
        found.sort(key=lambda m: (m.date, m.id), reverse=True)
        if limit is not None:
            found = found[:limit]
        for start in range(0, max(len(found), 1), self.page_size):
            self._serve(("SearchGlobal", search))
            for message in found[start : start + self.page_size]:
                yield message

    async def __call__(self, request: Any) -> Any:
        if isinstance(request, GetFullChannelRequest):
            channel = self._channel(request.channel)
            self._serve(("GetFullChannel", channel.entity.id))
            chats = [channel.entity, *([channel.discussion] if channel.discussion else [])]
            return ChatFull(full_chat=channel.full, chats=chats, users=[])
        if isinstance(request, GetDiscussionMessageRequest):
            channel = self._channel(request.peer)
            self._serve(("GetDiscussionMessage", channel.entity.id, request.msg_id))
            thread = channel.threads.get(request.msg_id)
            if thread is None or channel.discussion is None:
                raise MsgIdInvalidError(request=None)
            replies = thread.replies
            return DiscussionMessage(
                messages=[thread.root],
                unread_count=0,
                chats=[channel.discussion, channel.entity],
                users=[],
                max_id=replies[-1].id if replies else None,
            )
        raise NotImplementedError(f"the sandbox Telegram client does not serve {type(request).__name__}")

    def _serve(self, request: tuple[Any, ...]) -> None:
        self.request_count += 1
        seconds = self.flood_waits.get(self.request_count)
        if seconds is not None:
            raise FloodWaitError(request=None, capture=seconds)
        self.requests.append(request)

    def _channel(self, entity: Any) -> TelegramChannel:
        """A channel by `PeerChannel`, `Channel`, input channel, marked id (-100…) or username."""
        if isinstance(entity, str):
            username = entity.removeprefix("@").lower()
            for channel in self.channels.values():
                if (channel.entity.username or "").lower() == username:
                    return channel
            raise ValueError(f'No user has "{entity}" as username')
        if isinstance(entity, int):
            if entity > 0:  # Telethon reads a bare positive id as a user
                raise ValueError(f"Could not find the input entity for PeerUser(user_id={entity})")
            channel_id, _ = utils.resolve_id(entity)
        elif isinstance(entity, PeerChannel):
            channel_id = entity.channel_id
        else:
            channel_id = getattr(entity, "channel_id", None) or getattr(entity, "id", None)
        if channel_id not in self.channels:
            raise ChannelInvalidError(request=None)
        return self.channels[channel_id]


def sandbox_client(start: str, days: int, seed: int = 449) -> FakeTelegramClient:
    """The `client_factory` of the sandbox's Telegram connection: a fake client over the generated world."""
    return FakeTelegramClient(_world(start, int(days), int(seed)))


@cache
def _world(start: str, days: int, seed: int) -> SocialWorld:
    return generate_social_world(date.fromisoformat(start), days, seed)
