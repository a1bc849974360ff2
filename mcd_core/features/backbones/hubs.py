"""The library hubs a weight source's url may name (`torchvision:`, `timm:`, `open_clip:`,
`open_clip_text:`): each downloads and builds the model through its library and gives the state dict
that `fetch` stores. Networked machines only; the libraries are imported when used."""

from __future__ import annotations

from typing import Any, Callable, Mapping


def _torchvision_state(ref: str) -> Mapping[str, Any]:
    from torchvision.models import get_weight

    return get_weight(ref).get_state_dict(progress=True)


def _timm_state(ref: str) -> Mapping[str, Any]:
    import timm

    return timm.create_model(ref, pretrained=True).state_dict()


def _open_clip_state(ref: str) -> Mapping[str, Any]:
    import open_clip

    model_name, tag = ref.split("/", 1)
    # Only the image tower is used for features; storing the text tower would double the file.
    return open_clip.create_model(model_name, pretrained=tag).visual.state_dict()


def text_tower_keys(state: Mapping[str, Any]) -> dict[str, Any]:
    """A whole CLIP state dict -> its text tower's entries (everything but `visual.` and the logit
    scale/bias), named as open_clip's TextTransformer names them."""
    return {k: v for k, v in state.items() if not k.startswith("visual.") and k not in ("logit_scale", "logit_bias")}


def _open_clip_text_state(ref: str) -> Mapping[str, Any]:
    import open_clip

    model_name, tag = ref.split("/", 1)
    return text_tower_keys(open_clip.create_model(model_name, pretrained=tag).state_dict())


# url scheme -> function(reference after the scheme) -> state dict
HUB_FETCHERS: dict[str, Callable[[str], Mapping[str, Any]]] = {
    "torchvision": _torchvision_state,
    "timm": _timm_state,
    "open_clip": _open_clip_state,
    "open_clip_text": _open_clip_text_state,
}
