"""Training: Adam + StepLR, per-epoch checkpoints that resume bit-exactly, best-on-val selection.

A run directory holds `config.json`, `last.pt` (everything needed to resume: model, optimizer,
scheduler, epoch, metric history, RNG states of torch/numpy/python and of the shuffling generator),
`best.pt` (weights of the epoch with the best validation accuracy), `metrics.csv`, `curves.png`,
`tb/` (TensorBoard) and, once all epochs are done, `final.json`. Every file is written atomically.
"""

from __future__ import annotations

import dataclasses
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

from mcd_core.common.atomic import atomic_path, write_json, write_text
from mcd_core.common.device import choose_device
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.vocab import Vocab
from mcd_core.models import ConfigError, ModelConfig, build_model
from mcd_core.models.common.losses import total_loss
from mcd_core.scoring.predict import accuracy, predict_answers, to_device
from mcd_core.training.config import TrainConfig
from mcd_core.training.curves import LOSS_NAMES, metrics_csv, plot_curves
from mcd_core.training.sampling import sample_frames

log = logging.getLogger(__name__)

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


def run_config(model_cfg: ModelConfig, train_cfg: TrainConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    """What config.json holds; a finished run with an equal dict is not trained again."""
    return {"architecture": model_cfg.architecture, "model": model_cfg.to_dict(), "train": dataclasses.asdict(train_cfg), "inputs": inputs}


def is_finished(out_dir: Path, config: dict[str, Any]) -> bool:
    try:
        return ((out_dir / "final.json").is_file() and (out_dir / "best.pt").is_file()
                and json.loads((out_dir / "config.json").read_text()) == json.loads(json.dumps(config)))
    except (OSError, json.JSONDecodeError):
        return False


def _train_epoch(model, loader, optimizer, device, desc: str, random_frames: int = 0,
                 generator: torch.Generator | None = None) -> dict[str, float]:
    model.train()
    sums = dict.fromkeys(("total", *LOSS_NAMES), 0.0)
    seen = dict.fromkeys(sums, 0)
    correct = n = 0
    for batch in tqdm(loader, desc=desc, leave=False):
        if random_frames:
            batch = sample_frames(batch, random_frames, generator)
        batch = to_device(batch, device)
        output = model(batch)
        parts = total_loss(output, batch["answer"])
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


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, train_set: AVQADataset, val_set: AVQADataset,
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
            losses = _train_epoch(model, loader, optimizer, device,
                                  desc=f"epoch {epoch}/{train_cfg.epochs}",
                                  random_frames=train_cfg.random_frames, generator=generator)
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
                _save({"model": model.state_dict(), "architecture": model_cfg.architecture,
                       "model_config": model_cfg.to_dict(),
                       "train_config": dataclasses.asdict(train_cfg), "answers": list(vocab.answers),
                       "epoch": epoch, "val_acc": val_acc}, out_dir / "best.pt")
            _save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history,
                   "best_epoch": best_epoch, "best_val_acc": best_acc, "config": json.loads(json.dumps(config)),
                   "architecture": model_cfg.architecture, "model_config": model_cfg.to_dict(),
                   "answers": list(vocab.answers), "rng": _rng_state(generator)}, last)
            write_text(out_dir / "metrics.csv", metrics_csv(history))
            plot_curves(history, out_dir / "curves.png", title="/".join(out_dir.resolve().parts[-3:]))
            if on_epoch_end is not None:
                on_epoch_end(epoch)
    finally:
        writer.close()
    write_json(out_dir / "final.json", {"best_epoch": best_epoch, "best_val_acc": best_acc, "history": history})
    return TrainResult(out_dir, history, best_epoch, best_acc)


