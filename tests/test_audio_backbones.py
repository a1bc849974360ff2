"""VGGish and PANNs CNN14: shapes, seeded random init, loading state dicts and PCA."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from mcd_core.features.backbones.audio import create_audio_backbone
from mcd_core.features.backbones.panns import LogMel, _release_state
from mcd_core.features.backbones.weights import WeightsError
from mcd_core.features.extract_audio import embed_seconds

torch.set_num_threads(1)
PATCHES = np.random.default_rng(1).standard_normal((3, 96, 64)).astype(np.float32)


@pytest.fixture(scope="module")
def vggish_seed0():
    model, spec, info = create_audio_backbone("vggish", "random-init", seed=0)
    return model, spec, info


def test_vggish_shape_and_seeded_random_init(vggish_seed0):
    model, spec, info = vggish_seed0
    assert (spec.dim, spec.input_kind, info) == (128, "logmel", {"random_init": True, "seed": 0, "init": "he_normal"})
    out = embed_seconds(model, PATCHES, torch.device("cpu"))
    assert out.shape == (3, 128) and out.dtype == np.float32
    again, _, _ = create_audio_backbone("vggish", "random-init", seed=0)
    np.testing.assert_array_equal(out, embed_seconds(again, PATCHES, torch.device("cpu")))
    other, _, _ = create_audio_backbone("vggish", "random-init", seed=1)
    assert not np.allclose(out, embed_seconds(other, PATCHES, torch.device("cpu")))


def test_vggish_parameter_names_follow_the_public_port(vggish_seed0):
    names = set(vggish_seed0[0].state_dict())
    expected = {f"features.{i}.{p}" for i in (0, 3, 6, 8, 11, 13) for p in ("weight", "bias")}
    expected |= {f"embeddings.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    assert names == expected
    assert vggish_seed0[0].state_dict()["embeddings.0.weight"].shape == (4096, 512 * 4 * 6)


def test_vggish_loads_a_state_dict_file_and_applies_pca(vggish_seed0, tmp_path):
    model = vggish_seed0[0]
    state = {k: v + 0.01 for k, v in model.state_dict().items()}  # differs from the seed-0 net
    torch.save(state, tmp_path / "vggish-10086976.pth")
    loaded, _, info = create_audio_backbone("vggish", "pretrained", seed=5, weights_dir=tmp_path)
    assert info["file"] == "vggish-10086976.pth" and len(info["sha256"]) == 64
    model.load_state_dict(state)
    raw = embed_seconds(model, PATCHES, torch.device("cpu"))
    np.testing.assert_array_equal(embed_seconds(loaded, PATCHES, torch.device("cpu")), raw)

    rng = np.random.default_rng(2)
    vectors, means = rng.standard_normal((128, 128)) * 0.05, rng.standard_normal(128) * 0.05
    torch.save({"pca_eigen_vectors": torch.tensor(vectors), "pca_means": torch.tensor(means)},
               tmp_path / "vggish_pca_params.pth")
    with_pca, _, info = create_audio_backbone("vggish", "pretrained", 0, tmp_path, pca=True)
    expected = np.round((np.clip((raw - means) @ vectors.T, -2, 2) + 2) * 255 / 4)
    got = embed_seconds(with_pca, PATCHES, torch.device("cpu"))
    assert info["pca"]["file"] == "vggish_pca_params.pth"
    assert np.abs(got - expected).max() <= 1  # float32 vs float64 may flip a rounding
    assert got.min() >= 0 and got.max() <= 255


def test_wrong_state_dict_is_reported(tmp_path):
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "vggish-10086976.pth")
    with pytest.raises(WeightsError, match="do not fit"):
        create_audio_backbone("vggish", "pretrained", 0, tmp_path)


def test_panns_logmel_matches_librosa():
    wave = np.random.default_rng(3).standard_normal((2, 16000)).astype(np.float32) * 0.1
    ours = LogMel()(torch.from_numpy(wave))[:, 0].numpy()  # (2, frames, 64)
    mel = librosa.feature.melspectrogram(y=wave.astype(np.float64), sr=16000, n_fft=512,
                                         hop_length=160, win_length=512, window="hann", center=True,
                                         pad_mode="reflect", power=2.0, n_mels=64, fmin=50, fmax=8000)
    ref = 10 * np.log10(np.maximum(mel, 1e-10)).transpose(0, 2, 1)
    assert ours.shape == (2, 101, 64)
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_panns_shape_and_release_checkpoint_loading(tmp_path):
    model, spec, _ = create_audio_backbone("panns_cnn14", "random-init", seed=0)
    assert (spec.dim, spec.input_kind) == (2048, "waveform")
    wave = np.random.default_rng(4).standard_normal((2, 16000)).astype(np.float32) * 0.1
    out = embed_seconds(model, wave, torch.device("cpu"))
    assert out.shape == (2, 2048) and (out >= 0).all()  # relu(fc1)
    # A release-style checkpoint is {"model": state} with the fixed front-end tensors included.
    small = {"fc1.bias": torch.ones(2048), "logmel_extractor.melW": torch.zeros(257, 64),
             "spectrogram_extractor.stft.conv_real.weight": torch.zeros(257, 1, 512)}
    torch.save({"model": small}, tmp_path / "release.pth")
    assert set(_release_state(tmp_path / "release.pth")) == {"fc1.bias"}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc1.bias"] += 1.0
    torch.save(state, tmp_path / "panns_cnn14_16k.pth")
    loaded, _, info = create_audio_backbone("panns_cnn14", "pretrained", 0, tmp_path)
    model.load_state_dict(state)
    np.testing.assert_array_equal(embed_seconds(loaded, wave, torch.device("cpu")),
                                  embed_seconds(model, wave, torch.device("cpu")))


def _tones(g: torch.Generator) -> torch.Tensor:
    t = torch.arange(16000) / 16000
    freqs = 100 + 3000 * torch.rand(16, 1, generator=g)
    return 0.1 * torch.sin(2 * torch.pi * freqs * t)                       # 16 one-second tones


@pytest.mark.parametrize("name, make_input", [
    ("vggish", lambda g: torch.randn(16, 96, 64, generator=g) * 2.0),      # log-mel patches
    ("panns_cnn14", _tones),
])
def test_random_init_embeddings_keep_their_spread(name, make_input):
    """Random-init nets are He-initialised (recorded), so their embeddings differ across inputs by
    O(1): with PyTorch's default init the spread was ~1e-4 (VGGish 4e-4, PANNs 3e-5), invisible to
    a downstream linear layer."""
    model, _, info = create_audio_backbone(name, "random-init", seed=0)
    assert info == {"random_init": True, "seed": 0, "init": "he_normal"}
    with torch.no_grad():
        emb = model(make_input(torch.Generator().manual_seed(1))).reshape(16, -1).double()
    assert emb.std(dim=0).mean() > 0.1
