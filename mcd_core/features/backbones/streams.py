"""Which store streams each backbone writes, known without importing the backbone modules (they
import torch): the workflow validates `training.peer_backbones` and plans token jobs at parse time
from this table, and tests/test_peer_backbones.py keeps it equal to the registries (visual specs'
streams, token specs' stream, text towers' streams).
"""

from __future__ import annotations

# stream -> the backbones that write a store of that stream (results/<dataset>/features/<stream>/<backbone>.zarr)
STREAM_BACKBONES: dict[str, tuple[str, ...]] = {
    "visual": ("clip_vit_b32", "clip_vit_l14_336", "resnet18", "resnext101_32x8d", "swinv2_large"),
    "visual_patch": ("clip_vit_b32",),
    "audio": ("panns_cnn14", "panns_cnn14_32k", "vggish"),
    "visual_map": ("resnet18_14x14",),
    "tome": ("tome_vit_l16_384", "tome_vit_s16_224"),
    "text_sentence": ("clip_text_b32", "clip_text_l14_336"),
    "text_words": ("clip_text_b32", "clip_text_l14_336"),
    "prompt_sentence": ("clip_text_b32", "clip_text_l14_336"),
}

# The per-video token streams (rule extract_tokens: `mcd extract-tokens`) and the per-question text
# streams (rule extract_text: `mcd extract-text`).
TOKEN_STREAM_NAMES = ("visual_map", "tome")
TEXT_STREAM_NAMES = ("text_sentence", "text_words", "prompt_sentence")


def backbones_for(stream: str) -> tuple[str, ...]:
    """The backbones that write `stream` (empty for an unknown stream)."""
    return STREAM_BACKBONES.get(stream, ())


def token_streams() -> dict[str, str]:
    """Token backbone -> the one stream it writes."""
    return {b: s for s in TOKEN_STREAM_NAMES for b in STREAM_BACKBONES[s]}
