"""PSTP-Net (peer-facts §5): temporal segment and spatial region selection by the question,
audio-guided visual attention and global-local perception over CLIP ViT-B/32 patch tokens, with
CLIP question features; its config (with switches restoring the released bugs), model and variants.

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.pstp_net.config import PSTPConfig
from mcd_core.models.registry import Architecture, FeatureInput, register_architecture, register_variants

register_architecture(Architecture(
    "pstp_net", PSTPConfig, "mcd_core.models.pstp_net.model:PSTPNet",
    "PSTP-Net (Li et al. 2023): temporal/spatial selection over CLIP ViT-B/32 patches",
    inputs=(FeatureInput("question_clip", "text_sentence", "clip_text_b32", per="question"),
            FeatureInput("question_words", "text_words", "clip_text_b32", per="question"),
            # the CLS frame store (projected CLS a second); read by frame_source="cls" (pstp_net_released)
            FeatureInput("visual_cls", "visual", "clip_vit_b32"))))

# Released recipe: Adam 1e-4, StepLR(8, 0.1), batch 64, 30 epochs, all 60 s.
PSTP_RECIPE = {"lr": 1e-4, "lr_step": 8, "lr_gamma": 0.1, "batch_size": 64, "epochs": 30, "stride": 1}

register_variants("pstp_net", {
    "pstp_net": ("PSTP-Net (Table III/IV, CLIP ViT-B/32), released bugs fixed", {}),
    "pstp_net_released": ("PSTP-Net as released: CLS frame features, fusion discards the selections, "
                          "batch-0 top-M gather, global-local returns its inputs",
                          {"fusion_released": True, "top_m_released": True, "global_local_released": True,
                           "frame_source": "cls"}),
}, training=PSTP_RECIPE)
