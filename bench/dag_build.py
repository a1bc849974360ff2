"""How long Snakemake takes to build the DAG for a MUSIC-AVQA-sized dataset (9,288 videos).

Writes minimal annotation files for 9,288 generated video ids and a config for a dataset of that
size (T = 60, the shipped shard size), then times `snakemake --dry-run` of its table3.csv.
Prints the job count and the wall time; the target is under 30 s.

    python bench/dag_build.py [--videos 9288] [--shard-size 100]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def placeholder_weights(folder: Path, extraction: dict) -> None:
    """Empty files under the weights file names: planning checks that they exist, nothing reads them."""
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import weights_file

    load_all_registries()
    folder.mkdir()
    for name in (extraction["visual_backbone"], extraction["audio_backbone"]):
        weights_file(name, folder).touch()


def write_annotations(folder: Path, video_ids: list[str]) -> dict[str, str]:
    paths = {}
    splits = {"train": video_ids[0::3], "val": video_ids[1::3], "test": video_ids[2::3]}
    for split, ids in splits.items():
        records = [{"video_id": v, "question_id": i, "type": '["Audio", "Counting"]',
                    "question_content": "How many instruments are sounding in the video?",
                    "templ_values": "[]", "question_deleted": 0, "anser": "one"}
                   for i, v in enumerate(ids)]
        path = folder / f"avqa-{split}.json"
        path.write_text(json.dumps(records))
        paths[split] = str(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=9288)
    parser.add_argument("--shard-size", type=int, default=None,
                        help="default: the shipped config's extraction.shard_size")
    parser.add_argument("--profile", metavar="OUT.prof", help="write a cProfile of the dry run here")
    args = parser.parse_args()
    shipped = yaml.safe_load((REPO / "config/config.yaml").read_text())
    shard_size = args.shard_size or shipped["extraction"]["shard_size"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "videos").mkdir()
        ids = [f"{i:08d}" for i in range(1, args.videos + 1)]
        for video_id in ids:  # every video present (placeholders): planning checks that they exist
            (tmp / "videos" / f"{video_id}.mp4").touch()
        placeholder_weights(tmp / "weights", shipped["extraction"])
        config = {
            "run": ["big"],
            "datasets": {"big": {"format": "music_avqa", "videos": str(tmp / "videos"),
                                 "annotations": write_annotations(tmp, ids), "seconds": 60,
                                 "extraction": {"shard_size": shard_size}}},
            "extraction": shipped["extraction"], "training": shipped["training"],
            "weights_dir": str(tmp / "weights"),
        }
        config_path = tmp / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        cmd = [sys.executable, *profile, "-m", "snakemake", "--dry-run", "--quiet", "rules",
               "--configfile", str(config_path), "--directory", str(tmp),
               "--snakefile", str(REPO / "Snakefile"), "results/big/table3.csv"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return 1
    total = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.M)
    print(f"videos: {args.videos}  shard_size: {shard_size}")
    print(f"jobs: {total.group(1) if total else 'unknown'}")
    print(f"dag_build_seconds: {elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
