"""How many training runs the paper's suite needs, and an estimate of their cost. Torch-free.

Cost model: a run reads every training question once per epoch (forward and backward) and scores
the validation and test splits once per epoch (forward only, counted as a third of a training
step). Seconds = epochs x (train + (val + test) / 3) / rate, with `rate` training samples per second
(MCD, D = 512, T = 60, batch 64); the figures below are measurements, named by machine and script.
The GPU figure is the model alone on batches already in GPU memory (`bench/gpu_steps.py`): a real
run that reads Zarr stores from disk is slower, so read it as a lower bound. The estimate leaves out
feature extraction and the variants' differing sizes (the ablations are at most MCD's size plus a
late-fusion layer, the MLP baselines far smaller).
"""

from __future__ import annotations

from typing import Sequence

from mcd_core.scoring.experiments import needed_runs

# Training samples per second, per machine (2026-11-28):
MEASURED_RATES: dict[str, float] = {
    # the steps of bench/gpu_steps.py (run inline on the device, model as of commit 8df06ba, i.e.
    # without f_q's D x D projection): visual 1536-d 1764 samples/s train, 5752 eval; 512-d: 1703
    "one NVIDIA H200, model alone": 1764.0,
    # bench/train_throughput.py --threads 1 --videos 64 --steps 3 --rounds 2, in-memory path, 512-d
    "CPU, 1 thread of the shared 2-core development machine": 5.2,
}
EVAL_FRACTION = 1 / 3   # an evaluation sample costs about a third of a training step (no backward;
#                         measured 0.31 on the H200 by bench/gpu_steps.py)


def run_seconds(epochs: int, counts: Sequence[int], rate: float) -> float:
    train, val, test = counts
    return epochs * (train + (val + test) * EVAL_FRACTION) / rate


def plan_text(experiments: Sequence[str], visual: str, seeds: Sequence[int], counts: Sequence[int] | None,
              epochs: int, finished: int = 0, variants: Sequence[str] = ()) -> str:
    """One paragraph: the runs needed (distinct features/variant/seed), and their estimated cost
    (`variants`: the dataset's training.variants, which bring in the peers' Table IV rows)."""
    runs = needed_runs(experiments, visual, seeds, variants)
    variants = sorted({r.variant for r in runs})
    settings = {(r.visual, r.variant) for r in runs}
    backbones = sorted({r.visual for r in runs})
    lines = [f"paper suite ({', '.join(experiments)}): {len(runs)} training runs "
             f"({len(settings)} settings of {len(variants)} variants on visual backbones "
             f"{', '.join(backbones)}, x {len(seeds)} seed(s)), "
             f"{finished} already finished, {len(runs) - finished} to train; {epochs} epochs each"]
    if counts is None:
        lines.append("cost: question counts unknown until the annotation files exist")
        return "\n".join(lines)
    lines.append(f"questions per epoch: train {counts[0]}, val {counts[1]}, test {counts[2]}")
    for machine, rate in MEASURED_RATES.items():
        if rate > 0:
            hours = (len(runs) - finished) * run_seconds(epochs, counts, rate) / 3600
            lines.append(f"estimated training time at {rate:.0f} samples/s ({machine}): {hours:.1f} h")
    return "\n".join(lines)
