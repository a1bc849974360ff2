"""Checks of `make test-cluster` (tests/cluster/run.sh): the table is complete, every expensive rule
went through SLURM and finished there, exactly the GPU rules were given a GPU, and no local rule was
submitted. Reads `scontrol show job -o` (finished jobs stay listed for MinJobAge) and the table.

    python tests/cluster/check_run.py JOBS.txt results/cluster/table3.csv
"""

from __future__ import annotations

import csv
import re
import sys

CLUSTER_RULES = {"demo_data", "frames", "audio", "logmel", "extract_visual", "extract_audio",
                 "merge_features", "train", "predict"}
GPU_RULES = {"extract_visual", "extract_audio", "train", "predict",
             "extract_visual_patch", "extract_tokens", "extract_text"}  # the last three: peers' features


def slurm_jobs(text: str) -> list[dict[str, str]]:
    """One dict per `scontrol show job -o` line (Key=Value fields)."""
    jobs = []
    for line in text.splitlines():
        if "JobId=" in line:
            jobs.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    return jobs


def rule_of(job: dict[str, str]) -> str:
    match = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", job.get("Comment", ""))
    return match.group(1) if match else "?"


SHARD_RULES = {"train"}  # run with MCD_SLURM_TRAIN_SHARDS=1: a GPU shard, not a whole GPU


def _tres(job: dict[str, str]) -> str:
    return " ".join(job.get(k, "") for k in ("TresPerJob", "TresPerNode", "AllocTRES", "TRES"))


def has_gpu(job: dict[str, str]) -> bool:
    return re.search(r"gres[/:]gpu[:=]?\d", _tres(job)) is not None


def has_shard(job: dict[str, str]) -> bool:
    return re.search(r"gres[/:]shard[:=]?\d", _tres(job)) is not None


def check(jobs_text: str, table_path: str) -> list[str]:
    problems = []
    jobs = slurm_jobs(jobs_text)
    rules = {rule_of(j) for j in jobs}
    if rules != CLUSTER_RULES:
        problems.append(f"rules run through SLURM: {sorted(rules)}; expected {sorted(CLUSTER_RULES)} "
                        f"(missing {sorted(CLUSTER_RULES - rules)}, local rules submitted "
                        f"{sorted(rules - CLUSTER_RULES)})")
    for job in jobs:
        rule = rule_of(job)
        if job.get("JobState") != "COMPLETED":
            problems.append(f"job {job.get('JobId')} ({rule}) ended {job.get('JobState')}")
        wants_gpu, wants_shard = rule in GPU_RULES - SHARD_RULES, rule in SHARD_RULES
        if (has_gpu(job), has_shard(job)) != (wants_gpu, wants_shard):
            problems.append(f"job {job.get('JobId')} ({rule}): GPU requested={has_gpu(job)}, shard "
                            f"requested={has_shard(job)}; expected {wants_gpu}, {wants_shard} "
                            f"({_tres(job)})")
    with open(table_path, newline="") as f:
        table = {row["method"]: row for row in csv.DictReader(f)}
    if set(table) != {"MCD", "prior", "N"}:
        problems.append(f"{table_path}: rows {sorted(table)}, expected MCD, prior, N")
    else:
        if not int(table["N"]["overall"]) > 0:
            problems.append(f"{table_path}: no test question counted")
        for method in ("MCD", "prior"):
            if not 0.0 <= float(table[method]["overall"]) <= 100.0:
                problems.append(f"{table_path}: {method} overall {table[method]['overall']}")
    return problems


def main(argv: list[str]) -> int:
    jobs_file, table = argv
    with open(jobs_file) as f:
        problems = check(f.read(), table)
    for line in problems:
        print(f"test-cluster: {line}", file=sys.stderr)
    if not problems:
        print(f"test-cluster: ok: {len(CLUSTER_RULES)} rule kinds through SLURM, GPUs for "
              f"{', '.join(sorted(GPU_RULES - SHARD_RULES))}, a GPU shard for "
              f"{', '.join(sorted(SHARD_RULES))}; {table} complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
