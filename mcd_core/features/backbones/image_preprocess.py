"""Image preprocessing of the visual backbones: resize the short side, centre crop, normalise.

Each backbone owns one `ImagePreprocess`; its `describe()` goes into the feature store's
`preprocessing` attribute so that a store says exactly how its frames were prepared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

_INTERPOLATIONS = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}


class ImageInputError(ValueError):
    """An image handed to a preprocessor is not an RGB picture."""


@dataclass(frozen=True)
class ImagePreprocess:
    resize: int                         # short side after resizing (aspect ratio kept)
    crop: int                           # side of the square centre crop, the network's input size
    interpolation: str                  # "bilinear" or "bicubic" (PIL resampling, antialiased)
    mean: tuple[float, float, float]    # per-channel mean subtracted after scaling to [0, 1]
    std: tuple[float, float, float]     # per-channel std divided by after that

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"interpolation {self.interpolation!r} is not one of {sorted(_INTERPOLATIONS)}")
        if self.crop > self.resize:
            raise ValueError(f"crop {self.crop} is larger than the resized short side {self.resize}")

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        """PIL image or uint8 [H, W, 3] array -> normalised float32 tensor [3, crop, crop]."""
        image = _as_rgb_pil(image)
        image = TF.resize(image, self.resize, interpolation=_INTERPOLATIONS[self.interpolation])
        image = TF.center_crop(image, [self.crop, self.crop])
        tensor = TF.pil_to_tensor(image).float().div_(255.0)
        return TF.normalize(tensor, self.mean, self.std)

    def describe(self) -> dict[str, Any]:
        return {"resize_short_side": self.resize, "centre_crop": self.crop,
                "interpolation": self.interpolation, "mean": list(self.mean), "std": list(self.std)}


def _as_rgb_pil(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageInputError(f"expected a uint8 [H, W, 3] array, got {array.dtype} {array.shape}")
    return Image.fromarray(array)  # uint8 [H, W, 3] is RGB


KINETICS_MEAN = (0.43216, 0.394666, 0.37645)   # AVST's 14x14 extractor normalises with these
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class SquashResize:
    """Resize to `size` x `size` without keeping the aspect ratio (no crop), then normalise: the
    transform of AVST's 14x14 extractor (torchvision `Resize([224, 224])`, bilinear)."""

    size: int                           # output side
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"interpolation {self.interpolation!r} is not one of {sorted(_INTERPOLATIONS)}")

    @property
    def crop(self) -> int:  # the network's input side, as for ImagePreprocess
        return self.size

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        """PIL image or uint8 [H, W, 3] array -> normalised float32 tensor [3, size, size]."""
        image = _as_rgb_pil(image)
        image = TF.resize(image, [self.size, self.size], interpolation=_INTERPOLATIONS[self.interpolation])
        tensor = TF.pil_to_tensor(image).float().div_(255.0)
        return TF.normalize(tensor, self.mean, self.std)

    def describe(self) -> dict[str, Any]:
        return {"resize": [self.size, self.size], "keep_aspect": False, "interpolation": self.interpolation,
                "mean": list(self.mean), "std": list(self.std)}
