"""AVST (MUSIC-AVQA's baseline, peer-facts §3): audio-guided spatial grounding over ResNet-18
14 x 14 maps, question-guided temporal attention and the audio-visual match loss; its config, model
and variants (its recipe as their training defaults).

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.avst.config import AVSTConfig
from mcd_core.models.registry import Architecture, FeatureInput, register_architecture, register_variants

register_architecture(Architecture(
    "avst", AVSTConfig, "mcd_core.models.avst.model:AVST",
    "AVST (Li et al. 2022): spatial grounding on 14x14 maps, temporal attention, match loss",
    inputs=(FeatureInput("visual_map", "visual_map", "resnet18_14x14"),)))

# Released recipe: Adam 1e-4, StepLR(8, 0.1), batch 64, every 6th of 60 s (T = 10). It trains 80
# epochs by default; its log peaks at epoch 20 (best on val), so 30 epochs (as the other peers) are kept.
AVST_RECIPE = {"lr": 1e-4, "lr_step": 8, "lr_gamma": 0.1, "batch_size": 64, "stride": 6, "epochs": 30}

register_variants("avst", {
    "avst": ("AVST (Table III/IV, ResNet-18): grounding + temporal attention + match loss 0.5", {}),
    "avst_no_match": ("AVST without the audio-visual match loss (ablation)", {"match_weight": 0.0}),
}, training=AVST_RECIPE)
