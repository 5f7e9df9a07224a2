"""Airflow cluster policy (registered through the `airflow.policy` entry point of the socmon package).

Each platform's extraction runs in its pool (`vk_api`, `ok_api`, `telegram_api`), which holds its rate
limit; the policy also sends those tasks to a Celery queue of the platform's name (`vk`, `ok`,
`telegram`), so that rate-limited extraction can have workers of its own, e.g. near the network or with
the platform's egress address, while the default queue serves dbt, the gate and the exports. The DAGs
name only the pool; executors without queues (LocalExecutor, `airflow dags test`) ignore the queue.
"""

from __future__ import annotations

from airflow.policies import hookimpl

from socmon.constants import PLATFORMS, POOLS

QUEUE_OF_POOL = {f"{platform}_api": platform for platform in PLATFORMS}
PLATFORM_QUEUES = tuple(QUEUE_OF_POOL.values())
assert QUEUE_OF_POOL.keys() == POOLS.keys(), "a platform's pool is named <platform>_api"


@hookimpl
def task_policy(task) -> None:
    queue = QUEUE_OF_POOL.get(task.pool)
    if queue:
        task.queue = queue
