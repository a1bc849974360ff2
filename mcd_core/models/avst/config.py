"""`AVSTConfig`: AVST (Li et al., CVPR 2022, MUSIC-AVQA's baseline) over our stores. Torch-free.

Sizes are those of the released code (peer-facts §3); `map_positions` only shapes example inputs
(the model reads any number of positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models.config import ConfigError, ModelConfig, check_positive


STAGES = ("qa", "grounding")


@dataclass
class AVSTConfig(ModelConfig):
    architecture: ClassVar[str] = "avst"
    input_dims: ClassVar[dict[str, str]] = {"visual_map": "map_dim"}
    d_model: int = 512              # width of every hidden feature (released: 512)
    word_dim: int = 512             # question word embedding (released: 512)
    map_dim: int = 512              # channel width of the visual_map store (ResNet-18 layer4: 512)
    map_positions: int = 196        # spatial positions per map (14 x 14), for example inputs only
    n_heads: int = 4                # heads of the question-guided temporal attentions (released: 4)
    ffn_hidden: int = 512           # their feed-forward width (released: 512)
    dropout: float = 0.1            # attention and feed-forward dropout (released: 0.1)
    match_weight: float = 0.5       # weight of the audio-visual match loss (released: 0.5); 0 = off
    stage: str = "qa"               # "grounding": the released first stage, only the audio, grounding and
    #                                 match modules, trained on the match loss alone (no answers);
    #                                 "qa": the whole model (the second stage starts from grounding's weights)

    def validate(self) -> None:
        check_positive(self, "d_model", "word_dim", "map_dim", "map_positions", "n_heads", "ffn_hidden")
        if self.d_model % 4 or self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} must be divisible by 4 and by n_heads {self.n_heads}")
        if self.stage not in STAGES:
            raise ConfigError(f"model field 'stage' is {self.stage!r}; choose one of {list(STAGES)}")
        if self.match_weight < 0:
            raise ConfigError(f"model field 'match_weight' must be >= 0, got {self.match_weight}")

    @property
    def needs_visual(self) -> bool:
        return False  # AVST reads the 14 x 14 maps (input "visual_map"), not the pooled frame features

    def input_shapes(self, steps: int) -> dict[str, tuple[int, ...]]:
        return {"audio": (steps, self.audio_dim), "visual_map": (steps, self.map_positions, self.map_dim)}
