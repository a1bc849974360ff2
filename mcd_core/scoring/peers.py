"""The peer systems (AVST, PSTP-Net, TSPM) as table rows and as runs: each peer architecture's
method label, the visual backbone its runs use, and the feature stores a run reads beyond `--audio`
and `--visual` (its architecture's declared `inputs`). Torch-free: the Snakefile reads it at parse
time to plan each run's extraction jobs and `--input KEY=PATH` flags.

A dataset may swap the backbones a peer's runs read (`training.peer_backbones`, keyed by
architecture: `visual` and the declared input keys). The run tag then names them all, so that a
run folder says what it was trained on and a swap is a new run, not a rewrite of the old one:

- declared backbones: `<visual>-<audio>` (e.g. `clip_vit_l14_336-vggish`);
- any input swapped: `<visual>-<audio>+<b1>+...+<bn>`, the backbones of every declared input in
  declaration order (e.g. `clip_vit_b32-vggish+tome_vit_s16_224+clip_text_b32+clip_text_b32`).

The rules read a run's stores back from its tag (`split_tag`, `input_stores`).

A stream the dataset imports (`features` in its config: docs/features.md) serves every peer run
that reads it: `with_imported` swaps each such key to the imported store (`imported_<layout>`),
unless `peer_backbones` names another backbone for it, so the run tag says the run read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from mcd_core.features.backbones.streams import TEXT_STREAM_NAMES, token_streams


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

# Token stores and the stream each token backbone writes (features/backbones/streams.py, kept equal
# to the token registry by the tests), and the per-question text streams (data/text_stores.py).
TOKEN_STREAMS = token_streams()
TEXT_STREAMS = TEXT_STREAM_NAMES

Swaps = Mapping[str, Mapping[str, str]]  # training.peer_backbones: {architecture: {visual|KEY: backbone}}


class TagError(ValueError):
    """A run tag that does not fit its variant's declared inputs."""


def _architecture(variant: str):
    from mcd_core.models.registry import get_architecture, get_variant

    return get_architecture(get_variant(variant).architecture)


def peer_of(variant: str) -> Peer | None:
    """The peer whose architecture `variant` belongs to; None for MCD and the baselines."""
    return PEERS.get(_architecture(variant).name)


def init_variant(variant: str) -> str | None:
    """The variant whose run (same dataset, tag and seed) starts `variant`'s: AVST's grounding stage."""
    from mcd_core.models.registry import get_variant

    return get_variant(variant).init_from


def method_label(variant: str) -> str:
    """A variant's name in the tables: its registered label, else MCD, MCD[variant], AVST,
    PSTP-Net[pstp_net_released], ..."""
    from mcd_core.models.registry import get_variant

    if get_variant(variant).label:
        return get_variant(variant).label
    arch = _architecture(variant).name
    peer = PEERS.get(arch)
    name, default = (peer.label, arch) if peer else ("MCD", "mcd")
    return name if variant == default else f"{name}[{variant}]"


def _swaps_for(variant: str, swaps: Swaps | None) -> Mapping[str, str]:
    return (swaps or {}).get(_architecture(variant).name, {})


def key_streams(architecture: str) -> dict[str, str]:
    """`visual` and each declared input key of an architecture -> the stream that key reads."""
    from mcd_core.models.registry import get_architecture

    arch = get_architecture(architecture)
    patches = getattr(arch.config_cls(), "needs_patches", False)
    return {"visual": "visual_patch" if patches else "visual", **{i.key: i.stream for i in arch.inputs}}


def with_imported(swaps: Swaps | None, imported: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`swaps` (training.peer_backbones) plus, for every peer architecture, each key whose stream
    the dataset imports read from that store (`imported`: stream -> the store's backbone name);
    a key the swaps name keeps their choice."""
    out = {arch: dict(keys) for arch, keys in (swaps or {}).items()}
    for arch in PEERS:
        own = out.setdefault(arch, {})
        for key, stream in key_streams(arch).items():
            if stream in imported and key not in own:
                own[key] = imported[stream]
    return {arch: keys for arch, keys in out.items() if keys}


def run_visual(variant: str, configured: str, swaps: Swaps | None = None) -> str:
    """The visual backbone of `variant`'s runs: the dataset's swap for its architecture, else a
    peer's own, else the dataset's configured one."""
    own = _swaps_for(variant, swaps).get("visual")
    if own:
        return own
    peer = peer_of(variant)
    return peer.visual if peer else configured


def input_backbones_of(variant: str, swaps: Swaps | None = None) -> dict[str, str]:
    """KEY -> backbone of every store the variant's architecture declares, swaps applied."""
    own = _swaps_for(variant, swaps)
    return {i.key: own.get(i.key, i.backbone) for i in _architecture(variant).inputs}


def run_tag(variant: str, visual: str, audio: str, swaps: Swaps | None = None) -> str:
    """The tag of `variant`'s runs on a dataset whose configured backbones are `visual`, `audio`."""
    tag = f"{run_visual(variant, visual, swaps)}-{audio}"
    chosen = input_backbones_of(variant, swaps)
    if chosen != input_backbones_of(variant):
        tag += "".join(f"+{b}" for b in chosen.values())
    return tag


def split_tag(variant: str, tag: str) -> tuple[str, str, dict[str, str]]:
    """(visual, audio, KEY -> backbone of each declared input) of a run tag."""
    base, *named = tag.split("+")
    visual, sep, audio = base.partition("-")
    if not sep or not visual or not audio or "-" in audio:
        raise TagError(f"run tag {tag!r}: expected <visual>-<audio>[+<input backbone>...]")
    declared = input_backbones_of(variant)
    if not named:
        return visual, audio, declared
    if len(named) != len(declared):
        raise TagError(f"run tag {tag!r}: {variant!r} declares {len(declared)} input(s) "
                       f"({', '.join(declared) or 'none'}), the tag names {len(named)}")
    return visual, audio, dict(zip(declared, named))


def visual_store(dataset: str, variant: str, visual: str) -> str:
    """The store a run passes as --visual: the backbone's pooled store, or its patch store."""
    peer = peer_of(variant)
    stream = peer.visual_stream if peer else "visual"
    return f"results/{dataset}/features/{stream}/{visual}.zarr"


def input_stores(dataset: str, variant: str, tag: str | None = None) -> dict[str, str]:
    """`--input` KEY -> store path of every store the variant's architecture declares, with the
    backbones its run tag names (the declared ones without a tag)."""
    chosen = split_tag(variant, tag)[2] if tag else input_backbones_of(variant)
    return {i.key: f"results/{dataset}/features/{i.stream}/{chosen[i.key]}.zarr"
            for i in _architecture(variant).inputs}


def video_input_stores(dataset: str, variant: str, tag: str | None = None) -> list[str]:
    """The declared stores keyed by video id (their failure lists say which videos they lost)."""
    paths = input_stores(dataset, variant, tag)
    return [paths[i.key] for i in _architecture(variant).inputs if i.per == "video"]


def video_streams(variant: str, visual: str, audio: str, swaps: Swaps | None = None) -> dict[str, str]:
    """stream -> backbone of every per-video store `variant`'s runs read: audio, its visual store
    and its declared per-video inputs (per-question text stores are not among them)."""
    peer = peer_of(variant)
    out = {"audio": audio, (peer.visual_stream if peer else "visual"): run_visual(variant, visual, swaps)}
    chosen = input_backbones_of(variant, swaps)
    out.update({i.stream: chosen[i.key] for i in _architecture(variant).inputs if i.per == "video"})
    return out


def input_backbones(variant: str, swaps: Swaps | None = None) -> list[str]:
    """Backbones (weight sources) of the stores the variant reads beyond --audio/--visual."""
    return sorted(set(input_backbones_of(variant, swaps).values()))


def inputs_label(variant: str, tag: str) -> str:
    """The table's `inputs` column of a run: `KEY=backbone` of each declared input ('' for none)."""
    return " ".join(f"{k}={b}" for k, b in split_tag(variant, tag)[2].items())
