"""Every backbone's weight source, registered: the backbone modules register theirs on import; and
the check that a state dict fits the network a source's weights are for.

Kept apart from `weights.py` (which the backbone modules import) so that no import runs in a circle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

# Keys and shape mismatches named in a refusal.
SHOWN_KEYS = 3


def load_all_registries() -> None:
    """Import the backbone modules, which register their weight sources."""
    from mcd_core.features.backbones import audio, text, tokens, visual  # noqa: F401


def network_builder(name: str) -> tuple[Callable[[], Any], tuple[str, ...]] | None:
    """(build the randomly initialised network that weights source `name` is loaded into, key
    prefixes of a file that are not its parameters); None for a source without one (a test's)."""
    from mcd_core.features.backbones import audio, motion, text, tokens, visual

    for table in (visual.VISUAL_BACKBONES, tokens.TOKEN_BACKBONES, motion.CLIP_BACKBONES):
        if name in table:
            return table[name].build, ()
    if name in audio.AUDIO_BACKBONES:
        return audio.AUDIO_BACKBONES[name].build, audio.AUDIO_BACKBONES[name].ignored_keys
    if name in text.TEXT_BACKBONES:
        return (lambda: text._text_tower(text.TEXT_BACKBONES[name].model_config)), ()
    return None


def _shape(value: Any) -> list[int]:
    return list(getattr(value, "shape", ()))


def fit_problem(expected: Mapping[str, Any], state: Mapping[str, Any]) -> str | None:
    """What keeps `state` from loading strictly into a network whose state dict is `expected`: the
    first missing and unexpected keys and the first shape mismatch (None: it fits)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = next((k for k in expected if k in state and _shape(expected[k]) != _shape(state[k])), None)
    parts = []
    for label, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            shown = ", ".join(keys[:SHOWN_KEYS]) + (", ..." if len(keys) > SHOWN_KEYS else "")
            parts.append(f"{len(keys)} {label} key(s) ({shown})")
    if wrong is not None:
        parts.append(f"shape of {wrong}: file {_shape(state[wrong])}, network {_shape(expected[wrong])}")
    return "; ".join(parts) or None


def check_fits(name: str, state: Mapping[str, Any], file: Path) -> None:
    """WeightsError naming `file` when `state` does not fit the network of source `name` (built
    randomly initialised, on the CPU); sources without a network pass (the VGGish PCA parameters
    are checked by building their module)."""
    import torch

    from mcd_core.features.backbones.weights import WeightsError

    if name == "vggish_pca":
        from mcd_core.features.backbones.vggish import VGGishPCA

        try:
            VGGishPCA(state)
        except (KeyError, WeightsError) as exc:
            raise WeightsError(f"{file}: does not hold the VGGish PCA parameters ({exc})") from None
        return
    builder = network_builder(name)
    if builder is None:
        return
    build, ignored = builder
    with torch.random.fork_rng(devices=[]):
        expected = build().state_dict()
    state = {k: v for k, v in state.items() if not (ignored and k.startswith(ignored))}
    problem = fit_problem(expected, state)
    if problem:
        raise WeightsError(f"{file}: does not fit the network of {name!r}: {problem}")
