"""Each extraction task's share of a token's rate follows the Airflow pool's slots as they are now."""

from __future__ import annotations

import pytest

from socmon.constants import POOLS
from socmon.hooks import pool_slots, rate_per_task
from socmon.orchestration import airflow_environment, ensure_airflow

pytestmark = pytest.mark.integration


@pytest.fixture
def vk_pool_resized():
    """The vk_api pool resized to 5 slots, as an operator would in the Airflow UI; restored after."""
    ensure_airflow(airflow_environment())  # the tests' Airflow home, migrated once for the session
    from airflow.models import Pool

    slots, description = POOLS["vk_api"]
    Pool.create_or_update_pool("vk_api", slots=5, description=description, include_deferred=False)
    yield 5
    Pool.create_or_update_pool("vk_api", slots=slots, description=description, include_deferred=False)


def test_a_resized_pool_changes_each_tasks_share(vk_pool_resized):
    assert pool_slots("vk_api") == vk_pool_resized
    assert rate_per_task({"rps": 20}, 3, "vk_api") == pytest.approx(20 / vk_pool_resized)


def test_the_connection_may_set_the_number_of_tasks_itself(vk_pool_resized):
    assert rate_per_task({"rps": 20, "parallel_tasks": 4}, 3, "vk_api") == pytest.approx(5)
