"""The extractor of each platform, with credentials from Airflow connections: the DAG's path."""

from __future__ import annotations

from socmon.sources.base import Extractor


def extractor_from_airflow(platform: str) -> Extractor:
    if platform == "vk":
        from socmon.hooks.vk import VkHook
        from socmon.sources.vk import VkExtractor

        return VkExtractor(VkHook().get_conn())
    if platform == "ok":
        from socmon.hooks.ok import OkHook
        from socmon.sources.ok import OkExtractor

        return OkExtractor(OkHook().get_conn())
    if platform == "telegram":
        from socmon.hooks.telegram import TelegramHook
        from socmon.sources.telegram import TelegramExtractor

        hook = TelegramHook()
        return TelegramExtractor(
            hook.new_reader, flood_wait_threshold_seconds=hook.flood_wait_threshold_seconds
        )
    raise ValueError(f"unknown platform {platform!r}")
