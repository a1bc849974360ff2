"""`PSTPConfig`: PSTP-Net (Li et al., ACM MM 2023) over our stores, with switches that restore each
bug of its released code (peer-facts §5, docs/peers.md). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models.config import ConfigError, ModelConfig, check_positive


FRAME_SOURCES = ("patch_mean", "cls")


@dataclass
class PSTPConfig(ModelConfig):
    architecture: ClassVar[str] = "pstp_net"
    input_dims: ClassVar[dict[str, str]] = {"question_clip": "text_dim", "question_words": "text_dim",
                                            "visual_cls": "frame_dim"}
    visual_dim: int = 512           # CLIP ViT-B/32 projected patch width (the --visual patch store)
    frame_dim: int = 512            # CLIP ViT-B/32 projected CLS width (the `visual_cls` frame store)
    text_dim: int = 512             # CLIP ViT-B/32 text width (question sentence and word stores)
    d_model: int = 512              # hidden width (released: 512)
    segments: int = 12              # temporal segments (released: 12, i.e. 5 s clips of 60 s)
    top_k: int = 2                  # segments kept (released: 2)
    top_m: int = 25                 # patches kept per selected frame (released: 25 of 49)
    n_heads: int = 4                # heads of the question/audio-query attentions (released: 4)
    ffn_hidden: int = 512           # feed-forward width (released: 512)
    dropout: float = 0.1            # attention and feed-forward dropout (released: 0.1)
    patches: int = 49               # patches per frame, for example inputs only (7 x 7)
    word_tokens: int = 77           # CLIP word tokens, for example inputs only
    frame_source: str = "patch_mean"  # frame feature: "patch_mean" = mean of the 49 patch tokens (the
                                    # fixed variant, as before), "cls" = the CLS frame store `visual_cls`
                                    # (what the released loader reads, token 0 of its [60,50,512] file)
    # -- switches restoring the released code's behaviour (False = fixed) ----------------------------
    fusion_released: bool = False   # True: the fusion reads only (audio, visual, words) and discards
                                    # every selection/grounding/global-local output (released :608-617)
    top_m_released: bool = False    # True: the top-M patch gather takes sample 0's (frame 0's) indices
                                    # for the whole batch and fills all M slots with its last index
    global_local_released: bool = False  # True: global-local perception returns its inputs unchanged
                                         # (released: `norm=None` skips the assignment of its outputs)

    def validate(self) -> None:
        check_positive(self, "d_model", "frame_dim", "text_dim", "segments", "top_k", "top_m", "n_heads", "ffn_hidden",
                       "patches", "word_tokens")
        if self.frame_source not in FRAME_SOURCES:
            raise ConfigError(f"model field 'frame_source' is {self.frame_source!r}; choose one of "
                              f"{', '.join(FRAME_SOURCES)}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.top_k > self.segments:
            raise ConfigError(f"model field 'top_k' ({self.top_k}) exceeds 'segments' ({self.segments})")

    @property
    def needs_patches(self) -> bool:
        return True

    def input_shapes(self, steps: int) -> dict[str, tuple[int, ...]]:
        return {"audio": (steps, self.audio_dim), "visual": (steps, self.patches, self.visual_dim),
                "question_clip": (1, self.text_dim), "question_words": (self.word_tokens, self.text_dim),
                "visual_cls": (steps, self.frame_dim)}
