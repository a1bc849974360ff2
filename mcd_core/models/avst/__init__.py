"""AVST (MUSIC-AVQA's baseline, peer-facts §3): audio-guided spatial grounding over ResNet-18
14 x 14 maps, question-guided temporal attention and the audio-visual match loss; its config, model
and variants (its recipe as their training defaults).

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.avst.config import AVSTConfig
from mcd_core.models.registry import (Architecture, FeatureInput, Variant, register_architecture,
                                      register_variant)

register_architecture(Architecture(
    "avst", AVSTConfig, "mcd_core.models.avst.model:AVST",
    "AVST (Li et al. 2022): spatial grounding on 14x14 maps, temporal attention, match loss",
    inputs=(FeatureInput("visual_map", "visual_map", "resnet18_14x14"),)))

# Released recipe of both stages: Adam 1e-4, StepLR(8, 0.1), batch 64, every 6th of 60 s (T = 10).
# Grounding (grounding_gen/main_grd_gen.py): 30 epochs. Question answering (main_avst.py): 80 epochs
# by default; its log peaks at epoch 20 (best on val), so 30 epochs (as the other peers) are kept.
AVST_RECIPE = {"lr": 1e-4, "lr_step": 8, "lr_gamma": 0.1, "batch_size": 64, "stride": 6, "epochs": 30}
# The grounding stage answers nothing, so validation accuracy cannot pick its epoch: the last is kept
# (its learning rate has been 1e-7 since epoch 25).
GROUNDING_RECIPE = {**AVST_RECIPE, "keep": "last"}

register_variant(Variant(
    "avst_grounding", "avst", {"stage": "grounding"}, GROUNDING_RECIPE,
    "AVST stage 1: audio-visual grounding pre-training on the match loss alone (starts avst)"))
register_variant(Variant(
    "avst", "avst", {}, AVST_RECIPE,
    "AVST (Table III/IV, ResNet-18): stage 2, question answering from the grounding weights, match loss 0.5",
    init_from="avst_grounding"))
register_variant(Variant(
    "avst_one_stage", "avst", {}, AVST_RECIPE,
    "AVST trained in one stage from random initialisation (no grounding pre-training)"))
register_variant(Variant(
    "avst_no_match", "avst", {"match_weight": 0.0}, AVST_RECIPE,
    "AVST without the audio-visual match loss in stage 2 (ablation), from the grounding weights",
    init_from="avst_grounding"))
