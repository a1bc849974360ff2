"""How many training runs the paper's suite needs, and what they cost in GPU time. Torch-free.

The estimate is built only from figures measured on a named card (`MEASURED`), never guessed:
- features: every video's T seconds through each visual backbone the runs read (one frame a
  second) and through the audio backbone (one VGGish patch a second), at the card's measured
  frames (patches) per second (`make gpu-check`, docs/gpu-check.md); a backbone never measured on
  the card is named and left out, so the figure is then a lower bound;
- training: a run reads every training question once per epoch (forward and backward) and scores
  the validation and test splits once per epoch (forward only, a third of a training step), at
  the card's measured training rate of MCD (N = 2, D = 512, T = 60, batch 64, bf16, features
  resident: `bench/train_throughput.py --device cuda`). Every variant is costed at MCD's rate (the
  ablations are at most MCD's size plus a late-fusion layer, the MLP baselines far smaller; the
  peers are not measured).
A stage-one run that another variant starts from (AVST's grounding pre-training, `init_from`) is a
run of its own and is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from mcd_core.scoring.experiments import RunKey, needed_runs
from mcd_core.scoring.peers import init_variant


@dataclass(frozen=True)
class CardFigures:
    """What one card was measured doing (2026-11-28, torch 2.11 + CUDA 13.0, docs/gpu-check.md)."""
    training: float                                  # MCD training samples per second
    frames: dict[str, float] = field(default_factory=dict)   # backbone -> frames (audio: patches) per second


MEASURED: dict[str, CardFigures] = {
    "one NVIDIA H200": CardFigures(
        training=1201.0,  # bf16, batch 64, features resident on the GPU (~26 s a MUSIC-AVQA epoch)
        frames={"resnet18": 21600.0, "clip_vit_b32": 5400.0,  # clip: the lower end of 5,400-9,300
                "swinv2_large": 710.0, "vggish": 65600.0}),
}
CPU_TRAINING = ("CPU, 1 thread of the shared 2-core development machine", 5.2)  # train_throughput.py, in memory
EVAL_FRACTION = 1 / 3   # an evaluation sample costs about a third of a training step (no backward;
#                         measured 0.31 on the H200 by bench/gpu_steps.py)


def run_seconds(epochs: int, counts: Sequence[int], rate: float) -> float:
    train, val, test = counts
    return epochs * (train + (val + test) * EVAL_FRACTION) / rate


def with_stage_one(runs: Sequence[RunKey]) -> list[RunKey]:
    """`runs` and the runs they start from (a variant's `init_from`, same features and seed)."""
    found, todo = set(runs), list(runs)
    while todo:
        run = todo.pop()
        parent = init_variant(run.variant)
        if parent is not None and RunKey(run.visual, parent, run.seed) not in found:
            found.add(RunKey(run.visual, parent, run.seed))
            todo.append(RunKey(run.visual, parent, run.seed))
    return sorted(found, key=lambda r: (r.visual, r.variant, r.seed))


def feature_seconds(card: CardFigures, videos: int, seconds: int, backbones: Sequence[str]) -> tuple[dict[str, float], list[str]]:
    """Seconds per measured backbone for `videos` videos of `seconds` s, and the unmeasured ones."""
    extracted = [b for b in backbones if not b.startswith("imported_")]  # imported stores cost no GPU
    measured = {b: videos * seconds / card.frames[b] for b in extracted if b in card.frames}
    return measured, [b for b in extracted if b not in card.frames]


def plan_text(experiments: Sequence[str], visual: str, seeds: Sequence[int], counts: Sequence[int] | None,
              epochs: int, finished: int = 0, variants: Sequence[str] = (), videos: int | None = None,
              seconds: int | None = None, audio: str = "vggish", counts_note: str = "") -> str:
    """A few lines: the runs needed (distinct features/variant/seed, stage-one runs included) and
    their estimated GPU time, features and training, on each card with measured figures."""
    suite = needed_runs(experiments, visual, seeds, variants)
    runs = with_stage_one(suite)
    names = sorted({r.variant for r in runs})
    settings = {(r.visual, r.variant) for r in runs}
    backbones = sorted({r.visual for r in runs})
    stage_one = len(runs) - len(suite)
    lines = [f"paper suite ({', '.join(experiments)}): {len(runs)} training runs "
             f"({len(settings)} settings of {len(names)} variants on visual backbones "
             f"{', '.join(backbones)}, x {len(seeds)} seed(s)"
             + (f"; {stage_one} of them stage-one runs that others start from" if stage_one else "")
             + f"), {finished} already finished, {len(runs) - finished} to train; {epochs} epochs each"]
    if counts is None:
        lines.append("cost: question counts unknown until the annotation files exist")
        return "\n".join(lines)
    lines.append(f"questions per epoch: train {counts[0]}, val {counts[1]}, test {counts[2]}{counts_note}")
    to_train = len(runs) - finished
    for card_name, card in MEASURED.items():
        train_h = to_train * run_seconds(epochs, counts, card.training) / 3600
        text = f"estimated GPU time on {card_name} (measured figures, docs/gpu-check.md): "
        if videos is not None and seconds is not None:
            per, unmeasured = feature_seconds(card, videos, seconds, [*backbones, audio])
            feat_h = sum(per.values()) / 3600
            parts = ", ".join(f"{b} {s / 3600:.2f} h" for b, s in per.items())
            features = (f"features {feat_h:.1f} h ({videos} videos x {seconds} s: {parts})" if per or unmeasured
                        else "features 0 h (imported)")
            text += (f"{features} + training {train_h:.1f} h at {card.training:.0f} samples/s = "
                     f"{feat_h + train_h:.1f} GPU-hours")
            if unmeasured:
                text += f"; not measured on this card, left out: {', '.join(unmeasured)}"
        else:
            text += f"training {train_h:.1f} h at {card.training:.0f} samples/s (features not counted)"
        lines.append(text)
    name, rate = CPU_TRAINING
    lines.append(f"estimated training time at {rate:.0f} samples/s ({name}): "
                 f"{to_train * run_seconds(epochs, counts, rate) / 3600:.1f} h")
    return "\n".join(lines)
