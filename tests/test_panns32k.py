"""PANNs Cnn14 at 32 kHz (AVQA's audio): the 16 kHz network's layers with the official 32 kHz front
end; clip-level and per-second embeddings."""

import torch

from mcd_core.features.backbones.panns import (FRONT_END_32K, Cnn14_16k, Cnn14_32k, PANNS_32K_SOURCE,
                                               embed_clip)


def test_32k_front_end_is_the_official_one_and_the_keys_match_the_16k_release():
    assert (FRONT_END_32K.sample_rate, FRONT_END_32K.window, FRONT_END_32K.hop, FRONT_END_32K.mel_bins,
            FRONT_END_32K.fmin, FRONT_END_32K.fmax) == (32000, 1024, 320, 64, 50.0, 14000.0)
    assert PANNS_32K_SOURCE.filename == "Cnn14_mAP=0.431.pth"
    a, b = Cnn14_32k().state_dict(), Cnn14_16k().state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    assert Cnn14_32k().logmel.mel.shape == (513, 64)


def test_clip_and_per_second_embeddings():
    torch.manual_seed(0)
    model = Cnn14_32k().eval()
    wave = torch.randn(3 * 32000 + 100) * 0.1
    with torch.no_grad():
        clip = embed_clip(model, wave)
        frames = model.logmel(wave[None]).shape[2]
        per_second = embed_clip(model, wave, per_second=True)
    assert clip.shape == (1, 2048) and per_second.shape == (3, 2048)
    assert frames == (3 * 32000 + 100) // 320 + 1            # hop 320, centred frames
    assert not torch.allclose(per_second[0], per_second[1])
