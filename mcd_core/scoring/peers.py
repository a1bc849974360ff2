"""The peer systems (AVST, PSTP-Net, TSPM) as table rows and as runs: each peer architecture's
method label, the visual backbone its runs use, and the feature stores a run reads beyond `--audio`
and `--visual` (its architecture's declared `inputs`). Torch-free: the Snakefile reads it at parse
time to plan each run's extraction jobs and `--input KEY=PATH` flags.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    label: str                      # method name in the tables
    visual: str                     # visual backbone of its runs (run tag <visual>-<audio>)
    visual_stream: str = "visual"   # stream of the store passed as --visual ("visual_patch": patch tokens)


# keyed by architecture name (a peer's variants, e.g. pstp_net_released, share its entry)
PEERS: dict[str, Peer] = {
    "avst": Peer("AVST", "resnet18"),
    "pstp_net": Peer("PSTP-Net", "clip_vit_b32", "visual_patch"),
    "tspm": Peer("TSPM", "clip_vit_l14_336"),
}

# Token stores and the stream each token backbone writes (features/backbones/tokens.py; the test
# suite keeps the two equal), and the per-question text streams (data/text_stores.py).
TOKEN_STREAMS = {"resnet18_14x14": "visual_map", "tome_vit_l16_384": "tome"}
TEXT_STREAMS = ("text_sentence", "text_words", "prompt_sentence")


def _architecture(variant: str):
    from mcd_core.models.registry import get_architecture, get_variant

    return get_architecture(get_variant(variant).architecture)


def peer_of(variant: str) -> Peer | None:
    """The peer whose architecture `variant` belongs to; None for MCD and the baselines."""
    return PEERS.get(_architecture(variant).name)


def method_label(variant: str) -> str:
    """A variant's name in the tables: MCD, MCD[variant], AVST, PSTP-Net[pstp_net_released], ..."""
    arch = _architecture(variant).name
    peer = PEERS.get(arch)
    name, default = (peer.label, arch) if peer else ("MCD", "mcd")
    return name if variant == default else f"{name}[{variant}]"


def run_visual(variant: str, configured: str) -> str:
    """The visual backbone of `variant`'s runs: a peer's own, else the dataset's configured one."""
    peer = peer_of(variant)
    return peer.visual if peer else configured


def visual_store(dataset: str, variant: str, visual: str) -> str:
    """The store a run passes as --visual: the backbone's pooled store, or its patch store."""
    peer = peer_of(variant)
    stream = peer.visual_stream if peer else "visual"
    return f"results/{dataset}/features/{stream}/{visual}.zarr"


def input_stores(dataset: str, variant: str) -> dict[str, str]:
    """`--input` KEY -> store path of every store the variant's architecture declares."""
    return {i.key: f"results/{dataset}/features/{i.stream}/{i.backbone}.zarr"
            for i in _architecture(variant).inputs}


def video_input_stores(dataset: str, variant: str) -> list[str]:
    """The declared stores keyed by video id (their failure lists say which videos they lost)."""
    return [f"results/{dataset}/features/{i.stream}/{i.backbone}.zarr"
            for i in _architecture(variant).inputs if i.per == "video"]


def input_backbones(variant: str) -> list[str]:
    """Backbones (weight sources) of the stores the variant declares."""
    return sorted({i.backbone for i in _architecture(variant).inputs})
