from __future__ import annotations

from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from socmon.sources.telegram import TelegramChannelReader


class TelegramHook(BaseHook):
    """Telegram (MTProto, through Telethon) access from an Airflow connection.

    The login is the api_id, the password the api_hash, the extra `session` a Telethon `StringSession`
    string (a file session would lock under concurrent tasks). Extra `flood_wait_threshold` (seconds,
    default 30): longer flood waits defer the source instead of sleeping.

    Extra `client_factory` = "module:callable" (with `client_args`, a dict of keyword arguments) makes
    the client with that callable instead of Telethon: the sandbox package points it at its fake client,
    so this hook, which ships in production, knows nothing of the sandbox.
    """

    conn_name_attr = "telegram_conn_id"
    default_conn_name = "telegram_default"
    conn_type = "telegram"
    hook_name = "Telegram API"

    def __init__(self, *, telegram_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.telegram_conn_id = telegram_conn_id

    @cached_property
    def _connection(self) -> Connection:
        connection = self.get_connection(self.telegram_conn_id)
        session = connection.extra_dejson.get("session")
        if session:
            # A StringSession is the whole account. Airflow masks extras only when their key names a
            # secret (password, token, secret, ...), and `session` does not: register it by value.
            from airflow.sdk.log import mask_secret

            mask_secret(session, name="telegram session")
        return connection

    @property
    def flood_wait_threshold_seconds(self) -> float:
        from socmon.sources.telegram import FLOOD_WAIT_THRESHOLD_SECONDS

        return float(self._connection.extra_dejson.get("flood_wait_threshold", FLOOD_WAIT_THRESHOLD_SECONDS))

    def new_client(self) -> Any:
        """A new, unconnected client. Telethon binds a client to one event loop: make one per run."""
        extra = self._connection.extra_dejson
        if "client_factory" in extra:
            module, _, name = str(extra["client_factory"]).partition(":")
            return getattr(import_module(module), name)(**extra.get("client_args", {}))

        from telethon import TelegramClient
        from telethon.sessions import StringSession

        conn = self._connection
        if not conn.login or not conn.password or not extra.get("session"):
            raise ValueError(
                f"the {self.telegram_conn_id} connection needs a login (api_id), a password (api_hash) "
                "and an extra 'session' (a StringSession string)"
            )
        return TelegramClient(
            StringSession(extra["session"]),
            int(conn.login),
            conn.password,
            flood_sleep_threshold=0,  # socmon decides what to do with every flood wait
            receive_updates=False,
        )

    def new_reader(self) -> TelegramChannelReader:
        """What `TelegramExtractor(reader_factory=...)` takes."""
        from socmon.sources.telegram import TelegramChannelReader

        return TelegramChannelReader(self.new_client())

    def get_conn(self) -> Any:
        return self.new_client()
