"""MCD modules, losses and the variant registry (ground floor: imports only torch)."""

from .config import ConfigError, MCDConfig
from .losses import ModelOutput, total_loss
from .registry import VARIANTS, build_model, list_variants, variant_config

__all__ = ["ConfigError", "MCDConfig", "ModelOutput", "total_loss", "VARIANTS", "build_model",
           "list_variants", "variant_config"]
