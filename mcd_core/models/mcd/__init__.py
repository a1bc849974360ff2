"""MCD (Section III): association blocks, the shared aggregator, text objects, LEF and the
semantic-approximation losses; its config, model and variants.

May import: mcd_core.models (config, registry, common).
"""

from mcd_core.models.mcd.config import MCDConfig
from mcd_core.models.registry import Architecture, register_architecture

register_architecture(Architecture("mcd", MCDConfig, "mcd_core.models.mcd.model:MCD",
                                   "Mutual Correlation Distillation (Section III)"))

from mcd_core.models.mcd import variants  # noqa: E402,F401  (registers the variants)
