"""The peers' feature stores: AVST's 14x14 maps, TSPM's ToMe tokens (`mcd extract-tokens`) and the
per-question CLIP text and prompt stores (`mcd extract-text`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from timm.models.vision_transformer import VisionTransformer
from torchvision.models import resnet18
from torchvision.transforms import functional as TF

from mcd_core.cli import main
from mcd_core.data.questions import AnnotationError
from mcd_core.data.text_stores import TextJob, extract_text
from mcd_core.features.backbones import text as text_backbones
from mcd_core.features.backbones import tokens as token_backbones
from mcd_core.features.backbones.image_preprocess import KINETICS_MEAN, KINETICS_STD
from mcd_core.features.backbones import weights
from mcd_core.features.backbones.weights import WeightSource
from mcd_core.features.merge import failures_path
from mcd_core.features.store import open_store
from mcd_core.scoring import peers

from plugins import toy_format  # noqa: F401  (registers the "toy" format)
from test_extract_visual import make_frames_shard


def test_token_and_text_registries_match_the_torch_free_tables():
    from mcd_core.cli import peer_features

    assert {n: e.spec.stream for n, e in token_backbones.TOKEN_BACKBONES.items()} == peers.TOKEN_STREAMS
    assert set(peer_features.TOKEN_BACKBONES) == set(token_backbones.TOKEN_BACKBONES)
    assert set(peer_features.TEXT_BACKBONES) == set(text_backbones.TEXT_BACKBONES)
    assert set(peer_features.TEXT_STREAMS) == set(peers.TEXT_STREAMS)


def test_14x14_transform_squashes_without_crop_and_uses_kinetics_stats():
    spec = token_backbones.get_token_entry("resnet18_14x14").spec
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 80, 3), dtype=np.uint8))
    out = spec.preprocess(image)
    assert out.shape == (3, 224, 224)
    manual = TF.normalize(TF.pil_to_tensor(image.resize((224, 224), Image.BILINEAR)).float() / 255,
                          KINETICS_MEAN, KINETICS_STD)
    assert torch.allclose(out, manual, atol=0.05)        # the whole frame, stretched (not cropped)
    assert spec.preprocess.describe()["keep_aspect"] is False


def test_14x14_maps_are_layer4_at_stride_one_row_major(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"00000001": 3, "00000002": 2}, seconds=3)
    out = tmp_path / "map" / "shard_00000.zarr"
    assert main(["extract-tokens", "--frames", str(frames), "--backbone", "resnet18_14x14", "--weights",
                 "random-init", "--seed", "0", "--device", "cpu", "--workers", "0", "--batch-size", "4",
                 "--out", str(out)]) == 0
    store = open_store(out, expect={"stream": "visual_map", "backbone": "resnet18_14x14", "seconds": 3})
    assert store.features.shape == (2, 3, 196, 512) and store.features.dtype == np.float16
    assert list(store.lengths) == [3, 2] and failures_path(out).is_file()
    # the same network by hand: torchvision ResNet-18 (seed 0), layer4's first block at stride 1
    torch.manual_seed(0)
    net = resnet18(weights=None).eval()
    net.layer4[0].conv1.stride = net.layer4[0].downsample[0].stride = (1, 1)
    spec = token_backbones.get_token_entry("resnet18_14x14").spec
    with Image.open(frames / "00000002" / "001.jpg") as image:
        x = spec.preprocess(image.convert("RGB"))[None]
    with torch.no_grad():
        fmap = net.layer4(net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(x))))))))
    assert fmap.shape == (1, 512, 14, 14)
    row = torch.from_numpy(np.asarray(store.features[1, 1], dtype=np.float32))
    assert torch.allclose(row.reshape(14, 14, 512).permute(2, 0, 1), fmap[0], rtol=1e-2, atol=1e-2)


@pytest.fixture
def tiny_tome(monkeypatch):
    """The ToMe backbone with ViT-L/16-384's grid and depth at width 16 (the real one is 300 M)."""
    entry = token_backbones.get_token_entry("tome_vit_l16_384")
    spec = token_backbones.TokenSpec("tome_tiny", "tome", 14, 16, entry.spec.preprocess, entry.spec.frames)
    source = WeightSource("tome_tiny", "tome_tiny.pth", "file:///nonexistent")
    build = lambda: VisionTransformer(img_size=384, patch_size=16, embed_dim=16, depth=24, num_heads=2)  # noqa: E731
    monkeypatch.setitem(token_backbones.TOKEN_BACKBONES, "tome_tiny",
                        token_backbones.TokenEntry(spec, source, build, entry.adapter))
    monkeypatch.setitem(weights._SOURCES, "tome_tiny", source)
    return spec


def test_tome_tokens_read_one_frame_per_second(tmp_path, tiny_tome):
    """TSPM picks its top-k of all T seconds, so its ToMe store holds every second of the frames stage
    (sorted by second), not the released extractor's 10 frames."""
    from mcd_core.features.extract_tokens import TokenJob, extract_tokens

    frames = make_frames_shard(tmp_path / "frames", {"00000001": 12, "00000002": 5}, seconds=12)
    out = tmp_path / "tome.zarr"
    assert extract_tokens(TokenJob(frames, "tome_tiny", out, device="cpu", workers=0, batch_size=7))
    store = open_store(out, expect={"stream": "tome", "seconds": 12})
    assert store.features.shape == (2, 12, 14, 16)
    assert store.attrs["frame_seconds"] == list(range(12)) and store.attrs["frame_order"] == "every second"
    assert list(store.lengths) == [12, 5]
    model, preprocess, _ = token_backbones.create_token_backbone("tome_tiny")
    with Image.open(frames / "00000002" / "009.jpg") as image, torch.no_grad():
        direct = model(preprocess(image.convert("RGB"))[None])["tome"][0]
    assert torch.allclose(torch.from_numpy(store.features[1, 9]), direct, atol=1e-5)
    assert not extract_tokens(TokenJob(frames, "tome_tiny", out, device="cpu", workers=0))  # complete


def test_a_backbone_of_fixed_frames_reads_them_evenly_spaced_over_the_sorted_seconds():
    spec = token_backbones.TokenSpec("ten", "tome", 14, 16, None, 10)
    steps = token_backbones.frame_steps(spec, 12)
    assert steps == [0, 1, 2, 4, 5, 6, 7, 9, 10, 11] and steps == sorted(steps)
    assert token_backbones.frame_steps(token_backbones.TokenSpec("all", "tome", 14, 16, None), 12) == list(range(12))


@pytest.fixture
def tiny_text(monkeypatch):
    """A one-layer CLIP-like text tower of width 32 (joint space 24) with the real BPE tokenizer."""
    from open_clip.model import _build_text_tower

    spec = text_backbones.TextSpec("text_tiny", "ViT-B-32-quickgelu", 24)
    source = WeightSource("text_tiny", "text_tiny.pth", "file:///nonexistent")
    monkeypatch.setitem(text_backbones.TEXT_BACKBONES, "text_tiny", spec)
    monkeypatch.setitem(weights._SOURCES, "text_tiny", source)
    monkeypatch.setattr(text_backbones, "_text_tower", lambda name: _build_text_tower(
        24, {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}, quick_gelu=True))
    return spec


def _toy_file(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records))
    return path


def test_text_stores_are_keyed_by_question_id(tmp_path, tiny_text):
    odd_id = "q 7/'it\"s'"   # a question id that needs quoting in a shell or a path
    train = _toy_file(tmp_path / "train.json", [
        {"qid": odd_id, "video": "a", "kind": "Sound", "text": "is it loud?", "answer": "yes"},
        {"qid": "q2", "video": "b", "kind": "Sight", "text": "is the violin on the left bright?", "answer": "no"}])
    test = _toy_file(tmp_path / "test.json", [
        {"qid": "q2", "video": "b", "kind": "Sight", "text": "is the violin on the left bright?", "answer": "no"},
        {"qid": "q3", "video": "c", "kind": "Sight", "text": "red?", "answer": "yes"}])
    outs = {"text_sentence": tmp_path / "s.zarr", "text_words": tmp_path / "w.zarr"}
    extract_text(TextJob([train, test], "text_tiny", outs, format="toy"))
    sentence = open_store(outs["text_sentence"], expect={"keyed_by": "question", "seconds": 1, "dim": 24})
    words = open_store(outs["text_words"], expect={"keyed_by": "question", "seconds": 77})
    assert sentence.video_ids == words.video_ids == [odd_id, "q2", "q3"]   # q2 once, first-seen order
    encoder, _ = text_backbones.create_text_backbone("text_tiny")
    direct = encoder(["is it loud?", "is the violin on the left bright?", "red?"])
    assert np.allclose(sentence.features[:, 0], direct.sentence, atol=1e-5)
    assert list(words.lengths) == list(direct.lengths) and words.lengths[2] == 4   # SOT red ? EOT
    tokens = words.features[...]
    eot = tokens[np.arange(3), words.lengths.astype(int) - 1]
    assert np.allclose(eot, sentence.features[:, 0], atol=1e-5)    # the sentence feature is the EOT token
    assert np.all(tokens[2, 4:] != 0)                               # padding positions are still encoded

    clash = _toy_file(tmp_path / "val.json", [{"qid": "q3", "video": "c", "kind": "Sight", "text": "blue?",
                                               "answer": "no"}])
    with pytest.raises(AnnotationError, match="question id q3 has different texts"):
        extract_text(TextJob([test, clash], "text_tiny", {"text_sentence": tmp_path / "x.zarr"}, format="toy"))
    assert not (tmp_path / "x.zarr").exists()


def test_prompt_store_encodes_each_questions_prompt(tmp_path, tiny_text):
    from mcd_core.data.prompts import build_prompt

    records = [{"video_id": "00000001", "question_id": 11, "type": '["Audio-Visual", "Location"]',
                "question_content": "What is the <LR> instrument of the <FL> sounding instrument?",
                "templ_values": '["left", "first"]', "question_deleted": 0, "anser": "piano"},
               {"video_id": "00000001", "question_id": 12, "type": '["Audio", "Counting"]',
                "question_content": "How many sounding <Object> in the video？", "templ_values": '["piano"]',
                "question_deleted": 0, "anser": "one"}]
    path = _toy_file(tmp_path / "q.json", records)
    out = tmp_path / "p.zarr"
    extract_text(TextJob([path], "text_tiny", {"prompt_sentence": out}))
    store = open_store(out, expect={"stream": "prompt_sentence", "keyed_by": "question"})
    prompts = [build_prompt(r["question_content"], json.loads(r["templ_values"])) for r in records]
    assert prompts[0] == "There is a musical instrument on the left of the first sounding instrument."
    encoder, _ = text_backbones.create_text_backbone("text_tiny")
    assert np.allclose(store.features[:, 0], encoder(prompts).sentence, atol=1e-5)
    assert store.video_ids == ["11", "12"]


def test_extract_text_cli_rejects_a_bad_out_item(tmp_path, capsys):
    rc = main(["extract-text", "--annotations", str(tmp_path / "q.json"), "--backbone", "clip_text_b32",
               "--weights", "random-init", "--out", "text_words"])
    assert rc == 2 and "--out expects STREAM=PATH" in capsys.readouterr().err


@pytest.mark.slow
def test_real_size_tome_and_text_towers_give_the_contract_shapes(tmp_path):
    """The registered (not tiny) networks, randomly initialised: ViT-L/16-384 merges to 14 tokens of
    1024; the ViT-L/14@336 text tower gives 768-d sentence features."""
    from mcd_core.features.extract_tokens import TokenJob, extract_tokens

    frames = make_frames_shard(tmp_path / "frames", {"00000001": 2}, seconds=2)
    out = tmp_path / "tome.zarr"
    extract_tokens(TokenJob(frames, "tome_vit_l16_384", out, device="cpu", workers=0, batch_size=10))
    store = open_store(out, expect={"stream": "tome", "backbone": "tome_vit_l16_384", "dim": 1024,
                                    "weights": {"random_init": True, "seed": 0}})
    assert store.features.shape == (1, 2, 14, 1024)   # one frame per second
    encoder, spec = text_backbones.create_text_backbone("clip_text_l14_336")
    got = encoder(["The piano is playing in the video."])
    assert got.sentence.shape == (1, 768) and got.words.shape == (1, 77, 768) and spec.dim == 768
