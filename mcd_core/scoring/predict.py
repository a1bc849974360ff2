"""Prediction: batched inference over an `AVQADataset`, checkpoints, and the predictions CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Iterable

import torch
from mcd_core.common.progress import progress

from mcd_core.common.atomic import write_text
from mcd_core.data.dataset import AVQADataset, make_dataset, open_stores
from mcd_core.data.inputs import open_inputs
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.common.device import autocast, choose_device
from mcd_core.models import ConfigError, build_model, config_from_dict, get_architecture
from mcd_core.scoring.checkpoint import CheckpointError, read_checkpoint
from mcd_core.common.workers import WorkerLoader

PREDICTION_COLUMNS = ("question_id", "video_id", "type", "answer", "prediction", "correct")


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Tensors to `device`, except those whose key ends in `_host` (read on the host, e.g. by the
    LSTM's packing); from pinned host memory the copy does not block."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) and not k.endswith("_host") else v
            for k, v in batch.items()}


def eval_batches(data: AVQADataset | ResidentBatches, batch_size: int, workers: int,
                 device: torch.device) -> Iterable[dict]:
    if isinstance(data, ResidentBatches):
        return data.batches(batch_size)
    return WorkerLoader(data, batch_size=batch_size, shuffle=False, num_workers=workers,
                      pin_memory=device.type == "cuda")


@torch.no_grad()
def predict_indices(model: torch.nn.Module, dataset: AVQADataset | ResidentBatches, batch_size: int,
                    device: torch.device, workers: int = 0, desc: str = "predict",
                    precision: str = "fp32") -> list[int]:
    """Arg-max answer index for every question of `dataset`, in dataset order."""
    was_training = model.training
    model.eval()
    out: list[int] = []
    for batch in progress(eval_batches(dataset, batch_size, workers, device), desc=desc, unit="batch", leave=False):
        with autocast(device, precision):
            out.extend(model(to_device(batch, device)).logits.argmax(-1).tolist())
    model.train(was_training)
    return out


def predict_answers(model: torch.nn.Module, dataset: AVQADataset | ResidentBatches, answers: list[str],
                    batch_size: int, device: torch.device, workers: int = 0, desc: str = "predict",
                    precision: str = "fp32") -> list[str]:
    """Predicted answer strings in dataset order (positions, not ids: json/ repeats some ids)."""
    return [answers[i] for i in predict_indices(model, dataset, batch_size, device, workers, desc, precision)]


def accuracy(dataset: AVQADataset, predictions: list[str]) -> float:
    """Percent correct; an answer never seen in training can never be predicted, so it counts wrong."""
    if not len(dataset):
        return float("nan")
    return 100.0 * sum(p == q.answer for q, p in zip(dataset.questions, predictions)) / len(dataset)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """(model in eval mode, its config, the checkpoint dict) from a best.pt / last.pt file; the
    config class is the one of the architecture named in the checkpoint."""
    path = Path(path)
    ckpt = read_checkpoint(path, device)
    try:
        cfg = config_from_dict(ckpt["architecture"], ckpt["model_config"])
        model = build_model(cfg).to(device)
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, RuntimeError, ConfigError) as exc:
        raise CheckpointError(f"{path}: not a usable model checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); use the best.pt or "
                              f"last.pt of an `mcd train` run") from None
    model.eval()
    return model, cfg, ckpt


def check_vocab(ckpt: dict, vocab: Vocab, ckpt_path: Path, vocab_path: Path) -> None:
    if list(ckpt.get("answers", [])) != list(vocab.answers):
        raise CheckpointError(f"{vocab_path}: its answers differ from those checkpoint {ckpt_path} "
                              f"was trained with; use the run's vocabulary")


def write_predictions_csv(path: str | os.PathLike, dataset: AVQADataset, predictions: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PREDICTION_COLUMNS)
    for q, pred in zip(dataset.questions, predictions):
        writer.writerow([q.question_id, q.video_id, q.type_key, q.answer, pred, int(pred == q.answer)])
    write_text(path, buf.getvalue())


def predict_file(checkpoint: str | os.PathLike, annotations: str | os.PathLike, vocab_path: str | os.PathLike,
                 audio: str | os.PathLike | None, visual: str | os.PathLike | None, out: str | os.PathLike,
                 batch_size: int = 256, device: str = "auto", workers: int = 0, fmt: str = "music_avqa",
                 inputs: dict[str, str | os.PathLike] | None = None) -> float:
    """Write the predictions CSV of a checkpoint on an annotation file; returns the accuracy (%).
    `inputs`: the extra stores of the checkpoint's architecture, by key (`--input KEY=PATH`)."""
    dev = choose_device(device)
    model, cfg, ckpt = load_checkpoint(checkpoint, dev)
    vocab = Vocab.load(vocab_path)
    check_vocab(ckpt, vocab, Path(checkpoint), Path(vocab_path))
    stride = int(ckpt.get("train_config", {}).get("stride", 1))
    stores = open_stores(Path(audio) if audio else None, Path(visual) if visual else None, cfg)
    extra = open_inputs(get_architecture(cfg.architecture).inputs, dict(inputs or {}),
                        f"checkpoint {checkpoint} (architecture {cfg.architecture!r})")
    dataset = make_dataset(Path(annotations), vocab, cfg, *stores, stride=stride, fmt=fmt, inputs=extra)
    predictions = predict_answers(model, dataset, vocab.answers, batch_size, dev, workers)
    write_predictions_csv(out, dataset, predictions)
    return accuracy(dataset, predictions)
