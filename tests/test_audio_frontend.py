"""The VGGish log-mel front end against an independent librosa computation, and `mcd logmel`."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from mcd_core.media.audio import write_wav
from mcd_core.features.logmel import LogmelSpec, logmel_patches, logmel_shard, mel_matrix
from mcd_core.common.atomic import write_json
from mcd_core.features.merge import failures_path
from mcd_core.features.store import open_store


def librosa_logmel(samples: np.ndarray, seconds: int) -> np.ndarray:
    """librosa's STFT (window centred in a 512 frame, so shift by 56 samples) + htk mel, no norm."""
    wave = samples.astype(np.float64) / 32768.0
    bank = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64, fmin=125, fmax=7500, htk=True, norm=None)
    patches = []
    for i in range(seconds):
        second = np.pad(wave[i * 16000:(i + 1) * 16000], (56, 56))
        mag = np.abs(librosa.stft(second, n_fft=512, hop_length=160, win_length=400, window="hann",
                                  center=False))[:, :96]
        patches.append(np.log(bank @ mag + 0.01).T)
    return np.stack(patches)


@pytest.fixture(scope="module")
def noise():
    return (np.random.default_rng(0).standard_normal(3 * 16000) * 4000).astype(np.int16)


def test_librosa_filterbank_matches_librosa_exactly(noise):
    ours = logmel_patches(noise, 3, LogmelSpec(filterbank="librosa_htk"))
    assert ours.shape == (3, 96, 64) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, librosa_logmel(noise, 3), atol=1e-4)


def test_vggish_filterbank_is_close_to_librosa_and_peaks_at_band_centres(noise):
    ours = logmel_patches(noise, 3)
    diff = np.abs(ours - librosa_logmel(noise, 3))
    assert diff.max() < 0.02 and diff.mean() < 0.005
    weights = mel_matrix()
    assert weights.shape == (257, 64) and not weights[0].any()
    bins_hz = np.linspace(0, 8000, 257)
    assert not weights[(bins_hz < 125) | (bins_hz > 7500)].any()  # nothing outside 125-7500 Hz
    assert (weights.max(axis=0) > 0.5).all()  # every band catches at least one FFT bin


def test_each_patch_sees_only_its_own_second(noise):
    changed = noise.copy()
    changed[2 * 16000:] = 0
    a, b = logmel_patches(noise, 3), logmel_patches(changed, 3)
    np.testing.assert_array_equal(a[:2], b[:2])
    assert not np.allclose(a[2], b[2])


def test_wrong_sample_count_is_an_error():
    with pytest.raises(ValueError, match="48000 samples"):
        logmel_patches(np.zeros(47000, np.int16), 3)


def test_logmel_shard_store_flags_and_failures(tmp_path, noise):
    audio = tmp_path / "audio" / "shard_00000"
    audio.mkdir(parents=True)
    write_wav(audio / "a.wav", noise)
    write_wav(audio / "b.wav", np.zeros(3 * 16000, np.int16))
    failure = {"video_id": "c", "stage": "audio", "error": "audio: c.mp4 is empty"}
    write_json(audio / "manifest.json", {
        "stage": "audio", "seconds": 3, "params": {},
        "videos": {"a": {"length": 3, "no_audio": False}, "b": {"length": 2, "no_audio": True}},
        "failures": [failure]})
    out = tmp_path / "logmel" / "shard_00000.zarr"
    logmel_shard(audio, out)
    store = open_store(out, expect={"stream": "logmel", "backbone": "vggish_frontend"})
    assert store.features.shape == (2, 3, 96, 64)
    assert store.video_ids == ["a", "b"] and list(store.lengths) == [3, 2]
    assert list(store.flags["no_audio"]) == [False, True]
    np.testing.assert_allclose(store.features[0], logmel_patches(noise, 3))
    assert "c.mp4" in failures_path(out).read_text()
