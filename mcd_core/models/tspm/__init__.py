"""TSPM (peer-facts §4): prompt-guided temporal perception, spatial perception over ToMe tokens of
the selected seconds, question-temporal grounding and fusion over CLIP ViT-L/14@336 features; its
config (with a switch restoring the released spatial perception), model and variants.

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.registry import Architecture, FeatureInput, register_architecture, register_variants
from mcd_core.models.tspm.config import TSPMConfig

register_architecture(Architecture(
    "tspm", TSPMConfig, "mcd_core.models.tspm.model:TSPM",
    "TSPM (Li et al. 2024): prompt-guided temporal and ToMe spatial perception",
    inputs=(FeatureInput("tome", "tome", "tome_vit_l16_384"),
            FeatureInput("question_clip", "text_sentence", "clip_text_l14_336", per="question"),
            FeatureInput("prompt_clip", "prompt_sentence", "clip_text_l14_336", per="question"))))

# Released recipe: Adam 1e-4, StepLR(8, 0.1), batch 64, 30 epochs, all 60 s.
TSPM_RECIPE = {"lr": 1e-4, "lr_step": 8, "lr_gamma": 0.1, "batch_size": 64, "epochs": 30, "stride": 1}

register_variants("tspm", {
    "tspm": ("TSPM (CLIP ViT-L/14@336 + ToMe), spatial perception over the selected seconds", {}),
    "tspm_released": ("TSPM as released: spatial perception over ToMe frames 0..k-1, selection ignored",
                      {"spatial_released": True}),
}, training=TSPM_RECIPE)
