"""Weights registry: loading local state dicts, integrity errors, and fetching from a URL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from mcd_core.features.backbones.visual import create_visual_backbone
from mcd_core.features.backbones.weights import (WeightSource, WeightsError, fetch, load_weights,
                                        register_source, sha256_file, weights_file)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _tiny_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return nn.Linear(4, 3).state_dict()


def test_pretrained_resnet18_features_equal_a_model_holding_the_state_dict(tmp_path):
    torch.manual_seed(123)
    reference = resnet18(weights=None).eval()
    torch.save(reference.state_dict(), weights_file("resnet18", tmp_path))
    reference.fc = nn.Identity()

    model, _, spec = create_visual_backbone("resnet18", weights="pretrained", weights_dir=tmp_path)
    random_model, _, _ = create_visual_backbone("resnet18", weights="random-init", seed=0)
    images = torch.randn(2, 3, spec.input_size, spec.input_size)
    with torch.inference_mode():
        loaded, expected = model(images)["visual"], reference(images)
        random_features = random_model(images)["visual"]
    torch.testing.assert_close(loaded, expected)
    assert not torch.allclose(random_features, expected)  # the file was really used
    assert model.weights_info == {"file": "resnet18_imagenet1k_v1.pth",
                                  "sha256": sha256_file(weights_file("resnet18", tmp_path))}


def test_random_init_is_seeded_and_recorded():
    a, _, _ = create_visual_backbone("resnet18", seed=7)
    b, _, _ = create_visual_backbone("resnet18", seed=7)
    c, _, _ = create_visual_backbone("resnet18", seed=8)
    wa, wb, wc = (m.net.conv1.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert a.weights_info == {"random_init": True, "seed": 7}


def test_missing_file_names_path_and_fetch_command(tmp_path):
    with pytest.raises(WeightsError) as err:
        load_weights("resnet18", "pretrained", 0, tmp_path)
    message = str(err.value)
    assert str(tmp_path / "resnet18_imagenet1k_v1.pth") in message
    assert "mcd weights fetch resnet18" in message


def test_env_var_sets_the_weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MCD_WEIGHTS_DIR", str(tmp_path))
    assert weights_file("resnet18") == tmp_path / "resnet18_imagenet1k_v1.pth"


def test_bad_mode_and_unknown_name_are_named():
    with pytest.raises(WeightsError, match="'imagenet'"):
        load_weights("resnet18", "imagenet", 0)
    with pytest.raises(WeightsError, match="'no-such-net'"):
        load_weights("no-such-net", "random-init", 0)


def test_registered_sha256_mismatch_is_an_error(tmp_path):
    name = _unique("mismatch")
    register_source(WeightSource(name, f"{name}.pt", "https://example.invalid/x.pt", sha256="0" * 64))
    torch.save(_tiny_state(0), tmp_path / f"{name}.pt")
    with pytest.raises(WeightsError, match="does not match the registered"):
        load_weights(name, "pretrained", 0, tmp_path)


def test_fetch_file_url_converts_hashes_and_loads(tmp_path):
    state = _tiny_state(1)
    checkpoint = tmp_path / "src" / "checkpoint.pth"
    checkpoint.parent.mkdir()
    torch.save({"model": state, "epoch": 3}, checkpoint)
    name = _unique("fetched")
    register_source(WeightSource(name, f"{name}.pth", checkpoint.as_uri(), sha256=sha256_file(checkpoint),
                                 convert=lambda p: torch.load(p, weights_only=True)["model"]))
    dest = tmp_path / "weights"
    path = fetch(name, dest)

    loaded, info = load_weights(name, "pretrained", 0, dest)
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    recorded = (dest / f"{name}.pth.sha256").read_text().split()[0]
    assert recorded == sha256_file(path) == info["sha256"]
    assert sorted(p.name for p in dest.iterdir()) == [f"{name}.pth", f"{name}.pth.sha256"]

    path.write_bytes(path.read_bytes() + b"tampered")  # changed after fetching: caught on load
    with pytest.raises(WeightsError, match="changed after it was fetched"):
        load_weights(name, "pretrained", 0, dest)


def test_fetch_with_wrong_download_hash_leaves_nothing(tmp_path):
    source_file = tmp_path / "plain.pt"
    torch.save(_tiny_state(2), source_file)
    name = _unique("badhash")
    register_source(WeightSource(name, f"{name}.pt", source_file.as_uri(), sha256="f" * 64))
    dest = tmp_path / "weights"
    with pytest.raises(WeightsError, match="registered hash"):
        fetch(name, dest)
    assert list(dest.iterdir()) == []


def test_fetch_plain_download_matches_registered_hash(tmp_path):
    source_file = tmp_path / "plain.pt"
    torch.save(_tiny_state(3), source_file)
    name = _unique("plain")
    register_source(WeightSource(name, f"{name}.pt", source_file.as_uri(), sha256=sha256_file(source_file)))
    path = fetch(name, tmp_path / "weights")
    assert path.read_bytes() == source_file.read_bytes()
    state, info = load_weights(name, "pretrained", 0, tmp_path / "weights")
    assert info == {"file": f"{name}.pt", "sha256": sha256_file(source_file)}


def test_weights_list_covers_every_registered_backbone(tmp_path):
    """`mcd weights list` (what `fetch_weights` fetches) must know the audio backbones as well. A fresh
    process, so that no registry is imported already by other tests."""
    import subprocess
    import sys

    code = "from mcd_core.cli import main; raise SystemExit(main(['weights', 'list', '--weights-dir', %r]))"
    out = subprocess.run([sys.executable, "-c", code % str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout
    listed = {line.split()[0] for line in out.splitlines()}
    assert {"resnet18", "resnext101_32x8d", "clip_vit_b32", "clip_vit_l14_336", "swinv2_large",
            "vggish", "vggish_pca", "panns_cnn14", "panns_cnn14_32k", "resnext101_3d_kinetics",
            # the peers' features (issue 12): token backbones and CLIP text towers
            "resnet18_14x14", "tome_vit_l16_384", "clip_text_b32", "clip_text_l14_336",
            # the small ToMe backbone for demos and quick runs (training.peer_backbones)
            "tome_vit_s16_224"} == listed


def test_file_fingerprint_changes_with_a_new_weights_file(tmp_path):
    """What the extraction rules track: missing, then the fetch-time sha256, then a different file."""
    from mcd_core.features.backbones.weights import file_fingerprint

    assert file_fingerprint("resnet18", tmp_path) == "missing"
    path = weights_file("resnet18", tmp_path)
    torch.save(_tiny_state(0), path)
    plain = file_fingerprint("resnet18", tmp_path)
    assert plain.startswith("size:")
    (tmp_path / (path.name + ".sha256")).write_text(sha256_file(path) + "\n")
    first = file_fingerprint("resnet18", tmp_path)
    assert first == f"sha256:{sha256_file(path)}"
    torch.save(_tiny_state(1), path)
    (tmp_path / (path.name + ".sha256")).write_text(sha256_file(path) + "\n")
    assert file_fingerprint("resnet18", tmp_path) not in (first, "missing")


def test_default_weights_dir_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    """Not beside the installed package: a job finds the weights of the workflow it runs in."""
    from mcd_core.features.backbones.weights import weights_dir_path

    monkeypatch.chdir(tmp_path)
    assert weights_dir_path() == Path("resources/weights")
    assert weights_file("resnet18").resolve() == tmp_path / "resources/weights/resnet18_imagenet1k_v1.pth"


def test_the_torch_free_file_table_matches_every_registered_source():
    """The Snakefile checks weights files at parse time without importing torch, from WEIGHT_FILES."""
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import WEIGHT_FILES, list_sources

    load_all_registries()
    assert {s.name: s.filename for s in list_sources() if s.name in WEIGHT_FILES} == WEIGHT_FILES
    assert {s.name for s in list_sources()} >= set(WEIGHT_FILES)
