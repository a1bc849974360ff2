"""Training: Adam + StepLR, per-epoch checkpoints that resume bit-exactly, best-on-val selection.

A run directory holds `config.json`, `last.pt` (everything needed to resume: model, optimizer,
scheduler, epoch, metric history, RNG states of torch/numpy/python and of the shuffling generator,
the thread count, and the content of best.pt), `best.pt` (weights of the epoch with the best
validation accuracy), `metrics.csv`, `curves.png`, `tb/` (TensorBoard) and, once all epochs are
done, `final.json`. Every file is written atomically, and checkpoints hold only tensors and plain
data (read with weights_only=True).

Resuming (`resume=True`) continues `last.pt` only when it was written with the same config (model,
training recipe, input files and their content); otherwise the run starts afresh. It first rewrites
best.pt, metrics.csv and curves.png from last.pt, so that a run whose outputs were deleted (as
Snakemake does after a killed job) gets all of them back, and it uses the thread count the run
began with (CPU results are bit-identical only at the same count).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from mcd_core.common.progress import progress

from mcd_core.common.atomic import remove_path, write_json, write_text
from mcd_core.common.progress_lines import Announce, epoch_line, run_label
from mcd_core.common.device import autocast, choose_device
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.vocab import Vocab
from mcd_core.models import ConfigError, ModelConfig, build_model
from mcd_core.models.common.losses import total_loss
from mcd_core.scoring.checkpoint import read_checkpoint, write_checkpoint
from mcd_core.scoring.predict import accuracy, predict_answers, to_device
from mcd_core.training.batches import model_precision, place, train_batches
from mcd_core.training.config import LATER_FIELDS, TrainConfig
from mcd_core.training.curves import LOSS_NAMES, metrics_csv, plot_curves
from mcd_core.training.init import load_matching
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
    """Every RNG state as tensors, ints, floats and lists (loadable with weights_only=True)."""
    version, internal, gauss = random.getstate()
    kind, key, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": {"kind": str(kind), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state(), "loader": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["key"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    generator.set_state(state["loader"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def run_config(model_cfg: ModelConfig, train_cfg: TrainConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    """What config.json holds; a finished run with an equal dict is not trained again. A TrainConfig
    field added after runs were made (`LATER_FIELDS`) is left out while it holds its default, so
    those runs stay finished."""
    train = {k: v for k, v in dataclasses.asdict(train_cfg).items() if LATER_FIELDS.get(k, object()) != v}
    return {"architecture": model_cfg.architecture, "model": model_cfg.to_dict(), "train": train, "inputs": inputs}


# The files a finished run has; the train rule declares the first three as its outputs.
OUTPUTS = ("best.pt", "metrics.csv", "curves.png", "final.json")
# What a fresh start removes: the files of an earlier run with another config.
# last.json: last.pt's epoch, for `mcd status` (no torch there); Snakemake leaves it, like last.pt,
# when it removes a killed job's outputs
RUN_FILES = ("last.pt", "last.json", *OUTPUTS)


def is_finished(out_dir: Path, config: dict[str, Any]) -> bool:
    try:
        return (all((out_dir / name).is_file() for name in OUTPUTS)
                and json.loads((out_dir / "config.json").read_text()) == json.loads(json.dumps(config)))
    except (OSError, json.JSONDecodeError):
        return False


def config_differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts (for the message of a fresh start)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) | set(new), key=str)
                for d in config_differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))]
    return [] if old == new else [where or "(all)"]


def _resumable(out_dir: Path, config: dict[str, Any], device: torch.device) -> dict[str, Any] | None:
    """last.pt when it continues this very config; None (start afresh) otherwise.

    The run's config.json (plain JSON, written when the run began) is compared first: a run of
    another config, or one an older version of this code wrote, starts afresh without its last.pt
    ever being unpickled. Only a last.pt of this very config is read, and one that cannot be read
    is an error naming it."""
    last = out_dir / "last.pt"
    if not last.is_file():
        return None
    wanted = json.loads(json.dumps(config))
    try:
        recorded = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded != wanted:
        changed = config_differences(recorded, wanted) if isinstance(recorded, dict) else ["config.json"]
        log.warning("%s belongs to a run of another config (changed: %s); training afresh", last,
                    ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else ""))
        return None
    ckpt = read_checkpoint(last, device, remedy="delete it (or its run folder) to train from scratch")
    if ckpt.get("config") != wanted or "best" not in ckpt:
        changed = config_differences(ckpt.get("config"), wanted) if "best" in ckpt else ["checkpoint format"]
        log.warning("%s was written with another config (changed: %s); training afresh", last,
                    ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else ""))
        return None
    return ckpt


def _choose_threads(requested: int | None, ckpt: dict[str, Any] | None) -> int:
    """The CPU thread count: as asked, else the one the resumed run began with, else torch's."""
    if requested is not None and requested < 1:
        raise ConfigError(f"threads must be >= 1, got {requested}")
    recorded = int(ckpt["threads"]) if ckpt is not None and ckpt.get("threads") else None
    if requested is not None and recorded is not None and requested != recorded:
        log.warning("resuming with %d threads where the run began with %d: CPU results may differ "
                    "from an uninterrupted run in the last bits", requested, recorded)
    threads = requested or recorded or torch.get_num_threads()
    torch.set_num_threads(threads)
    return threads


def _write_outputs(out_dir: Path, history: list[dict[str, Any]], best: dict[str, Any] | None) -> None:
    """best.pt, metrics.csv and curves.png as of the last finished epoch."""
    if best is not None:
        write_checkpoint(best, out_dir / "best.pt")
    write_text(out_dir / "metrics.csv", metrics_csv(history))
    plot_curves(history, out_dir / "curves.png")


def adam_options(device: torch.device) -> dict[str, bool]:
    """How Adam runs its update: `fused` (one kernel for all parameters) on CUDA when this torch has
    it, `foreach` (a few batched ops) elsewhere. Both compute the same update up to rounding, so
    the choice is recorded (final.json, best.pt) but is no part of the run's identity."""
    if torch.device(device).type == "cuda" and "fused" in inspect.signature(torch.optim.Adam).parameters:
        return {"fused": True}
    return {"foreach": True}


def build_optimizer(model: torch.nn.Module, train_cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay,
                            **adam_options(device))


def optimizer_name(options: dict[str, bool]) -> str:
    return "adam/" + next(iter(options))


def forward_loss(model, batch, device, precision: str, answer_loss: str = "ce", margin: float = 1.0):
    """The model's forward pass and its loss parts (what `compile=step` compiles)."""
    with autocast(device, precision):
        output = model(batch)
        parts = total_loss(output, batch["answer"], answer_loss, margin)
    return parts, output


def compile_problem(device: torch.device) -> str | None:
    """Why `torch.compile` cannot run here (None: it can). Inductor builds C++ kernels on the CPU
    and needs a C compiler; on CUDA it needs Triton."""
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile"
    if torch.device(device).type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "torch.compile on CUDA needs Triton, which is not installed"
        return None
    if not any(shutil.which(cc) for cc in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if cc):
        return "torch.compile on the CPU needs a C++ compiler (g++, c++ or clang++; none found on PATH)"
    return None


def step_forward(mode: str, device: torch.device) -> Callable:
    """`forward_loss`, compiled when `mode` is "step" (TrainConfig.compile): with CUDA graphs
    ("reduce-overhead") on CUDA, torch.compile's default mode on the CPU. The backward pass is
    compiled with it; the optimizer step is not (the fused Adam is one kernel already)."""
    if mode == "off":
        return forward_loss
    problem = compile_problem(device)
    if problem is not None:
        raise ConfigError(f"train field 'compile' is {mode!r} but {problem}; use compile=off")
    return torch.compile(forward_loss, mode="reduce-overhead" if torch.device(device).type == "cuda" else None)


def train_step(model, batch, optimizer, device, precision: str, answer_loss: str = "ce", margin: float = 1.0,
               forward: Callable = forward_loss):
    """One optimisation step on a batch already on `device`: the loss parts and the model output.
    Nothing in it reads a value back to the host, so on a GPU it queues work without waiting.
    `forward`: `forward_loss` or its compiled form (`step_forward`)."""
    if forward is not forward_loss and torch.device(device).type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()  # the CUDA graphs' outputs of the last step are consumed
    parts, output = forward(model, batch, device, precision, answer_loss, margin)
    optimizer.zero_grad(set_to_none=True)
    parts["total"].backward()
    optimizer.step()
    return parts, output


def _train_epoch(model, loader, optimizer, device, precision: str, desc: str, random_frames: int = 0,
                 generator: torch.Generator | None = None, answer_loss: str = "ce",
                 margin: float = 1.0, forward: Callable = forward_loss) -> dict[str, float]:
    """One epoch; the losses and accuracy are summed on the device (float64, in the order a host
    sum would take) and read back once at the end, so no step waits for the device."""
    model.train()
    sums: dict[str, torch.Tensor] = {}
    seen = dict.fromkeys(("total", *LOSS_NAMES), 0)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    for batch in progress(loader, desc=desc, unit="batch", leave=False):
        if random_frames:
            batch = sample_frames(batch, random_frames, generator)
        batch = to_device(batch, device)
        parts, output = train_step(model, batch, optimizer, device, precision, answer_loss, margin, forward)
        size = batch["answer"].shape[0]
        for name, value in parts.items():
            term = value.detach().double() * size
            sums[name] = sums[name] + term if name in sums else term
            seen[name] += size
        correct += (output.logits.argmax(-1) == batch["answer"]).sum()
        n += size
    totals = {name: float(value) for name, value in sums.items()}  # the epoch's one read-back
    means = {name: (totals[name] / seen[name] if seen[name] else float("nan")) for name in seen}
    means["train_acc"] = 100.0 * int(correct) / max(n, 1)
    return means


def train(model_cfg: ModelConfig, train_cfg: TrainConfig, train_set: AVQADataset, val_set: AVQADataset,
          vocab: Vocab, out_dir: str | Path, test_set: AVQADataset | None = None, resume: bool = False,
          inputs: dict[str, Any] | None = None, on_epoch_end: Callable[[int], None] | None = None,
          threads: int | None = None, init_weights: dict[str, torch.Tensor] | None = None,
          announce: Announce | None = None) -> TrainResult:
    """Train `model_cfg` and keep the epoch with the best validation accuracy as best.pt (the last
    epoch with `keep="last"`).

    `threads`: CPU threads (None: those the resumed run began with, else torch's current count).
    `init_weights`: a state dict whose tensors replace the fresh model's of the same names
    (`training.init.load_matching`; a resumed run has them in last.pt already).
    `announce`: called with one line per finished epoch (`common.progress_lines.epoch_line`: loss,
    val accuracy, time so far and ETA), and one when the run resumes or is already finished."""
    out_dir = Path(out_dir)
    config = run_config(model_cfg, train_cfg, inputs or {})
    if is_finished(out_dir, config):
        final = json.loads((out_dir / "final.json").read_text())
        log.info("%s already holds a finished run with this config; not training again", out_dir)
        if announce is not None:
            announce(f"[{run_label(out_dir)}] already finished: best epoch {final['best_epoch']} "
                     f"val {final['best_val_acc']:.1f}%")
        return TrainResult(out_dir, final["history"], final["best_epoch"], final["best_val_acc"], skipped=True)
    if len(train_set) == 0:
        raise ConfigError("the training set has no questions (all videos missing from the stores?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    device = choose_device(train_cfg.device)
    if device.type == "cpu" and train_cfg.flush_denormal:
        torch.set_flush_denormal(True)
    ckpt = _resumable(out_dir, config, device) if resume else None
    threads = _choose_threads(threads, ckpt)
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg).to(device)
    optimizer = build_optimizer(model, train_cfg, device)
    runtime = {"optimizer": optimizer_name(adam_options(device)), "torch": str(torch.__version__)}
    forward = step_forward(train_cfg.compile, device)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=train_cfg.lr_step, gamma=train_cfg.lr_gamma)
    generator = torch.Generator().manual_seed(train_cfg.seed)
    history: list[dict[str, Any]] = []
    best_epoch, best_acc, start, best = 0, -math.inf, 0, None

    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        history, start = ckpt["history"], ckpt["epoch"]
        best_epoch, best_acc, best = ckpt["best_epoch"], ckpt["best_val_acc"], ckpt["best"]
        _set_rng_state(ckpt["rng"], generator)
        _write_outputs(out_dir, history, best)  # the outputs a killed job lost, as of last.pt
        log.info("resuming %s after epoch %d with %d threads", out_dir, start, threads)
        if announce is not None:
            announce(f"[{run_label(out_dir)}] resuming after epoch {start}/{train_cfg.epochs}")
    else:
        if init_weights is not None:
            loaded = load_matching(model, init_weights)
            log.info("%s starts from %d tensors of its init checkpoint", out_dir, len(loaded))
        for name in RUN_FILES:  # an earlier run with another config, or none at all
            (out_dir / name).unlink(missing_ok=True)
        remove_path(out_dir / "tb")
    write_json(out_dir / "config.json", config)

    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(log_dir=str(out_dir / "tb"), purge_step=start + 1)
    precision = model_precision(train_cfg, device)
    train_data, val_data, test_data = (place(d, train_cfg, device) for d in (train_set, val_set, test_set))
    saved = start  # the epoch last.pt holds
    began_run, earlier = time.perf_counter(), sum(float(r.get("seconds", 0.0)) for r in history)
    try:
        for epoch in range(start + 1, train_cfg.epochs + 1):
            began = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            loader = train_batches(train_data, train_cfg, generator, device)
            losses = _train_epoch(model, loader, optimizer, device, precision,
                                  desc=f"epoch {epoch}/{train_cfg.epochs}",
                                  random_frames=train_cfg.random_frames, generator=generator,
                                  answer_loss=train_cfg.answer_loss, margin=train_cfg.hinge_margin,
                                  forward=forward)
            scheduler.step()
            val_acc = accuracy(val_set, predict_answers(model, val_data, vocab.answers, train_cfg.eval_batch_size,
                                                        device, train_cfg.workers, desc="val", precision=precision))
            test_acc = (accuracy(test_set, predict_answers(model, test_data, vocab.answers,
                                                           train_cfg.eval_batch_size, device, train_cfg.workers,
                                                           desc="test", precision=precision))
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
            if val_acc > best_acc or train_cfg.keep == "last":
                best_epoch, best_acc = epoch, val_acc
                best = {"model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                        "architecture": model_cfg.architecture, "model_config": model_cfg.to_dict(),
                        "train_config": dataclasses.asdict(train_cfg), "answers": list(vocab.answers),
                        "epoch": epoch, "val_acc": val_acc, "threads": threads, "runtime": runtime}
                write_checkpoint(best, out_dir / "best.pt")
            write_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history,
                              "best_epoch": best_epoch, "best_val_acc": best_acc, "best": best,
                              "config": json.loads(json.dumps(config)), "threads": threads,
                              "architecture": model_cfg.architecture, "model_config": model_cfg.to_dict(),
                              "answers": list(vocab.answers), "rng": _rng_state(generator)},
                             out_dir / "last.pt")
            write_json(out_dir / "last.json", {"epoch": epoch, "epochs": train_cfg.epochs, "best_epoch": best_epoch,
                                               "best_val_acc": best_acc})
            saved = epoch
            write_text(out_dir / "metrics.csv", metrics_csv(history))
            plot_curves(history, out_dir / "curves.png", title="/".join(out_dir.resolve().parts[-3:]))
            if announce is not None:  # ETA: this process's mean wall time per epoch, checkpoints included
                spent = time.perf_counter() - began_run
                announce(epoch_line(run_label(out_dir), epoch, train_cfg.epochs, row["train_loss"], val_acc,
                                    earlier + spent, spent / (epoch - start) * (train_cfg.epochs - epoch)))
            if on_epoch_end is not None:
                on_epoch_end(epoch)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM (mcd_core.common.interrupt)
        if saved:
            log.warning("stopped: %s holds epoch %d; --resume continues after it", out_dir / "last.pt", saved)
        raise
    finally:
        writer.close()
    write_json(out_dir / "final.json", {"best_epoch": best_epoch, "best_val_acc": best_acc, "threads": threads,
                                        "runtime": runtime, "history": history})
    return TrainResult(out_dir, history, best_epoch, best_acc)
