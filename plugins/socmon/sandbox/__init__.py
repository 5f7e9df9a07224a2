"""The sandbox: generators of realistic VK, OK and Telegram data, and local emulators of their APIs."""

from socmon.sandbox.running import RunningSandbox, running_sandbox
from socmon.sandbox.vk_emulator import VkEmulator
from socmon.sandbox.world import DEFAULT_DAYS, DEFAULT_START, World, generate_world

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "RunningSandbox",
    "VkEmulator",
    "World",
    "generate_world",
    "running_sandbox",
]
