"""The extractor of each platform with credentials from environment variables: the CLI's path, defaulting
to the local sandbox. The DAG's path, with credentials from Airflow connections, is
`socmon.hooks.factory.extractor_from_airflow`."""

from __future__ import annotations

from socmon.config import api_settings
from socmon.sources.base import Extractor


def extractor_from_env(platform: str) -> Extractor:
    api = api_settings()
    if platform == "vk":
        from socmon.sources.vk import VK_API_URL, VkClient, VkExtractor

        return VkExtractor(
            VkClient(
                token=api.vk_token.get_secret_value(),
                api_url=api.vk_api_url or VK_API_URL,
                requests_per_second=api.vk_rps,
            )
        )
    if platform == "ok":
        from socmon.sources.ok import OK_API_URL, OkClient, OkExtractor

        return OkExtractor(
            OkClient(
                api.ok_application_key,
                api.ok_access_token.get_secret_value(),
                application_secret_key=api.ok_application_secret_key.get_secret_value(),
                api_url=api.ok_api_url or OK_API_URL,
                requests_per_second=api.ok_rps,
            )
        )
    if platform == "telegram":
        from telethon import TelegramClient
        from telethon.sessions import StringSession

        from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor

        session, api_id, api_hash = api.telegram_session, api.telegram_api_id, api.telegram_api_hash
        if session is None or api_id is None or api_hash is None:
            raise ValueError(
                "Telegram needs SOCMON_TELEGRAM_SESSION, SOCMON_TELEGRAM_API_ID and SOCMON_TELEGRAM_API_HASH"
            )

        def new_reader() -> TelegramChannelReader:
            client = TelegramClient(
                StringSession(session.get_secret_value()),
                api_id,
                api_hash.get_secret_value(),
                flood_sleep_threshold=0,
                receive_updates=False,
            )
            return TelegramChannelReader(client)

        return TelegramExtractor(new_reader)
    raise ValueError(f"unknown platform {platform!r}")
