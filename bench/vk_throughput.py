"""VK extraction throughput: posts/s of the batched extractor against the ceiling, and the naive path.

The emulator serves a synthetic world (many communities of 2,500 posts each, 100 posts a page) at 20
requests/s per token, as VK does for a community token, in a process of its own. The extractor reads
whole walls through the real vk_api, each run in fresh processes:

- batched, 2 tasks: two processes, as the two mapped Airflow tasks the `vk_api` pool lets run at once,
  each with half of the walls and half of the token's rate (the hook's `parallel_tasks`);
- batched, 1 task: one process with all of it;
- batched without prefetch: each wall's first page in its own request, then the rest of it;
- naive (`calls_per_execute=1`): one page per request;
- batched with no rate limit on either side: what one process can decode at all.

The ceiling is 20 requests/s × 25 calls × 100 posts = 50,000 posts/s (the client runs its buckets 5%
below a token's limit, `RATE_MARGIN`, so 47,500 is the most it will ask for). Prints posts/s, requests/s
and each run's ratio to the ceiling. Nothing is loaded into Postgres: this measures reading.

    .venv/bin/python bench/vk_throughput.py [--communities 80] [--posts 2500] [--naive-communities 4]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from socmon.sources.base import Source
from socmon.sources.vk import MAX_CALLS_PER_EXECUTE, PAGE_SIZE, VkClient, VkExtractor
from socmon_sandbox import VkEmulator, World
from socmon_sandbox.world import MOSCOW

REQUESTS_PER_SECOND = 20  # a community token
CEILING_POSTS_PER_SECOND = REQUESTS_PER_SECOND * MAX_CALLS_PER_EXECUTE * PAGE_SIZE
START = date(2026, 11, 1)
DAYS = 20
TEXT = (
    "в Армавире третий день нет воды когда починят дорогу на улице Красной яма глубокая машину повредил "
    "мусор не вывозят неделю администрация ответьте пожалуйста автобус не пришёл опять 😡 #Краснодар"
)


def synthetic_world(communities: int, posts_per_wall: int, seed: int = 1) -> World:
    """Walls of `posts_per_wall` posts spread over `DAYS` days, in the shape wall.get returns."""
    rng = random.Random(seed)
    words = TEXT.split()
    start = datetime.combine(START, datetime.min.time(), MOSCOW).timestamp()
    step = DAYS * 86_400 / posts_per_wall
    walls, groups = {}, {}
    for n in range(communities):
        owner_id = owner_ids(communities)[n]
        groups[-owner_id] = {"id": -owner_id, "name": f"Паблик {n}", "screen_name": f"public{-owner_id}"}
        walls[owner_id] = [
            {
                "inner_type": "wall_wallpost", "id": 10_000 + i, "owner_id": owner_id,
                "from_id": rng.randint(1, 10**8), "date": int(start + i * step), "post_type": "post",
                "type": "post", "text": " ".join(rng.choices(words, k=rng.randint(8, 60))), "attachments": [],
                "comments": {"can_post": 1, "count": 0, "groups_can_post": True},
                "likes": {"can_like": 1, "count": rng.randint(0, 500), "user_likes": 0, "can_publish": 1},
                "reposts": {"count": rng.randint(0, 20), "wall_count": 0, "user_reposted": 0},
                "views": {"count": rng.randint(10, 50_000)}, "post_source": {"type": "vk"},
                "donut": {"is_donut": False}, "is_favorite": False, "marked_as_ads": 0, "hash": f"h{i:020d}",
            }
            for i in reversed(range(posts_per_wall))
        ]  # fmt: skip
    return World(START, DAYS, groups, {}, walls, {}, [])


def owner_ids(communities: int) -> list[int]:
    return [-(300_000 + n) for n in range(communities)]


def serve(size: tuple[int, int], commands: Connection, requests_per_second: float | None) -> None:
    """The emulator's process: generates the world, sends its URL, then answers "requests" with the count
    served, until "stop". The readers never hold the world: it would slow their garbage collection."""
    with VkEmulator(synthetic_world(*size), requests_per_second=requests_per_second) as emulator:
        commands.send(emulator.url)
        while commands.recv() != "stop":
            commands.send(emulator.requests)


@contextmanager
def emulator_process(
    size: tuple[int, int], requests_per_second: float | None
) -> Iterator[tuple[Connection, str]]:
    """The emulator in a process of its own, serving `size` = (communities, posts per wall); yields
    (pipe, url)."""
    context = multiprocessing.get_context("fork")
    commands, emulator_end = context.Pipe()
    process = context.Process(target=serve, args=(size, emulator_end, requests_per_second), daemon=True)
    process.start()
    try:
        yield commands, commands.recv()
    finally:
        commands.send("stop")
        process.join(timeout=5)


@dataclass
class Run:
    name: str
    posts: int
    seconds: float
    requests: int
    retries: int

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds

    def line(self) -> str:
        rate = f"{self.posts_per_second:>7,.0f} posts/s, {self.requests / self.seconds:4.1f} requests/s"
        totals = f"{self.posts:>9,} posts in {self.seconds:5.1f} s"
        return f"{self.name:<26}{rate} ({totals}, {self.requests} requests, {self.retries} retries)"


class _WarningCounter(logging.Handler):
    """Counts the client's warnings: each is a retry (error 6 from the emulator's limit, mostly)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def read_walls(
    name: str, emulator: Connection, url: str, owner_ids: list[int], *, processes: int = 1,
    calls_per_execute: int = 25, prefetch: bool = True, requests_per_second: float = REQUESTS_PER_SECOND,
) -> Run:  # fmt: skip
    """Read whole walls in `processes` fresh processes (as many mapped Airflow tasks), each with its share
    of the walls and of the token's rate; the emulator counts the requests."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Barrier(processes + 1), context.Queue()
    share = requests_per_second / processes
    readers = [
        context.Process(
            target=_read_share,
            args=(url, owner_ids[n::processes], share, calls_per_execute, prefetch, ready, results),
        )
        for n in range(processes)
    ]
    emulator.send("requests")
    requests_before = emulator.recv()
    for reader in readers:
        reader.start()
    ready.wait()
    started = time.monotonic()  # the same clock in every process
    finished = [results.get() for _ in readers]
    for reader in readers:
        reader.join()
    emulator.send("requests")
    requests = emulator.recv() - requests_before
    posts, retries = sum(f[0] for f in finished), sum(f[2] for f in finished)
    run = Run(name, posts, max(f[1] for f in finished) - started, requests, retries)
    print(run.line(), flush=True)
    return run


def _read_share(
    url: str, owner_ids: list[int], requests_per_second: float, calls_per_execute: int, prefetch: bool,
    ready: Barrier, results: Queue,
) -> None:  # fmt: skip
    """One reader process: puts (posts read, when it finished, retries) on `results`."""
    client = VkClient("bench-token", api_url=url, requests_per_second=requests_per_second)
    extractor = VkExtractor(client, calls_per_execute=calls_per_execute)
    sources = [Source(f"vk:{o}", "vk", "community", str(o), "Паблик") for o in owner_ids]
    since = datetime.combine(START, datetime.min.time(), MOSCOW)
    until = since + timedelta(days=DAYS)
    warnings = _WarningCounter()
    logging.getLogger("socmon.sources.vk").addHandler(warnings)
    ready.wait()
    if prefetch:
        extractor.prefetch(sources, since, until)
    posts = sum(
        len(batch.records)
        for source in sources
        for batch in extractor.extract(source, since, until, {})
        if batch.table == "vk_posts"
    )
    results.put((posts, time.monotonic(), warnings.count))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--communities", type=int, default=80, help="walls read by the batched extractor")
    parser.add_argument("--posts", type=int, default=2_500, help="posts per wall")
    parser.add_argument("--naive-communities", type=int, default=4, help="walls read one page per request")
    args = parser.parse_args()
    client_log = logging.getLogger("socmon.sources.vk")
    client_log.setLevel(logging.WARNING)  # counted by each run, not printed
    client_log.propagate = False

    size = (args.communities, args.posts)
    walls = owner_ids(args.communities)
    print(f"{args.communities} walls of {args.posts:,} posts", flush=True)
    with emulator_process(size, REQUESTS_PER_SECOND) as (emulator, url):
        print(
            f"emulator at {url}: {REQUESTS_PER_SECOND} requests/s per token, {PAGE_SIZE} posts a page;"
            f" ceiling {CEILING_POSTS_PER_SECOND:,} posts/s",
            flush=True,
        )
        two = read_walls("batched, 2 tasks", emulator, url, walls, processes=2)
        one = read_walls("batched, 1 task", emulator, url, walls)
        per_wall = read_walls("batched, no prefetch", emulator, url, walls[: len(walls) // 4], prefetch=False)
        naive = read_walls(
            "naive (1 call a request)", emulator, url, walls[: args.naive_communities], calls_per_execute=1
        )
    with emulator_process(size, None) as (emulator, url):
        unlimited = read_walls(
            "batched, no rate limit", emulator, url, walls[: len(walls) // 2], requests_per_second=10_000
        )
    for run in (two, one, per_wall, naive):
        print(f"{run.name + ' / ceiling:':<37}{run.posts_per_second / CEILING_POSTS_PER_SECOND:.2f}")
    print(f"{'batched, 2 tasks / naive:':<37}{two.posts_per_second / naive.posts_per_second:.1f}x")
    print(f"{'batched, 1 task / no rate limit:':<37}{one.posts_per_second / unlimited.posts_per_second:.2f}")


if __name__ == "__main__":
    main()
