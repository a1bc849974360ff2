"""The 3D ResNeXt-101 has exactly the parameter names and shapes of the released Kinetics
checkpoint's architecture (Hara et al., resnext.py, ResNeXt-101, cardinality 32, shortcut B), so
that checkpoint loads without renaming; clip sampling follows AVQA's recipe."""

import numpy as np
import torch

from mcd_core.features.backbones.resnext3d import ResNeXt3D, _release_state, clip_frame_indices


def expected_shapes():
    """Written from the public definition: stem, stages [3, 4, 23, 3], widths 128..1024 x2, fc 400."""
    shapes = {"conv1.weight": (64, 3, 7, 7, 7)}
    bn = lambda name, c: {f"{name}.{k}": (c,) for k in ("weight", "bias", "running_mean", "running_var")}  # noqa: E731
    shapes.update(bn("bn1", 64))
    inplanes = 64
    for stage, (blocks, planes) in enumerate(zip((3, 4, 23, 3), (128, 256, 512, 1024)), start=1):
        mid = 32 * (planes // 32)
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            shapes[f"{p}.conv1.weight"] = (mid, inplanes, 1, 1, 1)
            shapes[f"{p}.conv2.weight"] = (mid, mid // 32, 3, 3, 3)
            shapes[f"{p}.conv3.weight"] = (planes * 2, mid, 1, 1, 1)
            for i, c in ((1, mid), (2, mid), (3, planes * 2)):
                shapes.update(bn(f"{p}.bn{i}", c))
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (planes * 2, inplanes, 1, 1, 1)
                shapes.update(bn(f"{p}.downsample.1", planes * 2))
            inplanes = planes * 2
    shapes.update({"fc.weight": (400, 2048), "fc.bias": (400,)})
    return shapes


def test_state_dict_keys_and_shapes_are_the_release_checkpoints(tmp_path):
    model = ResNeXt3D()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert ours == expected_shapes()
    # a checkpoint as released (DataParallel prefix, under `state_dict`, old BatchNorm without
    # num_batches_tracked) loads strictly after the conversion
    state = {f"module.{k}": torch.zeros(s) for k, s in expected_shapes().items()}
    torch.save({"epoch": 200, "arch": "resnext-101", "state_dict": state}, tmp_path / "ckpt.pth")
    model.load_state_dict(_release_state(tmp_path / "ckpt.pth"), strict=True)
    assert sum(p.numel() for p in model.parameters()) > 47_000_000


def test_forward_gives_one_2048_vector_a_clip():
    torch.manual_seed(0)
    model = ResNeXt3D(layers=(1, 1, 1, 1)).eval()   # same stages, fewer blocks: a fast check
    with torch.no_grad():
        out = model(torch.randn(2, 3, 16, 112, 112))
    assert out.shape == (2, 2048) and torch.isfinite(out).all()


def test_eight_clips_centred_at_evenly_spaced_points():
    idx = clip_frame_indices(250)           # a 10 s clip at 25 fps
    assert idx.shape == (8, 16)
    assert (np.diff(idx, axis=1) == 1).all()
    centres = idx[:, 8]
    assert np.allclose(centres, (np.arange(8) + 0.5) * 250 / 8, atol=1)
    short = clip_frame_indices(5)            # shorter than a clip: repeats the ends
    assert short.min() == 0 and short.max() == 4
