"""The checks `make test-cluster` applies to a SLURM run (tests/cluster/check_run.py) catch what
they are there for: a rule kind that never ran as a job, a local rule submitted, a GPU missing."""

import csv
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_run", REPO / "tests/cluster/check_run.py")
check_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_run)


def job_line(job_id, rule, gpu=False, state="COMPLETED", shard=False):
    tres = " TresPerJob=gres:gpu:1" if gpu else ""
    tres += " TresPerNode=gres:shard:1" if shard else ""
    return (f"JobId={job_id} JobName=abc JobState={state} Comment=rule_{rule}_wildcards_cluster_x"
            f" TRES=cpu=1,mem=4000M,node=1{tres}")


def good_jobs():
    return [job_line(i, rule, gpu=rule in check_run.GPU_RULES - check_run.SHARD_RULES,
                     shard=rule in check_run.SHARD_RULES)
            for i, rule in enumerate(sorted(check_run.CLUSTER_RULES), 1)]


def table(tmp_path):
    path = tmp_path / "table3.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "overall"])
        writer.writerows([["MCD", "40.0"], ["prior", "30.0"], ["N", "120"]])
    return str(path)


def test_a_complete_run_passes(tmp_path):
    assert check_run.check("\n".join(good_jobs()), table(tmp_path)) == []


def test_each_kind_of_wrong_run_is_reported(tmp_path):
    jobs = good_jobs()
    jobs = [line for line in jobs if "rule_logmel" not in line]          # never a job
    jobs.append(job_line(99, "table3"))                                  # a local rule submitted
    jobs = [line.replace(" TresPerJob=gres:gpu:1", "") if "rule_predict" in line else line for line in jobs]
    jobs = [job_line(7, "train", gpu=True) if "rule_train" in line else line for line in jobs]  # a whole GPU
    jobs.append(job_line(100, "frames", state="FAILED"))
    problems = "\n".join(check_run.check("\n".join(jobs), table(tmp_path)))
    assert "missing ['logmel']" in problems
    assert "local rules submitted ['table3']" in problems
    assert "(predict): GPU requested=False, shard requested=False; expected True, False" in problems
    assert "(train): GPU requested=True, shard requested=False; expected False, True" in problems
    assert "(frames) ended FAILED" in problems
