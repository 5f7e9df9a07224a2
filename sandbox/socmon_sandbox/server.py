"""`socmon sandbox`: serve the default sandbox world through the VK API emulator until Ctrl-C."""

from __future__ import annotations

import logging
import threading

from socmon.config import settings
from socmon_sandbox.vk_emulator import VkEmulator
from socmon_sandbox.world import DEFAULT_DAYS, DEFAULT_START, generate_world

log = logging.getLogger(__name__)


def serve_forever(port: int | None = None) -> None:
    """Generate the default world and serve it on 127.0.0.1:`port` (default: the settings' sandbox port)."""
    world = generate_world(DEFAULT_START, DEFAULT_DAYS)
    posts = sum(len(items) for items in world.vk_posts.values())
    with VkEmulator(world, port=settings().sandbox_port if port is None else port) as emulator:
        log.info(
            "VK API sandbox at %s/method/ : %d communities and accounts, %d posts from %s over %d days",
            emulator.url,
            len(world.vk_groups),
            posts,
            world.start,
            world.days,
        )
        log.info("press Ctrl-C to stop")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            log.info("stopped")
