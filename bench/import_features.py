"""Import time per stream for 10,000 videos' worth of AVQA-shaped HDF5 files.

    PYTHONPATH=. python bench/import_features.py [--videos 10000] [--appearance-dim 128] [--dir /tmp/x]

Writes the three official files (official dataset names; `ids` are shuffled video_id ints, and a QA
file maps them to video names), then times `import_features` on each (sha256 of the file, every row
read, checked and written into a Zarr store). The sizes are computed and printed first. The released
appearance rows (8 x 16 x 2048 float32, 1 MiB a video: 10.5 GB for 10,000 videos, and as much again
for the store) would not fit a test machine's spare disk, so by default its last dimension is
smaller (--appearance-dim; 2048 for the real size); motion (8 x 2048) and audio (2048) are as released.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mcd_core.features.importers.run import ImportJob, import_features

STREAMS = {  # layout -> (file, dataset, row shape, given the appearance dim)
    "avqa_appearance": ("AVQA_appearance_resnet101_feat.h5", "resnet_features", lambda d: (8, 16, d)),
    "avqa_motion": ("AVQA_motion_resnext101_feat.h5", "resnext_features", lambda d: (8, 2048)),
    "avqa_audio": ("AVQA_audio_PANNs_feat.h5", "vlaudio_features", lambda d: (2048,)),
}
BLOCK = 500  # rows generated and written at once


def write_h5(path: Path, dataset: str, ids: np.ndarray, shape: tuple[int, ...], seed: int) -> None:
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.create_dataset("ids", data=ids)
        data = f.create_dataset(dataset, shape=(len(ids), *shape), dtype="float32")
        for start in range(0, len(ids), BLOCK):
            n = min(BLOCK, len(ids) - start)
            data[start:start + n] = rng.standard_normal((n, *shape), dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=10_000)
    p.add_argument("--appearance-dim", type=int, default=128, help="2048: the released appearance rows")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = p.parse_args(argv)
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    names = [f"bench{i:06d}_{i % 1000:06d}" for i in range(args.videos)]
    ids = np.random.default_rng(0).permutation(args.videos).astype(np.int64) + 1000
    id_map = {str(1000 + i): n for i, n in enumerate(names)}
    (work / "video_map.json").write_text(json.dumps({n: 1000 + i for i, n in enumerate(names)}))
    print(f"{args.videos:,} videos; sizes (float32, HDF5 file; the store is about as large again):")
    for layout, (fname, _, shape) in STREAMS.items():
        row = shape(args.appearance_dim)
        full = args.videos * 4 * int(np.prod(STREAMS[layout][2](2048)))
        print(f"  {layout:16s} rows {row}: {args.videos * 4 * int(np.prod(row)) / 1e9:.2f} GB"
              f" (as released: {full / 1e9:.2f} GB)")
    try:
        for seed, (layout, (fname, dataset, shape)) in enumerate(STREAMS.items()):
            row = shape(args.appearance_dim)
            t0 = time.perf_counter()
            write_h5(work / fname, dataset, ids, row, seed)
            t1 = time.perf_counter()
            result = import_features(ImportJob(layout, work / fname, work / f"{layout}.zarr", names=id_map,
                                               shape=row))
            t2 = time.perf_counter()
            size = (work / fname).stat().st_size
            print(f"{layout:16s} import {t2 - t1:7.1f} s ({result.rows / (t2 - t1):,.0f} videos/s, "
                  f"{size / (t2 - t1) / 1e6:,.0f} MB/s of HDF5); writing the HDF5 took {t1 - t0:.1f} s")
            shutil.rmtree(work / f"{layout}.zarr")
            (work / fname).unlink()
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
