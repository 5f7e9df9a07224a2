from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from socmon.hooks import api_url_from_connection, rate_per_task

if TYPE_CHECKING:
    from socmon.sources.vk import VkClient


class VkHook(BaseHook):
    """VK API access from an Airflow connection.

    The password is the access token. The host, when set, replaces https://api.vk.ru (the sandbox
    uses this). Extras: `rps` (requests per second of each token, default 3 for a user token, 20 for a
    community token), `parallel_tasks` (the extraction tasks that use the tokens at once, default the
    slots of the `vk_api` pool: each takes that share of `rps`), `tokens` (more tokens to pool with the
    password's) and `retry_budget`.
    """

    conn_name_attr = "vk_conn_id"
    default_conn_name = "vk_default"
    conn_type = "vk"
    hook_name = "VK API"

    def __init__(self, *, vk_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.vk_conn_id = vk_conn_id

    @cached_property
    def client(self) -> VkClient:
        from socmon.sources.vk import VK_API_URL, VkClient

        conn = self.get_connection(self.vk_conn_id)
        extra = conn.extra_dejson
        return VkClient(
            token=conn.password,
            api_url=api_url_from_connection(conn, VK_API_URL),
            requests_per_second=rate_per_task(extra, 3, "vk_api"),
            retry_budget=int(extra.get("retry_budget", 5)),
            tokens=extra.get("tokens", ()),
        )

    def get_conn(self) -> VkClient:
        return self.client
