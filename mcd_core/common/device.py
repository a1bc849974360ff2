"""Device and numeric precision of inference jobs (torch is imported on use, not at import).

`choose_device("auto")` takes the first visible CUDA device (which one is visible is the job
scheduler's business: CUDA_VISIBLE_DEVICES, never a hard-coded id). `autocast(device, precision)`
runs a block in fp32, bf16 or fp16; fp16 is CUDA-only because CPU fp16 kernels are slow or missing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("fp32", "bf16", "fp16")


class DeviceError(RuntimeError):
    """The requested device or precision is not available on this machine."""


def choose_device(request: str = "auto") -> "torch.device":
    import torch

    if request not in DEVICE_CHOICES:
        raise DeviceError(f"device {request!r} is not one of {DEVICE_CHOICES}")
    if request == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if request == "cuda":
        raise DeviceError("device 'cuda' was requested but torch sees no CUDA device")
    return torch.device("cpu")


def autocast(device: "torch.device | str", precision: str = "fp32") -> ContextManager:
    """A context running its block in `precision` on `device` (fp32: no autocast at all)."""
    import torch

    device = torch.device(device)
    if precision not in PRECISION_CHOICES:
        raise DeviceError(f"precision {precision!r} is not one of {PRECISION_CHOICES}")
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise DeviceError(f"precision 'fp16' needs a CUDA device, got {device.type!r}; use bf16 or fp32")
    return torch.autocast(device_type=device.type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[precision])
