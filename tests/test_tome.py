"""Token merging (features/backbones/tome.py): TSPM's 577 -> 14 schedule, sizes, weighted averages,
proportional attention, and the plain ViT when nothing merges."""

from __future__ import annotations

import pytest
import torch
from timm.models.vision_transformer import Attention, VisionTransformer

from mcd_core.features.backbones.tome import (ToMeViT, bipartite_soft_matching, merge_weighted,
                                              proportional_attention, tsp_schedule)


@pytest.fixture(scope="module")
def tiny_vit():
    """ViT-L/16-384's token grid (24 x 24 patches + CLS = 577) and depth (24), at width 16."""
    torch.manual_seed(0)
    return VisionTransformer(img_size=384, patch_size=16, embed_dim=16, depth=24, num_heads=2,
                             num_classes=0).eval()


def test_tspm_schedule_takes_577_tokens_to_14_and_sizes_add_up(tiny_vit):
    model = ToMeViT(tiny_vit, tsp_schedule())
    with torch.no_grad():
        out = model(torch.randn(2, 3, 384, 384))
    assert out.shape == (2, 14, 16)
    # r = 25 while at least 25 pairs can merge, then capped at half the mergeable tokens; block 24 none
    assert model.trace == [577 - 25 * k for k in range(22)] + [27, 14, 14]
    assert model.last_size.shape == (2, 14, 1)
    assert torch.allclose(model.last_size.sum(dim=1), torch.full((2, 1), 577.0))
    assert torch.all(model.last_size[:, 0] == 1)   # the class token never merges


def test_without_merging_it_is_the_plain_vit(tiny_vit):
    x = torch.randn(1, 3, 384, 384)
    with torch.no_grad():
        assert torch.allclose(ToMeViT(tiny_vit, [0] * 24)(x), tiny_vit.forward_features(x), atol=1e-5)


def test_merging_identical_tokens_keeps_their_value_and_adds_sizes():
    torch.manual_seed(1)
    x = torch.randn(1, 7, 4)
    x[0, 2] = x[0, 1]            # token 2 (set A) is a copy of token 1 (set B): their link is the strongest
    merge, r = bipartite_soft_matching(x, 1, class_token=True)
    size = torch.ones(1, 7, 1)
    merged, new_size = merge_weighted(merge, x, size)
    assert r == 1 and merged.shape == (1, 6, 4)
    row = (merged[0] - x[0, 1]).abs().sum(dim=-1).argmin()
    assert torch.allclose(merged[0, row], x[0, 1]) and new_size[0, row, 0] == 2
    assert torch.allclose(merged[0, 0], x[0, 0])       # CLS first and untouched
    assert new_size.sum() == 7


def test_size_weighted_average_of_unequal_tokens():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.9, 0.1])
    x = torch.stack([torch.tensor([0.0, 5.0]), b, a])[None]   # CLS, then B, then A (positions 0, 1, 2)
    merge, _ = bipartite_soft_matching(x, 1, class_token=True)
    size = torch.tensor([[[1.0], [3.0], [1.0]]])
    merged, new_size = merge_weighted(merge, x, size)
    assert torch.allclose(merged[0, 1], (3 * b + a) / 4) and new_size[0, 1, 0] == 4


def test_proportional_attention_equals_attention_over_the_duplicated_tokens():
    torch.manual_seed(2)
    attn = Attention(8, num_heads=2).eval()
    x = torch.randn(1, 3, 8)
    dup = torch.cat([x, x[:, 2:3]], dim=1)               # token 2 twice, each of size 1
    with torch.no_grad():
        merged, _ = proportional_attention(attn, x, torch.tensor([[[1.0], [1.0], [2.0]]]))
        plain, _ = proportional_attention(attn, dup, torch.ones(1, 4, 1))
        assert torch.allclose(plain, attn(dup), atol=1e-6)   # size 1 everywhere: timm's attention
    assert torch.allclose(merged, plain[:, :3], atol=1e-6)
