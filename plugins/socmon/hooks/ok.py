from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from socmon.hooks import api_url_from_connection, rate_per_task

if TYPE_CHECKING:
    from socmon.sources.ok import OkClient


class OkHook(BaseHook):
    """OK (Odnoklassniki) API access from an Airflow connection.

    The login is the application key, the password the access token. Extras: `application_secret_key`
    (or `session_secret_key` for a client-side session), `rps` (requests per second, default 5),
    `parallel_tasks` (the extraction tasks that call at once, default the slots of the `ok_api` pool:
    each takes that share of `rps`) and `retry_budget`. The host, when set, replaces
    https://api.ok.ru/fb.do (the sandbox uses this).
    """

    conn_name_attr = "ok_conn_id"
    default_conn_name = "ok_default"
    conn_type = "ok"
    hook_name = "OK API"

    def __init__(self, *, ok_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ok_conn_id = ok_conn_id

    @cached_property
    def client(self) -> OkClient:
        from socmon.sources.ok import OK_API_URL, OkClient

        conn = self.get_connection(self.ok_conn_id)
        if not conn.login or not conn.password:
            raise ValueError(
                f"the {self.ok_conn_id} connection needs a login (application key) "
                "and a password (access token)"
            )
        extra = conn.extra_dejson
        api_url = api_url_from_connection(conn, OK_API_URL)
        if not api_url.endswith(".do"):
            api_url = f"{api_url.rstrip('/')}/fb.do"
        return OkClient(
            application_key=conn.login,
            access_token=conn.password,
            application_secret_key=extra.get("application_secret_key"),
            session_secret_key=extra.get("session_secret_key"),
            api_url=api_url,
            requests_per_second=rate_per_task(extra, 5, "ok_api"),
            retry_budget=int(extra.get("retry_budget", 5)),
        )

    def get_conn(self) -> OkClient:
        return self.client
