"""The real Telethon client, as the Airflow hook and the CLI's factory build it: a StringSession from the
connection, the api id and hash, no flood sleeping and no updates. No network: a client is only built,
never connected."""

import json

import pytest
from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from socmon.hooks.factory import extractor_from_airflow
from socmon.hooks.telegram import TelegramHook
from socmon.sources.factory import extractor_from_env
from socmon.sources.telegram import TelegramChannelReader
from socmon_sandbox.telegram_fake import FakeTelegramClient

API_ID = 1234567
API_HASH = "0123456789abcdef0123456789abcdef"
DC_ID, DC_ADDRESS, DC_PORT = 2, "149.154.167.51", 443
AUTH_KEY = bytes(range(256))


def session_string() -> str:
    session = StringSession()
    session.set_dc(DC_ID, DC_ADDRESS, DC_PORT)
    session.auth_key = AuthKey(AUTH_KEY)
    return session.save()


def telegram_connection(monkeypatch, **fields) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TELEGRAM_DEFAULT", json.dumps({"conn_type": "telegram", **fields}))


def assert_real_client(client) -> None:
    assert type(client) is TelegramClient
    assert isinstance(client.session, StringSession)  # a file session would lock under parallel tasks
    assert (client.session.dc_id, client.session.server_address, client.session.port) == (
        DC_ID,
        DC_ADDRESS,
        DC_PORT,
    )
    assert client.session.auth_key.key == AUTH_KEY
    assert (client.api_id, client.api_hash) == (API_ID, API_HASH)
    assert client.flood_sleep_threshold == 0  # socmon decides about every flood wait itself
    assert client._no_updates  # receive_updates=False: a reader needs no update loop
    assert not client.is_connected()


def test_the_hook_builds_a_telethon_client_from_the_connection(monkeypatch):
    telegram_connection(
        monkeypatch,
        login=str(API_ID),
        password=API_HASH,
        extra={"session": session_string(), "flood_wait_threshold": 45},
    )
    hook = TelegramHook()

    assert_real_client(hook.new_client())
    assert hook.flood_wait_threshold_seconds == 45
    first, second = hook.new_reader(), hook.new_reader()
    assert isinstance(first, TelegramChannelReader)
    assert_real_client(first.client)
    assert first.client is not second.client  # one client per run: Telethon binds it to an event loop


def test_the_airflow_extractor_reads_through_the_hooks_client(monkeypatch):
    telegram_connection(
        monkeypatch,
        login=str(API_ID),
        password=API_HASH,
        extra={"session": session_string(), "flood_wait_threshold": 12},
    )
    extractor = extractor_from_airflow("telegram")

    assert extractor.flood_wait_threshold_seconds == 12
    assert_real_client(extractor.reader_factory().client)


@pytest.mark.parametrize("missing", ["login", "password", "session"])
def test_the_hook_refuses_a_connection_without_credentials(monkeypatch, missing):
    fields = {"login": str(API_ID), "password": API_HASH, "extra": {"session": session_string()}}
    if missing == "session":
        fields["extra"] = {}
    else:
        del fields[missing]
    telegram_connection(monkeypatch, **fields)

    with pytest.raises(ValueError, match="telegram_default connection needs a login"):
        TelegramHook().new_client()


def test_a_sandbox_connection_gets_the_fake_client(monkeypatch):
    telegram_connection(
        monkeypatch,
        extra={
            "client_factory": "socmon_sandbox.telegram_fake:sandbox_client",
            "client_args": {"start": "2026-11-24", "days": 1},
        },
    )

    client = TelegramHook().new_client()

    assert isinstance(client, FakeTelegramClient)


def test_the_cli_factory_builds_a_telethon_client_from_the_environment(monkeypatch):
    monkeypatch.setenv("SOCMON_TELEGRAM_SESSION", session_string())
    monkeypatch.setenv("SOCMON_TELEGRAM_API_ID", str(API_ID))
    monkeypatch.setenv("SOCMON_TELEGRAM_API_HASH", API_HASH)

    extractor = extractor_from_env("telegram")
    reader = extractor.reader_factory()

    assert isinstance(reader, TelegramChannelReader)
    assert_real_client(reader.client)
