"""Training that recovers: resume after a kill rebuilds every output, a changed config or input
starts afresh, the thread count is kept; checkpoints load with weights_only=True and bad ones give
one line; DataLoader workers die with their parent."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mcd_core.cli import main
from mcd_core.training.config import TrainConfig, split_overrides
from mcd_core.training.files import train_from_files
from test_train import TINY_SET, _weights, files  # noqa: F401  (module fixture)

REPO = Path(__file__).resolve().parents[1]
DECLARED = ("best.pt", "metrics.csv", "curves.png")  # the train rule's outputs


class Killed(BaseException):
    """Stands for a SIGKILL after an epoch's checkpoint."""


def _train(files, out, epochs=3, resume=False, **kw):
    model_overrides, _ = split_overrides(TINY_SET, "mcd")
    cfg = TrainConfig(epochs=epochs, batch_size=8, lr_step=2, seed=0, device="cpu")
    return train_from_files(files, "mcd", out, cfg, model_overrides, resume=resume, **kw)


def _kill_at(n):
    def hook(epoch):
        if epoch == n:
            raise Killed
    return hook


def same_content(a, b) -> bool:
    """Equal checkpoint contents: tensors equal bit for bit, everything else equal."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_content(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_content(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def same_checkpoint(a: Path, b: Path) -> bool:
    return same_content(torch.load(a, weights_only=True), torch.load(b, weights_only=True))


def _metrics(path):
    """metrics.csv without the wall-clock column."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(path.open())]


@pytest.fixture(scope="module")
def full(files, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("full") / "run"
    result = _train(files, out, threads=1)
    return out, result


@pytest.mark.parametrize("when", ["best", "last"])
def test_kill_then_deleted_outputs_resume_restores_every_output(files, full, tmp_path, when):  # noqa: F811
    """Snakemake deletes the declared outputs of a killed job; --resume must bring all of them back,
    also when the kill came after the best epoch (no later epoch rewrites best.pt) or after the
    last one (no epoch is left to run)."""
    full_dir, result = full
    kill_epoch = result.best_epoch if when == "best" else 3
    out = tmp_path / "run"
    with pytest.raises(Killed):
        _train(files, out, threads=1, on_epoch_end=_kill_at(kill_epoch))
    for name in DECLARED:
        (out / name).unlink()
    resumed = _train(files, out, resume=True)
    assert not resumed.skipped and resumed.best_epoch == result.best_epoch
    assert same_checkpoint(out / "best.pt", full_dir / "best.pt")
    assert _metrics(out / "metrics.csv") == _metrics(full_dir / "metrics.csv")
    assert (out / "curves.png").stat().st_size > 0 and (out / "final.json").is_file()


def test_finished_run_with_deleted_outputs_is_rebuilt_without_training(files, full, tmp_path):  # noqa: F811
    full_dir, _ = full
    out = tmp_path / "run"
    _train(files, out, threads=1)
    for name in DECLARED:
        (out / name).unlink()
    stamp = (out / "last.pt").stat().st_mtime_ns
    again = _train(files, out, resume=True)
    assert (out / "last.pt").stat().st_mtime_ns == stamp  # no epoch was trained
    assert same_checkpoint(out / "best.pt", full_dir / "best.pt")
    assert [r["epoch"] for r in again.history] == [1, 2, 3]


def test_changed_config_or_input_content_trains_afresh(files, full, tmp_path):  # noqa: F811
    full_dir, _ = full
    out = tmp_path / "run"
    _train(files, out, epochs=2, threads=1)
    # another recipe with --resume: a fresh 3-epoch run, the same as one trained from scratch
    result = _train(files, out, epochs=3, resume=True)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert same_checkpoint(out / "best.pt", full_dir / "best.pt")
    # the same path with other content (edited annotations): not "already finished", not continued
    edited = tmp_path / "train.json"
    records = json.loads(Path(files.train).read_text())
    edited.write_text(json.dumps(records))
    moved = type(files)(**{**files.__dict__, "train": edited})
    _train(moved, tmp_path / "r2", epochs=1, threads=1)
    edited.write_text(json.dumps(records[:-3]))
    again = _train(moved, tmp_path / "r2", epochs=1, resume=True)
    assert not again.skipped
    config = json.loads((tmp_path / "r2" / "config.json").read_text())
    assert config["inputs"]["content"]["train"].startswith("sha256:")


def test_resume_keeps_the_thread_count_the_run_began_with(files, tmp_path):  # noqa: F811
    before = torch.get_num_threads()
    try:
        full = _train(files, tmp_path / "full", epochs=2, threads=2)
        with pytest.raises(Killed):
            _train(files, tmp_path / "run", epochs=2, threads=2, on_epoch_end=_kill_at(1))
        torch.set_num_threads(1)
        seen = []
        _train(files, tmp_path / "run", epochs=2, resume=True,
               on_epoch_end=lambda e: seen.append(torch.get_num_threads()))
        assert seen == [2]
        assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["threads"] == 2
        assert json.loads((tmp_path / "run" / "final.json").read_text())["threads"] == 2
        w_full, w_run = _weights(tmp_path / "full" / "last.pt"), _weights(tmp_path / "run" / "last.pt")
        assert all(torch.equal(w_full[k], w_run[k]) for k in w_full) and full.best_epoch > 0
    finally:
        torch.set_num_threads(before)


def test_checkpoints_load_with_weights_only(full):
    full_dir, _ = full
    for name in ("best.pt", "last.pt"):
        ckpt = torch.load(full_dir / name, weights_only=True)
        assert "model" in ckpt
    assert torch.load(full_dir / "last.pt", weights_only=True)["best"]["epoch"] >= 1


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _one_line_error(capsys, path):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(path) in err[0] and "Traceback" not in err[0]
    return err[0]


def test_checkpoints_from_elsewhere_cannot_run_code(files, full, tmp_path, capsys):  # noqa: F811
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": _Evil(marker)}, evil)
    args = ["predict", "--checkpoint", str(evil), "--annotations", str(files.val), "--vocab", str(files.vocab),
            "--audio", str(files.audio), "--visual", str(files.visual), "--out", str(tmp_path / "p.csv"),
            "--device", "cpu"]
    assert main(args) == 2
    assert not marker.exists()
    _one_line_error(capsys, evil)
    # the same file as a run's last.pt, resumed
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(evil.read_bytes())
    train_args = ["train", "--train", str(files.train), "--val", str(files.val), "--vocab", str(files.vocab),
                  "--audio", str(files.audio), "--visual", str(files.visual), "--out-dir", str(run),
                  "--epochs", "1", "--device", "cpu", "--resume", *sum((["--set", s] for s in TINY_SET), [])]
    # without this run's config.json beside it, last.pt is never unpickled: training starts afresh
    assert main(train_args) == 0
    assert not marker.exists()
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1  # the evil file was replaced


def test_garbage_and_truncated_checkpoints_give_one_line(files, full, tmp_path, capsys):  # noqa: F811
    full_dir, _ = full
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x04not a checkpoint at all" * 10)
    truncated = tmp_path / "truncated.pt"
    data = (full_dir / "best.pt").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    for bad in (garbage, truncated):
        assert main(["predict", "--checkpoint", str(bad), "--annotations", str(files.val),
                     "--vocab", str(files.vocab), "--audio", str(files.audio), "--visual", str(files.visual),
                     "--out", str(tmp_path / "p.csv"), "--device", "cpu"]) == 2
        assert "delete it" in _one_line_error(capsys, bad)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((full_dir / "config.json").read_bytes())  # this very config
    (run / "last.pt").write_bytes((full_dir / "last.pt").read_bytes()[:5000])
    with pytest.raises(Exception, match=re.escape(str(run / "last.pt")) + ".*delete it"):
        _train(files, run, resume=True)


def test_a_run_folder_of_another_config_or_code_version_trains_afresh_unread(files, full, tmp_path, caplog):  # noqa: F811
    """An older version wrote last.pt with pickled objects and a config.json of another shape: the
    rule's --resume must start afresh (reading config.json only), not stop on the old last.pt."""
    full_dir, result = full
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"architecture": "mcd"}, "train": {}}))
    (run / "last.pt").write_bytes(b"\x80\x04an old pickle that must never be unpickled" * 20)
    again = _train(files, run, resume=True, threads=1)
    assert "training afresh" in caplog.text and "model.architecture" in caplog.text
    assert [r["val_acc"] for r in again.history] == [r["val_acc"] for r in result.history]


WORKER_SCRIPT = r"""
import os, sys, time, types, torch
from torch.utils.data import Dataset
from mcd_core.scoring.predict import predict_indices

class Items(Dataset):
    def __len__(self):
        return 1000
    def __getitem__(self, i):
        with open(sys.argv[1], "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return {"x": torch.zeros(2)}

class Model(torch.nn.Module):  # a long forward pass: the worker, its prefetch done, waits idle
    def forward(self, batch):
        open(sys.argv[2], "w").close()
        time.sleep(60)
        return types.SimpleNamespace(logits=batch["x"])

predict_indices(Model(), Items(), batch_size=1, device=torch.device("cpu"), workers=1)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+Z", status, re.M)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dataloader_workers_exit_with_their_killed_parent(tmp_path):
    pids, busy = tmp_path / "pids", tmp_path / "busy"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(pids), str(busy)], env=env)
    try:
        deadline = time.time() + 60
        while not busy.is_file() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the worker now blocks on its index queue (torch looks every 5 s)
        worker = int(pids.read_text().split()[0])
        assert worker != proc.pid and _alive(worker)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    gone_by = time.time() + 2.0  # torch's own watchdog takes 5-10 s
    while _alive(worker) and time.time() < gone_by:
        time.sleep(0.05)
    assert not _alive(worker), "the DataLoader worker outlived its killed parent"


def test_every_dataloader_of_the_package_is_a_worker_loader_whose_workers_exit_with_parent():
    plain, ours = [], []
    for path in (REPO / "mcd_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        plain += [path.name for _ in re.finditer(r"(?<!\w)DataLoader\(", text)]
        ours += [path.name for _ in re.finditer(r"WorkerLoader\(", text)]
    assert not plain and len(ours) >= 3, (plain, ours)
    from mcd_core.common.workers import ExitWithParent, WorkerLoader
    seen = []
    loader = WorkerLoader(list(range(4)), worker_init_fn=seen.append)
    assert isinstance(loader.worker_init_fn, ExitWithParent) and loader.worker_init_fn.then == seen.append
