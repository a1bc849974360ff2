"""`MLPConfig`: Table II's multimodal MLP over encoder outputs of the chosen inputs. Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models.config import ConfigError, ModelConfig, check_positive


@dataclass
class MLPConfig(ModelConfig):
    architecture: ClassVar[str] = "mlp"
    d_model: int = 512              # width of each encoder output (as MCD's D)
    word_dim: int = 512             # word-embedding width (as MCD)
    bilstm: bool = False            # Bi-LSTM question encoder
    use_question: bool = True       # feed the question embedding
    use_audio: bool = True          # feed the time-mean audio embedding
    use_visual: bool = True         # feed the time-mean visual embedding
    mlp_hidden: int = 512           # hidden width
    mlp_dropout: float = 0.1        # dropout

    def validate(self) -> None:
        check_positive(self, "d_model", "word_dim", "mlp_hidden")
        if self.bilstm and self.d_model % 2:
            raise ConfigError("bilstm needs an even d_model")
        if not (self.use_question or self.use_audio or self.use_visual):
            raise ConfigError("the mlp baseline needs at least one of use_question/use_audio/use_visual")

    @property
    def needs_audio(self) -> bool:
        return self.use_audio

    @property
    def needs_visual(self) -> bool:
        return self.use_visual
