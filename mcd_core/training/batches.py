"""Where a run's features live and how batches reach the model.

`residency`: "device" keeps every feature row on the compute device and indexes batches there
(`data.resident.ResidentBatches`, no DataLoader); "loader" reads batches through a DataLoader
(pinned memory and non-blocking copies on CUDA). "auto" takes "device" when the features fit in
`RESIDENT_FRACTION` of the free GPU memory, or, on CPU, when the run preloads its stores anyway
(`in_memory`); else "loader". Both paths give the same batches in the same order.
"""

from __future__ import annotations

import logging
from typing import Iterable

import torch

from mcd_core.common.workers import WorkerLoader
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.resident import ResidentBatches
from mcd_core.training.config import TrainConfig

log = logging.getLogger(__name__)

RESIDENT_FRACTION = 0.5   # share of free GPU memory the resident features may take


def use_resident(cfg: TrainConfig, dataset: AVQADataset, device: torch.device) -> bool:
    if cfg.residency != "auto":
        return cfg.residency == "device"
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return ResidentBatches.nbytes(dataset) <= RESIDENT_FRACTION * free
    return cfg.in_memory


def place(dataset: AVQADataset | None, cfg: TrainConfig, device: torch.device):
    """The dataset itself (loader path) or its `ResidentBatches` on `device`."""
    if dataset is None or not use_resident(cfg, dataset, device):
        return dataset
    resident = ResidentBatches(dataset, device)
    log.info("%d questions with %.1f MB of features held on %s", len(resident),
             ResidentBatches.nbytes(dataset) / 2**20, device)
    return resident


def train_batches(data, cfg: TrainConfig, generator: torch.Generator, device: torch.device) -> Iterable[dict]:
    """One epoch of shuffled training batches."""
    if isinstance(data, ResidentBatches):
        return data.batches(cfg.batch_size, shuffle=True, generator=generator)
    return WorkerLoader(data, batch_size=cfg.batch_size, shuffle=True, generator=generator,
                      num_workers=cfg.workers, pin_memory=device.type == "cuda")


def model_precision(cfg: TrainConfig, device: torch.device) -> str:
    """`auto`: bf16 autocast on CUDA, fp32 on CPU (CPU bf16 is slower than fp32 for these sizes)."""
    if cfg.precision != "auto":
        return cfg.precision
    return "bf16" if device.type == "cuda" else "fp32"
