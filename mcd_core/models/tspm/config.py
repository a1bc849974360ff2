"""`TSPMConfig`: TSPM (Li, Du, Hu, ACM MM 2024) over our stores, with a switch restoring the released
spatial perception (peer-facts §4, docs/peers.md). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models.config import ConfigError, ModelConfig, check_positive


@dataclass
class TSPMConfig(ModelConfig):
    architecture: ClassVar[str] = "tspm"
    input_dims: ClassVar[dict[str, str]] = {"tome": "tome_dim", "question_clip": "text_dim",
                                            "prompt_clip": "text_dim"}
    visual_dim: int = 768           # CLIP ViT-L/14@336 frame width (the --visual store)
    tome_dim: int = 1024            # ToMe token width (timm ViT-L/16-384)
    text_dim: int = 768             # CLIP ViT-L/14@336 text width (question and prompt stores)
    d_model: int = 512              # hidden width (released: 512)
    top_k: int = 10                 # steps kept by the temporal perception (released: 10)
    n_heads: int = 4                # heads of the query attentions (released: 4)
    ffn_hidden: int = 512           # feed-forward width (released: 512)
    dropout: float = 0.1            # attention and feed-forward dropout (released: 0.1)
    tome_frames: int = 10           # ToMe frames per video, for example inputs only
    tome_tokens: int = 14           # merged tokens per frame incl. CLS, for example inputs only
    spatial_released: bool = False  # True: the spatial perception reads k evenly spaced ToMe frames
                                    # (the released 10-frame files, in order) whatever the temporal
                                    # perception selected (released TopKSegs); False: for each selected
                                    # second, the ToMe frame nearest to it (the same second per second)

    def validate(self) -> None:
        check_positive(self, "d_model", "tome_dim", "text_dim", "top_k", "n_heads", "ffn_hidden",
                       "tome_frames", "tome_tokens")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    def input_shapes(self, steps: int) -> dict[str, tuple[int, ...]]:
        return {"audio": (steps, self.audio_dim), "visual": (steps, self.visual_dim),
                "tome": (self.tome_frames, self.tome_tokens, self.tome_dim),
                "question_clip": (1, self.text_dim), "prompt_clip": (1, self.text_dim)}
