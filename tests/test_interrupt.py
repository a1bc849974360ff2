"""Ctrl-C and SIGTERM stop `mcd` cleanly: training mid-epoch keeps the last finished epoch and
resumes to the same result, a verb prints one line (no traceback) and exits 128 + the signal,
threads' ffmpeg processes are killed, a replaced store never sits half-deleted under its final
name, and Snakemake forwards a SIGINT sent to it alone to its jobs. The whole pipeline under
Ctrl-C is `test_snakemake_sigint_*` (slow)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

import mcd_core.training.loop as loop
from mcd_core.cli import main
from mcd_core.common import atomic
from mcd_core.common.interrupt import Interrupted, stop_on_signals
from mcd_core.media import probe
from mcd_core.media.shards import map_videos
from test_recovery import _metrics, _train, full, same_checkpoint, same_content  # noqa: F401  (module fixture)
from test_train import TINY_SET, files  # noqa: F401  (module fixture)

REPO = Path(__file__).resolve().parents[1]


def _signal_at_step(monkeypatch, signum, step):
    """Send `signum` to this process in the `step`-th training step from now (counted from 1);
    returns the list that counts the steps."""
    calls, real = [0], loop.total_loss

    def total_loss(*args, **kw):
        calls[0] += 1
        if calls[0] == step:
            os.kill(os.getpid(), signum)
        return real(*args, **kw)
    monkeypatch.setattr(loop, "total_loss", total_loss)
    return calls


def _tmp_leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".tmp-")]


def test_sigint_mid_epoch_keeps_the_last_epoch_and_resumes_to_the_same_result(
        files, full, tmp_path, monkeypatch, caplog):  # noqa: F811
    full_dir, result = full
    out = tmp_path / "run"
    steps = []

    def after_epoch(epoch):  # the signal comes in epoch 3's second step, after an optimizer step
        steps.append(_signal_at_step(monkeypatch, signal.SIGINT, 2) if epoch == 2 else None)
    with stop_on_signals(), pytest.raises(Interrupted):
        _train(files, out, threads=1, on_epoch_end=after_epoch)
    assert steps[-1] == [2]
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 2
    assert not (out / "final.json").exists() and not _tmp_leftovers(out)
    assert "last.pt holds epoch 2; --resume continues after it" in caplog.text
    monkeypatch.undo()
    resumed = _train(files, out, resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3] and resumed.best_epoch == result.best_epoch
    assert same_checkpoint(out / "best.pt", full_dir / "best.pt")
    last, uninterrupted = (torch.load(d / "last.pt", weights_only=True) for d in (out, full_dir))
    assert all(same_content(last[k], uninterrupted[k]) for k in ("model", "optimizer", "rng", "best"))
    assert _metrics(out / "metrics.csv") == _metrics(full_dir / "metrics.csv")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_verb_prints_one_line_and_exits_128_plus_the_signal(
        files, tmp_path, monkeypatch, capsys, signum):  # noqa: F811
    _signal_at_step(monkeypatch, signum, 1)
    out = tmp_path / "run"
    args = ["train", "--train", str(files.train), "--val", str(files.val), "--vocab", str(files.vocab),
            "--audio", str(files.audio), "--visual", str(files.visual), "--out-dir", str(out),
            "--epochs", "2", "--device", "cpu", "--workers", "0",
            *sum((["--set", s] for s in TINY_SET), [])]
    before = signal.getsignal(signum)
    assert main(args) == 128 + signum
    err = capsys.readouterr().err
    assert f"mcd train: interrupted ({signal.Signals(signum).name})" in err and "Traceback" not in err
    assert signal.getsignal(signum) is before  # the handler is gone once main returns
    assert not (out / "last.pt").exists() and not _tmp_leftovers(out)


def test_a_repeated_signal_during_cleanup_is_ignored():
    cleaned = []
    with pytest.raises(Interrupted):
        with stop_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # not reached
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # Snakemake's forwarded copy
                cleaned.append(True)
    assert cleaned == [True]


_SIGNAL_AT_NEXT_FORK: list[int] = []


def _signal_inside_an_at_fork_callback() -> None:
    if _SIGNAL_AT_NEXT_FORK:
        os.kill(os.getpid(), _SIGNAL_AT_NEXT_FORK.pop())
        sum(range(10_000))  # the Python handler runs here, inside the callback (as in logging's)


def test_a_signal_while_workers_are_forked_is_raised_once_they_started_not_lost():
    """A Ctrl-C landing in another module's at-fork callback (logging's lock release) was ignored
    by Python, left the logging lock taken, and the job hung; `WorkerLoader` holds it until its
    workers are started, then raises it, and the workers are stopped."""
    import logging
    import multiprocessing
    from mcd_core.common.workers import WorkerLoader

    os.register_at_fork(after_in_parent=_signal_inside_an_at_fork_callback)  # inert once popped
    _SIGNAL_AT_NEXT_FORK.append(signal.SIGINT)
    batches = []
    with stop_on_signals(), pytest.raises(Interrupted):
        for batch in WorkerLoader(list(range(8)), batch_size=2, num_workers=2):
            batches.append(batch)
    assert not _SIGNAL_AT_NEXT_FORK and batches == []
    assert logging._lock.acquire(timeout=1)  # the lock is free
    logging._lock.release()
    deadline = time.time() + 10
    while multiprocessing.active_children() and time.time() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")
def test_a_forked_child_ignores_the_handler_it_inherited():
    """A DataLoader worker hit before its worker_init_fn ran must neither raise nor die."""
    with stop_on_signals():
        pid = os.fork()
        if pid == 0:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                sum(range(10_000))
                os._exit(0)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_held_interrupts_nest_and_raise_once_the_outermost_block_ends():
    from mcd_core.common.interrupt import interrupts_held
    reached = []
    with stop_on_signals(), pytest.raises(Interrupted):
        with interrupts_held():
            with interrupts_held():
                os.kill(os.getpid(), signal.SIGTERM)
                sum(range(10_000))
            reached.append("inner block ended")
        reached.append("not reached")
    assert reached == ["inner block ended"]


def _endless_ffmpeg() -> list[str]:
    """ffmpeg arguments that take 30 s (-re: silence at its real rate)."""
    return ["-re", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "30", "-f", "s16le", "pipe:1"]


def test_stopping_the_shard_stage_kills_the_ffmpeg_of_its_threads(tmp_path):
    def work(video_id):
        if video_id == "a":
            time.sleep(0.5)
            raise KeyboardInterrupt  # as if the signal came while the main thread waited on "a"
        probe.run_ffmpeg(_endless_ffmpeg(), tmp_path / video_id, "test")
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        map_videos(["a", "b", "c"], work, "test", "stop", workers=3)
    assert time.monotonic() - began < 10
    assert not probe._running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_ffmpeg_kills_its_process_when_interrupted(tmp_path, monkeypatch):
    pids, real_popen = [], subprocess.Popen

    def popen(*args, **kw):
        proc = real_popen(*args, **kw)
        pids.append(proc.pid)
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return proc
    monkeypatch.setattr(subprocess, "Popen", popen)
    with stop_on_signals(), pytest.raises(Interrupted):
        probe.run_ffmpeg(_endless_ffmpeg(), tmp_path / "x", "test")
    assert len(pids) == 1 and not Path(f"/proc/{pids[0]}").exists() and not probe._running


def test_a_replaced_directory_is_never_half_deleted_under_its_final_name(tmp_path, monkeypatch):
    target = tmp_path / "store.zarr"
    target.mkdir()
    (target / "old").write_text("old")
    real = atomic.remove_path

    def interrupted_removal(path):
        if path.name.startswith(".tmp-store.zarr-old-"):
            raise Interrupted(signal.SIGINT)  # the signal comes while the old store is deleted
        real(path)
    monkeypatch.setattr(atomic, "remove_path", interrupted_removal)
    with pytest.raises(Interrupted):
        with atomic.atomic_path(target, is_dir=True) as tmp:
            (tmp / "new").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    monkeypatch.undo()
    with atomic.atomic_path(target, is_dir=True) as tmp:  # the next attempt removes the leftover
        (tmp / "newer").write_text("newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.zarr"]
    assert [p.name for p in target.iterdir()] == ["newer"]


FORWARDER = textwrap.dedent(r"""
    import subprocess, sys, time
    from mcd_core.workflow.signals import forward_interrupts
    assert forward_interrupts() and not forward_interrupts()  # installed once
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2]])
    open(sys.argv[1], "w").close()
    try:
        child.wait()
    except KeyboardInterrupt:
        child.wait(timeout=10)
        print("parent interrupted; child exit", child.returncode, flush=True)
""")
CHILD = "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    raise SystemExit(7)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals a process tree")
def test_snakemake_forwards_a_sigint_sent_to_it_alone_to_its_jobs(tmp_path):
    """What Snakemake's SIGINT handler does (`forward_interrupts`, installed by the Snakefile): the
    child gets SIGINT although only the parent was signalled, and the parent still stops."""
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", FORWARDER, str(ready), CHILD], env=env,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the child is in its sleep
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "parent interrupted; child exit 7" in out


RUN = "results/demo/runs/resnet18-vggish/mcd/seed0"
PREDICTIONS = "results/demo/predictions/resnet18-vggish/mcd_seed0.csv"
VISUAL_SHARD_DIR = "results/demo/features/visual/resnet18"


def _session(sid: int) -> list[str]:
    """Command lines of the live processes of session `sid` (zombies left out)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if proc.name.isdigit() and int(stat[3]) == sid and stat[0] != "Z":
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _start_and_signal(workdir: Path, ready, to_group: bool) -> None:
    """Start Snakemake in its own session, wait for `ready()`, send SIGINT (to the whole process
    group, as a terminal's Ctrl-C does, or to Snakemake alone) and check that every process of
    the session is gone within 15 s."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2", PREDICTIONS]
    console = workdir / f"snakemake-{time.monotonic_ns()}.txt"  # what it printed, for a failure's message
    with console.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not ready() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"snakemake ended before the job to interrupt was seen:\n{console.read_text()[-3000:]}"
        assert any(" mcd " in c for c in _session(proc.pid))
        (os.killpg if to_group else os.kill)(proc.pid, signal.SIGINT)
        signalled = time.time()
        proc.wait(timeout=15)
        while _session(proc.pid) and time.time() < signalled + 15:
            time.sleep(0.1)
        assert not _session(proc.pid), (_session(proc.pid), console.read_text()[-3000:])
        assert proc.returncode != 0
    finally:
        if proc.poll() is None or _session(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def _one_line_stop(log: Path, verb: str) -> None:
    text = log.read_text()
    assert text.rstrip().endswith(f"mcd {verb}: interrupted (SIGINT)") and "Traceback" not in text, text[-2000:]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_snakemake_sigint_stops_extraction_and_training_and_a_rerun_resumes(tmp_path):
    from test_workflow import TINY_DEMO, snakemake, write_config

    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["demo"]["training"].update(epochs=10)
    config["datasets"]["demo"]["table"] = {"prior": False}
    write_config(tmp_path, config)
    results = tmp_path / "results"

    # Ctrl-C at the terminal while a feature store is being written: no store under its final name
    # (a `.tmp-` leftover is allowed only where a second signal cut the cleanup short: the next
    # attempt removes it, checked after the rerun below).
    # The two shards' jobs may start in either order: the one whose temporary store is seen is checked.
    seen: list[str] = []
    visual = tmp_path / VISUAL_SHARD_DIR

    def writing_a_shard() -> bool:
        seen[:] = [p.name for p in visual.glob(".tmp-shard_*.zarr-*")] if visual.is_dir() else []
        return bool(seen)
    _start_and_signal(tmp_path, writing_a_shard, to_group=True)
    shard = seen[0][len(".tmp-"):].split(".zarr-")[0]
    assert not (visual / f"{shard}.zarr").exists()
    _one_line_stop(results / f"demo/logs/visual/resnet18/{shard}.log", "extract-visual")

    # SIGINT to Snakemake alone once an epoch is done: the train job stops too, keeping last.pt.
    metrics = tmp_path / RUN / "metrics.csv"
    _start_and_signal(tmp_path, lambda: metrics.is_file() and len(metrics.read_text().splitlines()) > 1,
                      to_group=False)
    epoch = torch.load(tmp_path / RUN / "last.pt", weights_only=True)["epoch"]
    assert 1 <= epoch < 10 and not _tmp_leftovers(results / "demo/runs")
    log = results / "demo/logs/train/resnet18-vggish/mcd_seed0.log"
    _one_line_stop(log, "train")

    snakemake(tmp_path, "--cores", "2", PREDICTIONS)  # a plain rerun (the profile sets rerun-incomplete)
    assert f"resuming {RUN} after epoch {epoch} with 1 threads" in log.read_text()
    assert len(metrics.read_text().splitlines()) == 1 + 10 and (tmp_path / PREDICTIONS).is_file()
    assert not _tmp_leftovers(results)


def _raised_in(filename: str, exc: BaseException):
    try:
        exec(compile("raise exc", filename, "exec"), {"exc": exc})
    except BaseException:
        return sys.exc_info()


def test_workers_drop_only_the_resource_sharers_closed_connections(monkeypatch, capsys):
    """A worker's resource-sharer thread meeting a stopped parent printed a traceback into the log."""
    from mcd_core.common.workers import drop_closed_connections_of_the_resource_sharer

    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    drop_closed_connections_of_the_resource_sharer()
    sys.excepthook(*_raised_in("/usr/lib/python3/multiprocessing/resource_sharer.py", ConnectionResetError(104, "reset")))
    sys.excepthook(*_raised_in("/usr/lib/python3/multiprocessing/resource_sharer.py", BrokenPipeError(32, "pipe")))
    assert capsys.readouterr().err == ""
    sys.excepthook(*_raised_in("/usr/lib/python3/multiprocessing/resource_sharer.py", ValueError("kept")))
    sys.excepthook(*_raised_in("elsewhere.py", ConnectionResetError(104, "kept too")))
    err = capsys.readouterr().err
    assert "ValueError: kept" in err and "ConnectionResetError: [Errno 104] kept too" in err
