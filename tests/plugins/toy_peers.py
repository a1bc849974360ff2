"""Stand-ins for the peer architectures (AVST, PSTP-Net, TSPM) with the feature inputs the issue-12
contract gives them, for testing the workflow's plumbing (extraction jobs, `--input` flags, table
rows) before the real models are merged. Torch-free, so `snakemake -n` can load it; an architecture
already registered (the real one) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models import ARCHITECTURES, VARIANTS, Architecture, ModelConfig, Variant, register_architecture, register_variant
from mcd_core.models.registry import FeatureInput

CONTRACT_INPUTS = {
    "avst": (FeatureInput("visual_map", "visual_map", "resnet18_14x14"),),
    "pstp_net": (FeatureInput("question_clip", "text_sentence", "clip_text_b32", "question"),
                 FeatureInput("question_words", "text_words", "clip_text_b32", "question")),
    "tspm": (FeatureInput("tome", "tome", "tome_vit_l16_384"),
             FeatureInput("question_clip", "text_sentence", "clip_text_l14_336", "question"),
             FeatureInput("prompt_clip", "prompt_sentence", "clip_text_l14_336", "question")),
}


def _config(name: str) -> type[ModelConfig]:
    @dataclass
    class StandInConfig(ModelConfig):
        architecture: ClassVar[str] = name

    StandInConfig.__name__ = f"StandIn_{name}"
    return StandInConfig


for _name, _inputs in CONTRACT_INPUTS.items():
    if _name not in ARCHITECTURES:
        register_architecture(Architecture(_name, _config(_name), "plugins.toy_architecture:BagOfWords",
                                           "test stand-in of a peer (plumbing only)", _inputs))
    if _name not in VARIANTS:
        register_variant(Variant(_name, _name, {}, {}, "test stand-in"))
