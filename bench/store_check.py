"""Cost of the readers' chunk check (every chunk the manifest lists is there at its size) against
one epoch-equivalent read of the same stores.

Writes synthetic MUSIC-AVQA-shaped stores (T=60, audio 128-d, visual 512-d, one chunk a video) to a
temp dir, then times (a) the check `open_store` runs before the first step (reading the manifest,
one stat a chunk) and (b) reading every video's rows once, in shuffled batches as the training
loader does. A training epoch reads each video once per question (~3.4 times on MUSIC-AVQA) and runs
the model too, so (b) is a lower bound on an epoch and the printed ratio an upper bound on the
check's share. Both grow with the number of videos; the page cache is warm for both.

    .venv/bin/python bench/store_check.py [--videos 2000] [--rounds 5] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mcd_core.data.rows import StreamRows
from mcd_core.features.manifest import missing_chunks, read_manifest
from mcd_core.features.store import StoreMeta, open_store, write_store


def write_stores(tmp: Path, videos: int, seconds: int) -> list[Path]:
    rng = np.random.default_rng(0)
    ids = [f"{i:08d}" for i in range(videos)]
    paths = []
    for stream, dim in (("audio", 128), ("visual", 512)):
        meta = StoreMeta(stream, "synthetic", dim, 1.0, seconds, {"random_init": True, "seed": 0}, {})
        x = rng.normal(size=(videos, seconds, dim)).astype(np.float32)
        paths.append(write_store(tmp / f"{stream}.zarr", x, [seconds] * videos, ids, meta))
    return paths


def time_check(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        assert not missing_chunks(path, read_manifest(path))
    return time.perf_counter() - start


def time_epoch_read(paths: list[Path], batch_size: int, seed: int) -> float:
    start = time.perf_counter()
    for path in paths:
        store = open_store(path, check_chunks=False)
        rows = StreamRows(store, store.video_ids, stride=1, in_memory=False)
        order = np.random.default_rng(seed).permutation(store.video_ids)
        for first in range(0, len(order), batch_size):
            rows.get_many(list(order[first:first + batch_size]))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcd-store-check-") as tmp:
        paths = write_stores(Path(tmp), args.videos, args.seconds)
        chunks = sum(len(c) for p in paths for c in read_manifest(p)["arrays"].values())
        time_epoch_read(paths, args.batch_size, 0)  # warm the page cache and Zarr's imports
        check = statistics.median(time_check(paths) for _ in range(args.rounds))
        read = statistics.median(time_epoch_read(paths, args.batch_size, r) for r in range(args.rounds))
    print(f"stores: audio + visual, {args.videos} videos x {args.seconds} s, {chunks} chunks")
    print(f"chunk check (before the first step): {check * 1e3:.1f} ms")
    print(f"epoch-equivalent read (every video once): {read * 1e3:.1f} ms")
    print(f"check / epoch read: {100 * check / read:.2f} %")


if __name__ == "__main__":
    main()
