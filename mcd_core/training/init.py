"""Starting a run from another run's weights (`mcd train --init-from`): AVST's question-answering
stage starts from its grounding stage's best.pt, as the released recipe does.

The checkpoint is read with weights_only=True (`scoring.checkpoint.read_checkpoint`). Every tensor
whose name the new model also has is copied; the rest of the model keeps its fresh initialisation.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mcd_core.models import ConfigError
from mcd_core.scoring.checkpoint import CheckpointError, read_checkpoint


def read_init_weights(path: str | Path, architecture: str) -> dict[str, torch.Tensor]:
    """The model tensors of checkpoint `path`, which must be a run of `architecture`."""
    ckpt = read_checkpoint(path, "cpu", remedy="train the run it comes from again")
    state, source = ckpt.get("model"), ckpt.get("architecture")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no model weights; pass the best.pt of an `mcd train` run")
    if source != architecture:
        raise ConfigError(f"--init-from {path}: a run of architecture {source!r}, not {architecture!r}")
    return state


def load_matching(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Copy each tensor of `state` whose name `model` has into it; returns the names copied.
    A shared name of another shape, or no shared name at all, is an error."""
    own = model.state_dict()
    shared = sorted(set(own) & set(state))
    wrong = [f"{n} {tuple(state[n].shape)} != {tuple(own[n].shape)}" for n in shared
             if state[n].shape != own[n].shape]
    if wrong:
        raise ConfigError(f"the init checkpoint's tensors do not fit the model: {'; '.join(wrong[:4])}")
    if not shared:
        raise ConfigError("the init checkpoint shares no tensor name with the model")
    model.load_state_dict({n: state[n] for n in shared}, strict=False)
    return shared
