"""Visual registry: every backbone builds, emits its streams, and owns correct preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mcd_core.features.backbones.image_preprocess import IMAGENET_MEAN, ImageInputError, ImagePreprocess
from mcd_core.features.backbones.visual import VISUAL_BACKBONES, create_visual_backbone
from mcd_core.features.backbones.weights import WeightsError

EXPECTED = {  # name: (dim, patch tokens, input size)
    "resnet18": (512, 0, 224),
    "resnext101_32x8d": (2048, 0, 224),
    "clip_vit_b32": (512, 49, 224),
    "clip_vit_l14_336": (768, 0, 336),
    "swinv2_large": (1536, 0, 256),
}
SLOW = {"clip_vit_l14_336", "swinv2_large"}  # 20-30 s each for one image on a shared 2-core CPU


def test_registry_lists_every_backbone():
    assert set(VISUAL_BACKBONES) == set(EXPECTED)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(EXPECTED)])
def test_backbone_builds_and_emits_finite_features(name):
    dim, patches, size = EXPECTED[name]
    model, preprocess, spec = create_visual_backbone(name, weights="random-init", seed=0)
    assert (spec.dim, spec.patch_tokens, spec.input_size) == (dim, patches, size)
    frame = np.random.default_rng(0).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    image = preprocess(frame)
    assert image.shape == (3, size, size)
    with torch.inference_mode():
        out = model(image[None])
    assert set(out) == set(spec.streams)
    assert out["visual"].shape == (1, dim)
    if patches:
        assert out["visual_patch"].shape == (1, patches, dim)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_clip_streams_are_projected_cls_and_projected_patch_tokens():
    model, _, _ = create_visual_backbone("clip_vit_b32", seed=1)
    tower = model.visual
    images = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        out = model(images)
        x = tower.ln_post(tower.transformer(tower._embeds(images)))
    torch.testing.assert_close(out["visual"], x[:, 0] @ tower.proj)
    torch.testing.assert_close(out["visual_patch"], x[:, 1:] @ tower.proj)


def test_unknown_backbone_is_named():
    with pytest.raises(WeightsError, match="'resnet50'"):
        create_visual_backbone("resnet50")


def test_preprocess_resizes_short_side_crops_centre_and_normalises():
    prep = ImagePreprocess(resize=8, crop=4, interpolation="bilinear", mean=IMAGENET_MEAN,
                           std=(0.5, 0.5, 0.5))
    # 16 x 32 image: left half black, right half white; short side 16 -> 8, so 8 x 16, crop 4 x 4
    # at columns 6..9: two black then two white columns.
    frame = np.zeros((16, 32, 3), np.uint8)
    frame[:, 16:] = 255
    out = prep(frame)
    assert out.shape == (3, 4, 4)
    mean = torch.tensor(IMAGENET_MEAN)[:, None]
    torch.testing.assert_close(out[:, :, 0], ((0 - mean) / 0.5).expand(3, 4))
    torch.testing.assert_close(out[:, :, 3], ((1 - mean) / 0.5).expand(3, 4))


def test_preprocess_accepts_pil_and_array_alike_and_rejects_other_arrays():
    prep = VISUAL_BACKBONES["resnet18"].spec.preprocess
    frame = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    torch.testing.assert_close(prep(frame), prep(Image.fromarray(frame)))
    torch.testing.assert_close(prep(frame), prep(Image.fromarray(frame).convert("RGBA")))
    with pytest.raises(ImageInputError, match="float32"):
        prep(frame.astype(np.float32))
