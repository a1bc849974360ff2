"""Models: shared layers and losses (`common/`), one subpackage per architecture (`mcd/`, `mlp/`, and
the peers `avst/`, `pstp_net/`, `tspm/`),
and the registry of architectures and named variants (torch-free until a model is built).

May import: mcd_core.common.
"""

from mcd_core.models.config import ConfigError, ModelConfig, apply_overrides
from mcd_core.models.registry import (ARCHITECTURES, VARIANTS, Architecture, FeatureInput, Variant,
                                      architecture_inputs, build_model, config_fields, config_from_dict,
                                      get_architecture, get_variant, list_variants, register_architecture,
                                      register_variant, variant_config)

# The built-in architectures register themselves and their variants on import.
from mcd_core.models import avst, mcd, mlp, pstp_net, tspm  # noqa: E402,F401  isort: skip

__all__ = ["ARCHITECTURES", "VARIANTS", "Architecture", "ConfigError", "FeatureInput", "ModelConfig", "Variant",
           "apply_overrides", "architecture_inputs", "build_model", "config_fields", "config_from_dict", "get_architecture",
           "get_variant", "list_variants", "register_architecture", "register_variant", "variant_config"]
