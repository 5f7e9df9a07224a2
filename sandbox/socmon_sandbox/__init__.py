"""The sandbox: generators of realistic VK, OK and Telegram data, and local emulators of their APIs."""

from socmon_sandbox.running import RunningSandbox, running_sandbox
from socmon_sandbox.vk_emulator import VkEmulator
from socmon_sandbox.world import DEFAULT_DAYS, DEFAULT_START, World, generate_world

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "RunningSandbox",
    "VkEmulator",
    "World",
    "generate_world",
    "running_sandbox",
]
