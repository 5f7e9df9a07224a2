"""Load throughput: N VK posts loaded by socmon's loader versus psql's COPY of the same rows.

Both load into raw.vk_posts (with its unique key and its loaded_at index) of a scratch database,
emptied and checkpointed before each load (so that neither pays for the other's WAL), in the same
process run so that the machine's noise hits both: psql then socmon, `--rounds` times. Prints rows/s of
each and the ratio of their total times.

    .venv/bin/python bench/load_throughput.py [--rows 1000000] [--batch 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench")

from socmon.config import settings
from socmon.warehouse import server
from socmon.warehouse.credentials import bootstrap_connection
from socmon.warehouse.loader import ENTITIES, load_records, prepare

SAMPLE_TEXT = (
    "в Армавире третий день нет воды когда починят дорогу на улице Красной яма глубокая машину",
    "повредил мусор не вывозят неделю администрация ответьте пожалуйста автобус не пришёл опять 😡",
    "#Краснодар",
)
WORDS = " ".join(SAMPLE_TEXT).split()


def synthetic_posts(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    posts = []
    for i in range(count):
        owner = -(100_000 + i % 500)
        posts.append(
            {
                "id": i + 1,
                "owner_id": owner,
                "from_id": rng.randint(1, 10**8),
                "date": 1_764_000_000 + i,
                "post_type": "post",
                "text": " ".join(rng.choices(WORDS, k=rng.randint(8, 60))),
                "comments": {"count": rng.randint(0, 30), "can_post": 1},
                "likes": {"count": rng.randint(0, 500), "can_like": 1},
                "reposts": {"count": rng.randint(0, 20)},
                "views": {"count": rng.randint(10, 50_000)},
                "attachments": [],
                "inner_type": "wall_wallpost",
            }
        )
    return posts


def empty(conn) -> None:
    """raw.vk_posts emptied, and a checkpoint: the previous load's dirty pages and WAL are written now,
    not during the next load."""
    conn.execute("truncate raw.vk_posts")
    conn.commit()
    with bootstrap_connection(settings().database) as superuser:  # CHECKPOINT needs pg_checkpoint
        superuser.execute("checkpoint")


def load_with_socmon(posts: list[dict], batch: int) -> float:
    with server.connect("loader") as conn:
        empty(conn)
        started = time.perf_counter()
        for i in range(0, len(posts), batch):
            with conn.transaction():
                load_records(conn, "vk_posts", posts[i : i + batch], "bench", "bench-socmon")
        return time.perf_counter() - started


def copy_with_psql(posts: list[dict]) -> float:
    entity = ENTITIES["vk_posts"]
    with tempfile.NamedTemporaryFile("wb", suffix=".copy", delete=False) as f:
        for post in posts:
            row = prepare(post, entity)
            payload = row.payload.replace(b"\\", b"\\\\")  # COPY's text format doubles backslashes
            owner_id, post_id = row.key
            f.write(
                b"%d\t%d\t%s\t%s\tbench\tbench-psql\n"
                % (owner_id, post_id, payload, row.payload_hash.encode())
            )
        path = Path(f.name)
    try:
        with server.connect("loader") as conn:
            empty(conn)
        started = time.perf_counter()
        subprocess.run(
            [
                "psql",
                server.url("loader"),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "\\copy raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id)"
                f" from '{path}'",
            ],
            check=True,
        )
        return time.perf_counter() - started
    finally:
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="psql then socmon, this many times")
    args = parser.parse_args()
    server.up()
    print(f"generating {args.rows:,} posts ...", flush=True)
    posts = synthetic_posts(args.rows)
    gc.freeze()  # the bench's million posts are not the loader's work: no collection walks them
    psql_total = socmon_total = 0.0
    for n in range(1, args.rounds + 1):
        psql_seconds = copy_with_psql(posts)
        print(f"round {n} psql COPY:     {args.rows / psql_seconds:>10,.0f} rows/s ({psql_seconds:.1f} s)")
        socmon_seconds = load_with_socmon(posts, args.batch)
        print(
            f"round {n} socmon loader: {args.rows / socmon_seconds:>10,.0f} rows/s ({socmon_seconds:.1f} s),"
            f" ratio {psql_seconds / socmon_seconds:.2f}",
            flush=True,
        )
        psql_total += psql_seconds
        socmon_total += socmon_seconds
    print(
        f"ratio socmon / psql COPY over {args.rounds} rounds: {psql_total / socmon_total:.2f} (target >= 0.8)"
    )


if __name__ == "__main__":
    main()
