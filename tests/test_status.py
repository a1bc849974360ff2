"""`mcd status`: runs and shards of hand-made results folders, read from their files alone."""

import json
import os
import re

import pytest

from mcd_core.cli import main
from mcd_core.training.curves import metrics_csv
from mcd_core.workflow.status import StatusError, last_error, pipeline_status

NOW = 1_700_000_000.0


def _row(epoch, val, test=float("nan"), seconds=10.0):
    return {"epoch": epoch, "lr": 1e-4, "train_loss": 1.0, "train_acc": 50.0, "val_acc": val,
            "test_acc": test, "seconds": seconds}


def _run(results, name, epochs, rows, final=False, log=None):
    run = results / "runs" / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"train": {"epochs": epochs}}))
    (run / "metrics.csv").write_text(metrics_csv(rows))
    os.utime(run / "metrics.csv", (NOW - 30, NOW - 30))
    if final:
        best = max(rows, key=lambda r: r["val_acc"])
        (run / "final.json").write_text(json.dumps({"best_epoch": best["epoch"], "best_val_acc": best["val_acc"],
                                                    "threads": 1, "history": rows}))
    if log is not None:
        tag, variant, seed = name.split("/")
        path = results / "logs" / "train" / tag / f"{variant}_{seed}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(log)
        os.utime(path, (NOW - 60, NOW - 60))  # older than the run's own files


@pytest.fixture
def results(tmp_path):
    results = tmp_path / "results" / "demo"
    _run(results, "r18-vgg/mcd/seed0", 3, [_row(1, 40.0, 38.0), _row(2, 55.5, 50.25), _row(3, 50.0, 52.0)],
         final=True, log="2024-01-01 10:00:00,000 INFO mcd_core.cli.train: finished ...\n")
    _run(results, "r18-vgg/late/seed0", 10, [_row(1, 30.0, seconds=4.0), _row(2, 35.0, seconds=6.0)],
         log="2024-01-01 10:00:00,000 INFO mcd_core.training.loop: epoch 2: loss 1.0\n")
    _run(results, "r18-vgg/avst/seed1", 10, [_row(1, 20.0)],
         log="INFO start\nmcd train: error: out of memory on cuda:0 (try a smaller --batch-size)\n")
    log = results / "logs" / "train" / "r18-vgg" / "q_only_seed0.log"  # failed before writing a thing
    log.write_text("Traceback (most recent call last):\n  File x\nValueError: bad vocab\n")
    # shards: 3 listed; visual/resnet18: 1 done, 1 failed, 1 running; audio/vggish: 1 done, 2 missing
    (results / "shards").mkdir()
    for k in range(3):
        (results / "shards" / f"shard_0000{k}.txt").write_text("v\n")
    (results / "features" / "visual" / "resnet18" / "shard_00000.zarr").mkdir(parents=True)
    logs = results / "logs" / "visual" / "resnet18"
    logs.mkdir(parents=True)
    (logs / "shard_00000.log").write_text("INFO wrote it\n")
    (logs / "shard_00001.log").write_text("mcd extract-visual: error: frames shard x: manifest.json is missing\n")
    (logs / "shard_00002.log").write_text("2024-01-01 10:00:00,000 INFO extract: 3/10 frames\n")
    (results / "features" / "audio" / "vggish" / "shard_00001.zarr").mkdir(parents=True)
    (results / "frames" / "shard_00000").mkdir(parents=True)
    (results / "frames" / "shard_00001").mkdir()
    (results / "frames" / "shard_00002").mkdir()
    return results


def test_runs_finished_running_failed(results):
    runs = {r.run: r for r in pipeline_status(results, now=NOW)["runs"]}
    assert set(runs) == {"r18-vgg/mcd/seed0", "r18-vgg/late/seed0", "r18-vgg/avst/seed1", "r18-vgg/q_only/seed0"}
    done = runs["r18-vgg/mcd/seed0"]
    assert (done.state, done.epoch, done.epochs, done.best_epoch, done.val, done.test) == (
        "finished", 3, 3, 2, 55.5, 50.25)
    running = runs["r18-vgg/late/seed0"]
    assert (running.state, running.epoch, running.epochs, running.val) == ("running", 2, 10, 35.0)
    assert running.eta_s == pytest.approx(5.0 * 8) and running.updated_s == pytest.approx(30)
    failed = runs["r18-vgg/avst/seed1"]
    assert (failed.state, failed.epoch) == ("failed", 1)
    assert failed.error == "mcd train: error: out of memory on cuda:0 (try a smaller --batch-size)"
    assert runs["r18-vgg/q_only/seed0"].state == "failed"
    assert runs["r18-vgg/q_only/seed0"].error == "ValueError: bad vocab"


def test_shards_done_failed_running_missing(results):
    stages = {(s.stage, s.backbone): s for s in pipeline_status(results, now=NOW)["stages"]}
    assert set(stages) == {("frames", ""), ("visual", "resnet18"), ("audio", "vggish")}
    visual = stages["visual", "resnet18"]
    assert (visual.done, list(visual.failed), visual.running, visual.missing, visual.merged) == (
        ["shard_00000"], ["shard_00001"], ["shard_00002"], [], False)
    assert visual.failed["shard_00001"].startswith("mcd extract-visual: error: frames shard x")
    audio = stages["audio", "vggish"]
    assert (audio.done, audio.missing) == (["shard_00001"], ["shard_00000", "shard_00002"])
    assert len(stages["frames", ""].done) == 3


def test_cli_prints_aligned_tables_and_json(results, capsys):
    assert main(["status", str(results)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"runs in {results}: 1 finished, 1 running, 2 failed"
    header = next(line for line in lines if line.split()[:2] == ["run", "state"])
    assert header.index("state") == next(line for line in lines if "r18-vgg/late/seed0" in line).index("running")
    assert any(line.split()[:6] == ["r18-vgg/mcd/seed0", "finished", "3/3", "55.5%", "50.2%", "best"]
               for line in lines)
    assert any("r18-vgg/late/seed0" in line and "2/10" in line and "ETA 40 s" in line for line in lines)
    assert any(line.split()[:7] == ["visual", "resnet18", "1/3", "1", "1", "0", "no"] for line in lines)
    assert any(line.split()[:7] == ["audio", "vggish", "1/3", "0", "0", "2", "no"] for line in lines)
    assert ("  failed visual/resnet18 shard_00001: mcd extract-visual: error: frames shard x: manifest.json "
            "is missing") in lines
    assert main(["status", "--json", str(results)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["state"] for r in data["runs"]} == {"finished", "running", "failed"}


def test_a_later_failed_attempt_outranks_an_old_final_json(results):
    log = results / "logs" / "train" / "r18-vgg" / "mcd_seed0.log"
    log.write_text("mcd train: error: feature store x does not exist\n")  # newer than final.json
    runs = {r.run: r for r in pipeline_status(results, now=NOW)["runs"]}
    assert runs["r18-vgg/mcd/seed0"].state == "failed"


def test_not_a_results_folder_is_one_error_line(tmp_path, results, capsys):
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"mcd status: error: {tmp_path / 'nowhere'} is not a folder"]
    (tmp_path / "empty").mkdir()
    assert main(["status", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mcd status: error: ") and "results/<dataset>" in err[0]
    with pytest.raises(StatusError, match="holds the results of demo: give one"):
        pipeline_status(results.parent)


def test_error_lines_are_recognised(tmp_path):
    log = tmp_path / "x.log"
    for text, error in (("a\nmcd merge: internal error (KeyError); the traceback follows\nTraceback\nKeyError: 'x'\n",
                         "KeyError: 'x'"),
                        ("mcd train: interrupted (SIGTERM)\n\n", "mcd train: interrupted (SIGTERM)"),
                        ("2024-01-01 10:00:00,000 ERROR snakemake: boom\n", "2024-01-01 10:00:00,000 ERROR snakemake: boom"),
                        ("2024-01-01 10:00:00,000 INFO x: epoch 3 val error 2%\n", None), ("", None)):
        log.write_text(text)
        assert last_error(log) == error


def _marker(run, pid, host=None, start_ticks=None):
    import socket

    (run / "process.json").write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid,
                                                  "start_ticks": start_ticks}))


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_is_gone_is_stopped_not_running(results, capsys):
    """A job killed outright leaves its process.json; `mcd status` sees that no such process lives."""
    run = results / "runs" / "r18-vgg/late/seed0"
    _marker(run, _dead_pid())
    late = {r.run: r for r in pipeline_status(results, now=NOW)["runs"]}["r18-vgg/late/seed0"]
    assert (late.state, late.epoch, late.eta_s) == ("stopped", 2, None)
    assert main(["status", str(results)]) == 0
    out = capsys.readouterr().out
    assert "1 finished, 1 stopped, 2 failed" in out
    assert re.search(r"r18-vgg/late/seed0 +stopped +2/10 .*pid \d+ on \S+ is gone \(killed\?\); a rerun "
                     r"resumes after epoch 2, updated .* ago", out), out


def test_a_live_process_another_host_and_a_recycled_pid(results):
    from mcd_core.common.liveness import _start_ticks

    run = results / "runs" / "r18-vgg/late/seed0"
    state = lambda: {r.run: r for r in pipeline_status(results, now=NOW)["runs"]}["r18-vgg/late/seed0"]
    _marker(run, os.getpid(), start_ticks=_start_ticks(os.getpid()))
    assert state().state == "running" and state().eta_s == pytest.approx(40.0)
    _marker(run, os.getpid(), host="node-17")
    assert state().state == "running" and state().process == "on host node-17"
    if _start_ticks(os.getpid()) is not None:  # Linux: this pid started at another time than recorded
        _marker(run, os.getpid(), start_ticks=_start_ticks(os.getpid()) + 1)
        assert state().state == "stopped"


def test_the_marker_lives_while_the_body_runs_and_goes_however_it_ends(tmp_path):
    from mcd_core.common.liveness import marked_running, writer_state

    with marked_running(tmp_path / "run") as marker:
        assert marker.is_file() and writer_state(tmp_path / "run")[0] == "alive"
    assert writer_state(tmp_path / "run") == ("none", "") and not (tmp_path / "run").exists()  # made here, empty
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "last.pt").write_bytes(b"x")
    with pytest.raises(KeyboardInterrupt):
        with marked_running(tmp_path / "kept"):
            raise KeyboardInterrupt
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["last.pt"]


def test_last_json_gives_the_epoch_when_snakemake_removed_a_killed_jobs_metrics(results):
    run = results / "runs" / "r18-vgg/late/seed0"
    (run / "metrics.csv").unlink()                       # a declared output: gone with the failed job
    (run / "last.json").write_text(json.dumps({"epoch": 3, "epochs": 10, "best_epoch": 2, "best_val_acc": 35.0}))
    _marker(run, _dead_pid())
    late = {r.run: r for r in pipeline_status(results, now=NOW)["runs"]}["r18-vgg/late/seed0"]
    assert (late.state, late.epoch, late.epochs, late.best_epoch, late.val) == ("stopped", 3, 10, 2, 35.0)
