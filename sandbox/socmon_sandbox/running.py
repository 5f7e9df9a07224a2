"""All three sandbox networks at once, and the Airflow connections that point the DAGs at them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from socmon_sandbox.ok_emulator import OkEmulator
from socmon_sandbox.social_world import SocialWorld, generate_social_world
from socmon_sandbox.vk_emulator import VkEmulator
from socmon_sandbox.world import World, generate_world


@dataclass(frozen=True)
class RunningSandbox:
    vk_world: World
    social_world: SocialWorld
    vk: VkEmulator
    ok: OkEmulator
    connections: dict[str, str]  # AIRFLOW_CONN_* environment variables


@contextmanager
def running_sandbox(first_day: date, days: int, requests_per_second: int = 50) -> Iterator[RunningSandbox]:
    """Generate the worlds, serve VK and OK over HTTP on free local ports; Telegram is served in-process
    by the fake client that the `client_factory` extra of the Telegram connection names."""
    vk_world = generate_world(first_day, days)
    social_world = generate_social_world(first_day, days)
    with VkEmulator(vk_world) as vk, OkEmulator(social_world) as ok:
        connections = {
            "AIRFLOW_CONN_VK_DEFAULT": {
                "conn_type": "vk",
                "host": vk.url,
                "password": "sandbox-token",
                "extra": {"rps": requests_per_second},
            },
            "AIRFLOW_CONN_OK_DEFAULT": {
                "conn_type": "ok",
                "host": ok.url,
                "login": ok.application_key,
                "password": ok.access_token,
                "extra": {"application_secret_key": ok.application_secret_key, "rps": requests_per_second},
            },
            "AIRFLOW_CONN_TELEGRAM_DEFAULT": {
                "conn_type": "telegram",
                "extra": {
                    "client_factory": "socmon_sandbox.telegram_fake:sandbox_client",
                    "client_args": {"start": first_day.isoformat(), "days": days},
                },
            },
        }
        yield RunningSandbox(
            vk_world, social_world, vk, ok, {name: json.dumps(conn) for name, conn in connections.items()}
        )
