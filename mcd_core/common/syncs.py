"""Count the reads of tensor values back to the host that our code asks for (`count_host_reads`).

On a GPU each such read (`.item()`, `.tolist()`, `.cpu()`, `.numpy()`, `float(t)`, `int(t)`, a tensor
in an `if`) makes the host wait until the device has finished all queued work, so a training step
with one cannot overlap the next step's launches with this one's kernels. The count can be taken on
the CPU, where the same calls run: it is the figure that decides the GPU speed of the loop.

Reads made inside torch itself are left out: the one torch makes in a step (the non-fused
optimizers' `step` counters) reads a CPU tensor on every device, which costs no wait.
Data-dependent shapes (`x[mask]`, `nonzero`) also wait on a GPU but run in C++, out of reach of this
counter; `torch.cuda.set_sync_debug_mode` catches them on a GPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from typing import Iterator

import torch

READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "__index__")
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


@contextlib.contextmanager
def count_host_reads() -> Iterator[Counter]:
    """Within the block, count each read of a tensor's value made from outside torch's own code,
    by method name: `with count_host_reads() as reads: ...; sum(reads.values())`."""
    reads: Counter = Counter()
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def counting(name, original):
        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if not caller.startswith(_TORCH_DIR):
                reads[name] += 1
            return original(self, *args, **kwargs)
        return read

    for name, original in originals.items():
        setattr(torch.Tensor, name, counting(name, original))
    try:
        yield reads
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
