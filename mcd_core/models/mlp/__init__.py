"""Table II's multimodal MLP baseline: question, audio and/or visual encoder outputs, concatenated,
then an MLP; its config, model and the six input-combination variants.

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.mlp.config import MLPConfig
from mcd_core.models.registry import Architecture, register_architecture, register_variants

register_architecture(Architecture("mlp", MLPConfig, "mcd_core.models.mlp.model:ModalityMLP",
                                   "Table II multimodal MLP over encoder outputs"))

register_variants("mlp", {
    "q_only": ("Table II: question only", {"use_audio": False, "use_visual": False}),
    "a_only": ("Table II: audio only", {"use_question": False, "use_visual": False}),
    "v_only": ("Table II: visual only", {"use_question": False, "use_audio": False}),
    "qa": ("Table II: question + audio", {"use_visual": False}),
    "qv": ("Table II: question + visual", {"use_audio": False}),
    "qav": ("Table II: question + audio + visual (MLP)", {}),
})
