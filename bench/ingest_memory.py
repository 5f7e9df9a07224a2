"""Peak memory of `socmon ingest` on a generated VK wall.get file of 1 GB, against baselines measured in
the same run: the same ingest of a file ten times smaller, and a process that only imports socmon.

Bounded memory means the peak stays where it is while the file grows tenfold: the 1 GB / 100 MB ratio
stays close to 1. Each measurement is a fresh `socmon ingest` process (its peak resident set size, from
wait4), loading into raw.vk_posts of a scratch database emptied before each run.

    nice -n 10 .venv/bin/python bench/ingest_memory.py [--size-mb 1024] [--small-mb 100] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench")

from socmon.warehouse import server

SAMPLE_TEXT = (
    "в Армавире третий день нет воды когда починят дорогу на улице Красной яма глубокая машину повредил "
    "мусор не вывозят неделю администрация ответьте пожалуйста автобус не пришёл опять 😡 #Краснодар"
)
WORDS = SAMPLE_TEXT.split()
SOCMON = [sys.executable, "-m", "socmon.cli"]


def write_wall_file(path: Path, size_bytes: int, seed: int = 1) -> int:
    """A wall.get body of about `size_bytes`, written item by item; returns the number of posts."""
    rng = random.Random(seed)
    count = 0
    with path.open("wb") as out:
        out.write(b'{"response": {"count": 0, "items": [\n')
        written = 0
        while written < size_bytes:
            count += 1
            post = {
                "id": count,
                "owner_id": -(100_000 + count % 500),
                "from_id": rng.randint(1, 10**8),
                "date": 1_764_000_000 + count,
                "post_type": "post",
                "text": " ".join(rng.choices(WORDS, k=rng.randint(8, 60))),
                "comments": {"count": rng.randint(0, 30), "can_post": 1},
                "likes": {"count": rng.randint(0, 500), "can_like": 1},
                "reposts": {"count": rng.randint(0, 20)},
                "views": {"count": rng.randint(10, 50_000)},
                "attachments": [],
            }
            line = ("" if count == 1 else ",\n") + json.dumps(post, ensure_ascii=False)
            written += out.write(line.encode("utf-8"))
        out.write(b"\n]}}\n")
    return count


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """(peak resident set size in MB, seconds) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def ingest_peak(path: Path) -> tuple[float, float]:
    with server.connect("loader") as conn:
        conn.execute("truncate raw.vk_posts, raw.rejected")
        conn.commit()
    return peak_rss_mb([*SOCMON, "ingest", str(path), "--platform", "vk"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small-mb", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    server.up()
    folder = Path(tempfile.mkdtemp(prefix="socmon-ingest-bench-"))
    small, large = folder / "wall-small.json", folder / "wall-large.json"
    try:
        print(f"generating {args.small_mb} MB and {args.size_mb} MB wall.get files in {folder}", flush=True)
        small_posts = write_wall_file(small, args.small_mb << 20)
        large_posts = write_wall_file(large, args.size_mb << 20)
        import_only, _ = peak_rss_mb([sys.executable, "-c", "import socmon.cli, socmon.sources.files"])
        small_peak, small_seconds = ingest_peak(small)
        large_peak, large_seconds = ingest_peak(large)
        with server.connect("loader") as conn:
            loaded = conn.execute("select count(*) from raw.vk_posts").fetchone()[0]
        print(f"import socmon only:            peak RSS {import_only:7.1f} MB")
        print(
            f"ingest {small.stat().st_size / 2**20:6.0f} MB ({small_posts:,} posts): "
            f"peak RSS {small_peak:7.1f} MB, {small_seconds:6.1f} s"
        )
        print(
            f"ingest {large.stat().st_size / 2**20:6.0f} MB ({large_posts:,} posts): "
            f"peak RSS {large_peak:7.1f} MB, {large_seconds:6.1f} s, {loaded:,} rows in raw.vk_posts"
        )
        ratio = large_peak / small_peak
        print(f"ratio peak {args.size_mb} MB / {args.small_mb} MB file: {ratio:.2f} (≈1: bounded)")
        print(f"ratio peak {args.size_mb} MB file / import only: {large_peak / import_only:.2f}")
    finally:
        if not args.keep:
            for path in (small, large):
                path.unlink(missing_ok=True)
            folder.rmdir()


if __name__ == "__main__":
    main()
