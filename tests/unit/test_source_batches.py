"""socmon_extract maps one task per batch of sources: the batch size decides how far a cycle spreads
over the workers (SOCMON_SOURCES_PER_TASK, default 50)."""

import pytest

from socmon.config import SOURCES_PER_TASK, settings
from socmon.sources.registry import due_source_batches, due_sources


@pytest.fixture(autouse=True)
def fresh_settings():
    settings.cache_clear()  # the settings are read once per process: as a new one would
    yield
    settings.cache_clear()


def test_every_due_source_is_in_exactly_one_batch_of_the_default_size(monkeypatch):
    monkeypatch.delenv("SOCMON_SOURCES_PER_TASK", raising=False)
    batches = due_source_batches("vk")
    assert all(1 <= len(batch) <= SOURCES_PER_TASK for batch in batches)
    flat = [source["source_id"] for batch in batches for source in batch]
    assert sorted(flat) == sorted(source.source_id for source in due_sources("vk"))


def test_the_environment_sets_the_batch_size(monkeypatch):
    monkeypatch.setenv("SOCMON_SOURCES_PER_TASK", "2")
    batches = due_source_batches("vk")
    assert len(batches) == -(-len(due_sources("vk")) // 2)
    assert all(len(batch) <= 2 for batch in batches[:-1]) and len(batches[0]) == 2
