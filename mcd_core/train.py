"""Training: Adam + StepLR, per-epoch checkpoints that resume bit-exactly, best-on-val selection.

A run directory holds `config.json`, `last.pt` (everything needed to resume: model, optimizer,
scheduler, epoch, metric history, RNG states of torch/numpy/python and of the shuffling generator),
`best.pt` (weights of the epoch with the best validation accuracy), `metrics.csv`, `curves.png`,
`tb/` (TensorBoard) and, once all epochs are done, `final.json`. Every file is written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .atomic import atomic_path, write_json, write_text
from .data.dataset import AVQADataset, make_dataset, open_stores
from .data.vocab import Vocab
from .device import DEVICE_CHOICES, choose_device
from .evaluate import accuracy, predict_answers, to_device
from .models import MCDConfig, build_model, total_loss, variant_config
from .models.config import ConfigError, apply_overrides
from .store import open_store

log = logging.getLogger(__name__)

LOSS_NAMES = ("answer", "qv", "qa", "av")
METRIC_COLUMNS = ("epoch", "lr", "train_loss", *[f"loss_{n}" for n in LOSS_NAMES], "train_acc",
                  "val_acc", "test_acc", "seconds")


@dataclass
class TrainConfig:
    epochs: int = 30              # paper: 30
    batch_size: int = 64          # paper: 64
    lr: float = 1e-3              # Adam initial learning rate (paper: 1e-3)
    lr_step: int = 8              # StepLR: decay every lr_step epochs (paper: 8)
    lr_gamma: float = 0.1         # StepLR factor (paper: 0.1)
    weight_decay: float = 0.0     # Adam weight decay (paper: none given)
    seed: int = 0                 # seeds torch, numpy, python and the shuffling generator
    stride: int = 1               # use every stride-th second (AVST: 6; TSPM/PSTP: 1)
    eval_batch_size: int = 256    # evaluation batch (any size gives the same predictions)
    device: str = "auto"          # auto (cuda if available), cpu or cuda
    workers: int = 0              # DataLoader worker processes
    in_memory: bool = False       # preload the needed store rows into RAM (faster epochs on small sets)
    flush_denormal: bool = True   # CPU: treat subnormal floats as 0. Without it CPU steps slowed
    #                               ~1.8x as training went on (bench/train_throughput.py)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr_step", "stride", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train field {name!r} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or not 0 < self.lr_gamma <= 1 or self.weight_decay < 0 or self.workers < 0:
            raise ConfigError(f"train fields need lr > 0, 0 < lr_gamma <= 1, weight_decay >= 0, "
                              f"workers >= 0 (got {self.lr}, {self.lr_gamma}, {self.weight_decay}, "
                              f"{self.workers})")
        if self.device not in DEVICE_CHOICES:
            raise ConfigError(f"train field 'device' is {self.device!r}; choose one of {list(DEVICE_CHOICES)}")


@dataclass
class TrainResult:
    out_dir: Path
    history: list[dict[str, Any]]   # one metrics row per epoch
    best_epoch: int                 # 1-based epoch of best.pt
    best_val_acc: float
    skipped: bool = False           # True when the run was already finished with this config


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
             "loader": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    generator.set_state(state["loader"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save(obj: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _metrics_csv(history: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()
                         if not (isinstance(v, float) and math.isnan(v))})
    return buf.getvalue()


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Train loss and val/test accuracy per epoch (like the paper's Fig. 5)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, ax_loss = plt.subplots(figsize=(6, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], color="tab:gray", label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("train loss")
    ax_acc = ax_loss.twinx()
    for key, color in (("val_acc", "tab:blue"), ("test_acc", "tab:red")):
        values = [r[key] for r in history]
        if not all(math.isnan(v) for v in values):
            ax_acc.plot(epochs, values, marker="o", color=color, label=key.replace("_acc", " accuracy"))
    ax_acc.set_ylabel("accuracy (%)")
    val = [r["val_acc"] for r in history]
    if not all(math.isnan(v) for v in val):  # the epoch best.pt comes from (first maximum)
        best = epochs[max(range(len(val)), key=lambda i: (val[i], -i))]
        ax_acc.axvline(best, color="black", linestyle=":", linewidth=1, label=f"best on val (epoch {best})")
    fig.legend(loc="upper center", ncol=4, frameon=False, fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 0.92))  # room for the legend above the axes
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run_config(model_cfg: MCDConfig, train_cfg: TrainConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    """What config.json holds; a finished run with an equal dict is not trained again."""
    return {"model": model_cfg.to_dict(), "train": dataclasses.asdict(train_cfg), "inputs": inputs}


def is_finished(out_dir: Path, config: dict[str, Any]) -> bool:
    try:
        return ((out_dir / "final.json").is_file() and (out_dir / "best.pt").is_file()
                and json.loads((out_dir / "config.json").read_text()) == json.loads(json.dumps(config)))
    except (OSError, json.JSONDecodeError):
        return False


def _train_epoch(model, loader, optimizer, device, temperature: float, desc: str) -> dict[str, float]:
    model.train()
    sums = dict.fromkeys(("total", *LOSS_NAMES), 0.0)
    seen = dict.fromkeys(sums, 0)
    correct = n = 0
    for batch in tqdm(loader, desc=desc, leave=False):
        batch = to_device(batch, device)
        output = model(batch)
        parts = total_loss(output, batch["answer"], temperature)
        optimizer.zero_grad(set_to_none=True)
        parts["total"].backward()
        optimizer.step()
        size = batch["answer"].shape[0]
        for name, value in parts.items():
            sums[name] += float(value.detach()) * size
            seen[name] += size
        correct += int((output.logits.argmax(-1) == batch["answer"]).sum())
        n += size
    means = {name: (sums[name] / seen[name] if seen[name] else float("nan")) for name in sums}
    means["train_acc"] = 100.0 * correct / max(n, 1)
    return means


def train(model_cfg: MCDConfig, train_cfg: TrainConfig, train_set: AVQADataset, val_set: AVQADataset,
          vocab: Vocab, out_dir: str | Path, test_set: AVQADataset | None = None, resume: bool = False,
          inputs: dict[str, Any] | None = None,
          on_epoch_end: Callable[[int], None] | None = None) -> TrainResult:
    """Train `model_cfg` and keep the epoch with the best validation accuracy as best.pt."""
    out_dir = Path(out_dir)
    config = run_config(model_cfg, train_cfg, inputs or {})
    if is_finished(out_dir, config):
        final = json.loads((out_dir / "final.json").read_text())
        log.info("%s already holds a finished run with this config; not training again", out_dir)
        return TrainResult(out_dir, final["history"], final["best_epoch"], final["best_val_acc"], skipped=True)
    if len(train_set) == 0:
        raise ConfigError("the training set has no questions (all videos missing from the stores?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    device = choose_device(train_cfg.device)
    if device.type == "cpu" and train_cfg.flush_denormal:
        torch.set_flush_denormal(True)
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=train_cfg.lr_step, gamma=train_cfg.lr_gamma)
    generator = torch.Generator().manual_seed(train_cfg.seed)
    history: list[dict[str, Any]] = []
    best_epoch, best_acc, start = 0, -math.inf, 0

    last = out_dir / "last.pt"
    if resume and last.is_file():
        ckpt = torch.load(last, map_location=device, weights_only=False)
        if ckpt["config"] != json.loads(json.dumps(config)):
            raise ConfigError(f"{last} was written with another config; start a fresh --out-dir "
                              f"or drop --resume")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        history, start = ckpt["history"], ckpt["epoch"]
        best_epoch, best_acc = ckpt["best_epoch"], ckpt["best_val_acc"]
        _set_rng_state(ckpt["rng"], generator)
        log.info("resuming %s after epoch %d", out_dir, start)
    (out_dir / "final.json").unlink(missing_ok=True)  # a finished earlier run with another config
    write_json(out_dir / "config.json", config)

    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(log_dir=str(out_dir / "tb"), purge_step=start + 1)
    try:
        for epoch in range(start + 1, train_cfg.epochs + 1):
            began = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            loader = DataLoader(train_set, batch_size=train_cfg.batch_size, shuffle=True,
                                generator=generator, num_workers=train_cfg.workers)
            losses = _train_epoch(model, loader, optimizer, device, model_cfg.temperature,
                                  desc=f"epoch {epoch}/{train_cfg.epochs}")
            scheduler.step()
            val_acc = accuracy(val_set, predict_answers(model, val_set, vocab.answers, train_cfg.eval_batch_size,
                                                        device, train_cfg.workers, desc="val"))
            test_acc = (accuracy(test_set, predict_answers(model, test_set, vocab.answers,
                                                           train_cfg.eval_batch_size, device,
                                                           train_cfg.workers, desc="test"))
                        if test_set is not None else float("nan"))
            row = {"epoch": epoch, "lr": lr, "train_loss": losses["total"],
                   **{f"loss_{n}": losses[n] for n in LOSS_NAMES}, "train_acc": losses["train_acc"],
                   "val_acc": val_acc, "test_acc": test_acc, "seconds": time.perf_counter() - began}
            history.append(row)
            log.info("epoch %d: loss %.4f val %.2f%% test %.2f%%", epoch, row["train_loss"], val_acc, test_acc)
            for key in ("train_loss", "train_acc", "val_acc", "test_acc", "lr",
                        *[f"loss_{n}" for n in LOSS_NAMES]):
                if not math.isnan(row[key]):
                    writer.add_scalar(key, row[key], epoch)
            if val_acc > best_acc:
                best_epoch, best_acc = epoch, val_acc
                _save({"model": model.state_dict(), "model_config": model_cfg.to_dict(),
                       "train_config": dataclasses.asdict(train_cfg), "answers": list(vocab.answers),
                       "epoch": epoch, "val_acc": val_acc}, out_dir / "best.pt")
            _save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history,
                   "best_epoch": best_epoch, "best_val_acc": best_acc, "config": json.loads(json.dumps(config)),
                   "model_config": model_cfg.to_dict(), "answers": list(vocab.answers),
                   "rng": _rng_state(generator)}, last)
            write_text(out_dir / "metrics.csv", _metrics_csv(history))
            plot_curves(history, out_dir / "curves.png")
            if on_epoch_end is not None:
                on_epoch_end(epoch)
    finally:
        writer.close()
    write_json(out_dir / "final.json", {"best_epoch": best_epoch, "best_val_acc": best_acc, "history": history})
    return TrainResult(out_dir, history, best_epoch, best_acc)


# -- file-level entry point used by `mcd train` ------------------------------------------------

@dataclass
class RunFiles:
    train: Path                   # training annotations (json)
    val: Path                     # validation annotations, for best-epoch selection
    vocab: Path                   # vocab.json from `mcd vocab`
    audio: Path | None            # audio feature store (optional for question-only variants)
    visual: Path | None           # visual feature store (optional for question-only variants)
    test: Path | None = None      # optional test annotations, scored every epoch for the curves


def split_overrides(items: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """`field=value` strings -> (MCDConfig overrides, TrainConfig overrides); unknown fields fail."""
    model_fields = {f.name for f in dataclasses.fields(MCDConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    model, training = {}, {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--set expects field=value, got {item!r}")
        if name in model_fields:
            model[name] = value
        elif name in train_fields:
            training[name] = value
        else:
            raise ConfigError(f"--set: unknown field {name!r} (not in MCDConfig or TrainConfig)")
    return model, training


def train_from_files(files: RunFiles, variant: str, out_dir: str | Path, train_cfg: TrainConfig,
                     model_overrides: dict[str, str] | None = None, resume: bool = False,
                     on_epoch_end: Callable[[int], None] | None = None) -> TrainResult:
    vocab = Vocab.load(files.vocab)
    dims = {f"{role}_dim": int(open_store(path).attrs["dim"])
            for role, path in (("audio", files.audio), ("visual", files.visual)) if path is not None}
    model_cfg = variant_config(variant, vocab_size=len(vocab.words), n_object_words=len(vocab.object_words),
                               n_answers=len(vocab.answers), **dims)
    model_cfg = apply_overrides(model_cfg, model_overrides or {})
    audio, visual = open_stores(files.audio, files.visual, model_cfg)
    train_set, val_set = (make_dataset(p, vocab, model_cfg, audio, visual, train_cfg.stride, train_cfg.in_memory)
                          for p in (files.train, files.val))
    test_set = (make_dataset(files.test, vocab, model_cfg, audio, visual, train_cfg.stride, train_cfg.in_memory)
                if files.test else None)
    attrs = {role: {k: s.attrs.get(k) for k in ("stream", "backbone", "dim", "seconds", "weights")}
             for role, s in (("audio", audio), ("visual", visual)) if s is not None}
    if len(val_set) == 0:
        raise ConfigError(f"{files.val}: no validation question has its video in the feature stores")
    inputs = {"variant": variant, **{k: (str(v) if v is not None else None)
                                     for k, v in dataclasses.asdict(files).items()},
              "stores": attrs, "dropped_questions": {"train": train_set.dropped, "val": val_set.dropped,
                                                     "test": test_set.dropped if test_set else None}}
    return train(model_cfg, train_cfg, train_set, val_set, vocab, out_dir, test_set=test_set,
                 resume=resume, inputs=inputs, on_epoch_end=on_epoch_end)
