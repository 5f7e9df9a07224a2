"""The extractor of each platform with credentials from environment variables: the CLI's path, defaulting
to the local sandbox. The DAG's path, with credentials from Airflow connections, is
`socmon.hooks.factory.extractor_from_airflow`."""

from __future__ import annotations

import os

from socmon.sources.base import Extractor


def extractor_from_env(platform: str) -> Extractor:
    env = os.environ.get
    if platform == "vk":
        from socmon.sources.vk import VK_API_URL, VkClient, VkExtractor

        return VkExtractor(
            VkClient(
                token=env("SOCMON_VK_TOKEN", "sandbox"),
                api_url=env("SOCMON_VK_API_URL", VK_API_URL),
                requests_per_second=float(env("SOCMON_VK_RPS", "3")),
            )
        )
    if platform == "ok":
        from socmon.sources.ok import OK_API_URL, OkClient, OkExtractor

        return OkExtractor(
            OkClient(
                env("SOCMON_OK_APPLICATION_KEY", "sandbox-app-key"),
                env("SOCMON_OK_ACCESS_TOKEN", "sandbox-access-token"),
                application_secret_key=env("SOCMON_OK_APPLICATION_SECRET_KEY", "sandbox-app-secret"),
                api_url=env("SOCMON_OK_API_URL", OK_API_URL),
                requests_per_second=float(env("SOCMON_OK_RPS", "5")),
            )
        )
    if platform == "telegram":
        from telethon import TelegramClient
        from telethon.sessions import StringSession

        from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor

        def new_reader() -> TelegramChannelReader:
            client = TelegramClient(
                StringSession(os.environ["SOCMON_TELEGRAM_SESSION"]),
                int(os.environ["SOCMON_TELEGRAM_API_ID"]),
                os.environ["SOCMON_TELEGRAM_API_HASH"],
                flood_sleep_threshold=0,
                receive_updates=False,
            )
            return TelegramChannelReader(client)

        return TelegramExtractor(new_reader)
    raise ValueError(f"unknown platform {platform!r}")
