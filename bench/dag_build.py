"""How long Snakemake takes to build the DAG for a MUSIC-AVQA-sized dataset (9,288 videos).

Writes minimal annotation files for 9,288 generated video ids and a config for a dataset of that
size (T = 60, the shipped shard size and training settings, 3 seeds), then times
`snakemake --dry-run` of a target: table3.csv, or paper.done (the paper's whole suite, 108 runs).
Prints the job count and the wall time (goal: <= 5 s for paper.done on 2 cores); for paper.done
it then prints the plan the dry run shows (runs, GPU-hours), from a second, untimed dry run.

    python bench/dag_build.py [--videos 9288] [--shard-size 100] [--target table3.csv|paper.done]
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

    from mcd_core.features.backbones.weights import list_sources

    load_all_registries()
    folder.mkdir()
    for source in list_sources():  # the suite reads several backbones (Table IV)
        weights_file(source.name, folder).touch()


# MUSIC-AVQA's question counts (reference-facts: train 31,927, val 4,568, test 9,129 in the
# version the community reports), so that the plan's training hours are those of the real dataset.
QUESTIONS = {"train": 31927, "val": 4568, "test": 9129}


def write_annotations(folder: Path, video_ids: list[str]) -> dict[str, str]:
    """Questions over the videos (about 70/10/20 % of them per split) in the real split sizes."""
    paths = {}
    n = len(video_ids)
    cuts = {"train": video_ids[: int(n * 0.7)], "val": video_ids[int(n * 0.7): int(n * 0.8)],
            "test": video_ids[int(n * 0.8):]}
    qid = 0
    for split, ids in cuts.items():
        records = []
        for k in range(QUESTIONS[split]):
            records.append({"video_id": ids[k % len(ids)], "question_id": qid, "type": '["Audio", "Counting"]',
                            "question_content": "How many instruments are sounding in the video?",
                            "templ_values": "[]", "question_deleted": 0, "anser": "one"})
            qid += 1
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
    parser.add_argument("--target", default="table3.csv", help="file under results/big/ (default table3.csv)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (the paper's suite: 3)")
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
            "extraction": shipped["extraction"], "training": {**shipped["training"], "seeds": list(range(args.seeds))},
            "weights_dir": str(tmp / "weights"),
        }
        config_path = tmp / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        cmd = [sys.executable, *profile, "-m", "snakemake", "--dry-run", "--quiet", "rules",
               "--configfile", str(config_path), "--directory", str(tmp),
               "--snakefile", str(REPO / "Snakefile"), f"results/big/{args.target}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        elapsed = time.perf_counter() - start
        plan = []
        if proc.returncode == 0 and args.target == "paper.done":
            shown = subprocess.run([c for c in cmd if c not in ("--quiet", "rules") and c not in profile],
                                   capture_output=True, text=True, cwd=REPO)
            plan = [line.strip() for line in (shown.stdout + shown.stderr).splitlines()
                    if any(key in line for key in ("paper suite", "questions per epoch", "estimated"))]
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return 1
    total = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.M)
    print(f"videos: {args.videos}  shard_size: {shard_size}")
    print(f"jobs: {total.group(1) if total else 'unknown'}")
    print(f"dag_build_seconds: {elapsed:.1f}")
    for line in plan:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
