"""Named variants: each is a set of `MCDConfig` overrides of the one model (no code copies)."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from .baseline import ModalityMLP
from .config import ConfigError, MCDConfig
from .mcd import MCD

_NO_TEXT = {"text_objects": False}
_ATTN_OFF = {"self_attn_audio": False, "self_attn_visual": False,
             "cross_audio_query": False, "cross_visual_query": False}

VARIANTS: dict[str, dict[str, Any]] = {
    "mcd": {},
    # Table II: the multimodal MLP over encoder outputs
    "q_only": {"architecture": "mlp", "use_audio": False, "use_visual": False},
    "a_only": {"architecture": "mlp", "use_question": False, "use_visual": False},
    "v_only": {"architecture": "mlp", "use_question": False, "use_audio": False},
    "qa": {"architecture": "mlp", "use_visual": False},
    "qv": {"architecture": "mlp", "use_audio": False},
    "qav": {"architecture": "mlp"},
    # Fig. 4/5: decision-level fusion added back
    "mcd_late_concat": {"late_fusion": "concat"},
    "mcd_late_add": {"late_fusion": "add"},
    # Table VI: text encoder and text objects
    "mcd_bilstm": {"bilstm": True},
    "mcd_no_text_objects": _NO_TEXT,
    "mcd_bilstm_no_text_objects": {"bilstm": True, **_NO_TEXT},
    # Table VII: attention inside the association block
    "mcd_attn_none": _ATTN_OFF,
    "mcd_attn_self_a": {**_ATTN_OFF, "self_attn_audio": True},
    "mcd_attn_self_av": {**_ATTN_OFF, "self_attn_audio": True, "self_attn_visual": True},
    "mcd_attn_cross_aq": {**_ATTN_OFF, "cross_audio_query": True},
    "mcd_attn_cross_avq": {**_ATTN_OFF, "cross_audio_query": True, "cross_visual_query": True},
    "mcd_attn_bi_aq": {"cross_visual_query": False},
    "mcd_attn_bi_vq": {"cross_audio_query": False},
    # Table VIII: number of association blocks
    "mcd_n1": {"n_blocks": 1},
    "mcd_n2": {"n_blocks": 2},
    "mcd_n3": {"n_blocks": 3},
    # Table IX: local element fusion
    "mcd_lef_no_fv": {"lef_visual": False},
    "mcd_lef_no_fa": {"lef_audio": False},
    "mcd_lef_no_ft": _NO_TEXT,
    "mcd_lef_add_only": {"lef_product": False},
    # Table X: each contrastive loss removed
    "mcd_no_l_qv": {"lambda_qv": 0.0},
    "mcd_no_l_qa": {"lambda_qa": 0.0},
    "mcd_no_l_av": {"lambda_av": 0.0},
}

# The model class for each architecture value.
ARCHITECTURE_CLASSES: dict[str, type[nn.Module]] = {"mcd": MCD, "mlp": ModalityMLP}


def list_variants() -> list[str]:
    return list(VARIANTS)


def variant_config(name: str, **fields: Any) -> MCDConfig:
    """The config of variant `name`; `fields` (sizes, D, ...) apply first, the variant's switches last."""
    if name not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    base = MCDConfig(**fields)
    return dataclasses.replace(base, **VARIANTS[name])


def build_model(cfg: MCDConfig) -> nn.Module:
    return ARCHITECTURE_CLASSES[cfg.architecture](cfg)
