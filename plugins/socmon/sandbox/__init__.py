"""The sandbox: a generator of realistic VK data and a local HTTP emulator of the VK API that serves it."""

from socmon.sandbox.vk_emulator import VkEmulator
from socmon.sandbox.world import DEFAULT_DAYS, DEFAULT_START, World, generate_world

__all__ = ["DEFAULT_DAYS", "DEFAULT_START", "VkEmulator", "World", "generate_world"]
