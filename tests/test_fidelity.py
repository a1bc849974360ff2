"""Issue 10's fidelity points: the missing ablation variants, f_q's projection, random-k sampling,
and the model card's Table VIII setting."""

import pytest
import torch

from mcd_core.models import ConfigError, build_model, get_variant, list_variants
from mcd_core.models.mcd.config import MCDConfig
from mcd_core.training.config import TrainConfig
from mcd_core.training.sampling import sample_frames

from test_models import batch, tiny

NEW_VARIANTS = {
    "mcd_attn_self_v": {"self_attn_visual": True, "self_attn_audio": False,
                        "cross_audio_query": False, "cross_visual_query": False},
    "mcd_attn_cross_vq": {"self_attn_visual": False, "self_attn_audio": False,
                          "cross_audio_query": False, "cross_visual_query": True},
    "mcd_late_concat_a": {"late_fusion": "concat", "late_fusion_streams": "a"},
    "mcd_late_concat_v": {"late_fusion": "concat", "late_fusion_streams": "v"},
    "mcd_late_add_a": {"late_fusion": "add", "late_fusion_streams": "a"},
    "mcd_late_add_v": {"late_fusion": "add", "late_fusion_streams": "v"},
    "mcd_no_sa": {"lambda_qv": 0.0, "lambda_qa": 0.0, "lambda_av": 0.0},
    "mcd_time": {"positional": "sinusoidal"},
    "mcd_assoc_matrix": {"cross_product": "matrix"},
    "mcd_eq6_sentence": {"aggregator_text_keys": "sentence"},
    "mcd_fq_raw": {"question_proj": "none"},
}


@pytest.mark.parametrize("name", sorted(NEW_VARIANTS))
def test_new_variants_are_registered_with_their_switches(name):
    assert name in list_variants()
    cfg = tiny(name)
    for field, value in NEW_VARIANTS[name].items():
        assert getattr(cfg, field) == value, (name, field)


def test_late_fusion_streams_change_the_refinement_width():
    widths = {name: build_model(tiny(name)).late.refine.in_features
              for name in ("mcd_late_concat", "mcd_late_concat_a", "mcd_late_concat_v", "mcd_late_add_v")}
    assert widths == {"mcd_late_concat": 48, "mcd_late_concat_a": 32, "mcd_late_concat_v": 32,
                      "mcd_late_add_v": 16}


def test_late_fusion_audio_only_ignores_the_visual_embedding():
    torch.manual_seed(0)
    model = build_model(tiny("mcd_late_concat_a")).eval()
    late = model.late
    f_q, g_a = torch.randn(2, 16), torch.randn(2, 16)
    out1 = late(f_q, torch.randn(2, 16), g_a)
    out2 = late(f_q, torch.randn(2, 16), g_a)
    assert torch.allclose(out1, out2)


def test_mcm_without_sa_has_no_contrastive_terms():
    out = build_model(tiny("mcd_no_sa"))(batch())
    assert out.contrast == []
    assert len(build_model(tiny("mcd"))(batch()).contrast) == 3


def test_question_projection_follows_the_paper_by_default():
    assert MCDConfig().question_proj == "linear"
    torch.manual_seed(0)
    model = build_model(tiny("mcd"))
    assert isinstance(model.question_proj, torch.nn.Linear)
    assert build_model(tiny("mcd_fq_raw")).question_proj is None
    with pytest.raises(ConfigError, match="question_proj"):
        MCDConfig(question_proj="mlp").validate()


def test_random_frames_draws_k_real_seconds_in_order_and_keeps_streams_aligned():
    T, D = 8, 3
    steps = torch.arange(T, dtype=torch.float32)[None, :, None].expand(3, T, D)   # value = second index
    b = {"audio": steps.clone(), "visual": steps.clone() + 100,
         "audio_len": torch.tensor([8, 5, 2]), "visual_len": torch.tensor([8, 5, 2]), "answer": torch.zeros(3)}
    g = torch.Generator().manual_seed(0)
    out = sample_frames(b, 4, g)
    assert out["audio"].shape == (3, 4, D) and out["visual"].shape == (3, 4, D)
    assert out["audio_len"].tolist() == [4, 4, 2]
    for i, n in enumerate([8, 5, 2]):
        kept = out["audio"][i, : int(out["audio_len"][i]), 0]
        assert (kept[1:] > kept[:-1]).all()                       # time order, no repeats
        assert (kept < n).all()                                   # only real seconds
        assert torch.equal(out["visual"][i, : len(kept), 0] - 100, kept)  # same seconds for both
    draws = {tuple(sample_frames(b, 4, g)["audio"][0, :, 0].tolist()) for _ in range(20)}
    assert len(draws) > 1                                         # random across steps


def test_random_frames_is_a_training_option_off_by_default():
    assert TrainConfig().random_frames == 0
    with pytest.raises(ConfigError, match="random_frames"):
        TrainConfig(random_frames=-1)


def test_random_frames_draw_whole_seconds_of_patch_streams():
    # PSTP-Net's visual stream carries patch tokens: (B, T, P, D)
    T, P, D = 6, 4, 2
    seconds = torch.arange(T, dtype=torch.float32)[None, :, None, None].expand(2, T, P, D).clone()
    seconds += torch.arange(P, dtype=torch.float32)[None, None, :, None] / 10      # patch p adds p/10
    b = {"audio": seconds[:, :, 0].clone(), "visual": seconds, "audio_len": torch.tensor([6, 3]),
         "visual_len": torch.tensor([6, 3])}
    out = sample_frames(b, 2, torch.Generator().manual_seed(1))
    assert out["visual"].shape == (2, 2, P, D)
    for i in range(2):
        for j in range(2):
            second = out["audio"][i, j, 0]
            assert torch.allclose(out["visual"][i, j, :, 0], second + torch.arange(P) / 10)  # one whole second


@pytest.mark.parametrize("variant, ok", [("pstp_net", True), ("qav", True), ("avst", False), ("tspm", False)])
def test_random_frames_is_refused_where_a_per_video_store_would_go_unsampled(variant, ok):
    from mcd_core.training.config import resolve_train_config

    if ok:
        assert resolve_train_config(variant, {}, {"random_frames": "3"}).random_frames == 3
    else:
        with pytest.raises(ConfigError, match=rf"'random_frames' is not supported by variant '{variant}'.*"
                                              r"(visual_map|tome)"):
            resolve_train_config(variant, {}, {"random_frames": "3"})
    assert resolve_train_config(variant, {}, {}).random_frames == 0   # off: every variant accepts it


def test_model_card_is_computed_for_the_papers_swin_v2_l_setting(tmp_path):
    from mcd_core.scoring.modelcard import model_card

    rows = model_card(seconds=10, blocks=(2,))
    resnet = model_card(seconds=10, blocks=(2,), visual_dim=512)
    assert rows[0].visual_dim == 1536 and "Swin-V2-L" in rows[0].setting
    # the projection of 1536-d frames to D = 512 has 1024 x 512 more weights than the 512-d one
    assert round((rows[0].params_plain_m - resnet[0].params_plain_m) * 1e6) == 1024 * 512
    assert get_variant("mcd_n2").fields == {"n_blocks": 2}


def test_training_with_random_frames_is_seeded_and_differs_from_every_second(tmp_path):
    """`random_frames=k` goes through the training loop: the same seed gives the same run, and the
    sampled steps change what is learned (evaluation still reads every second)."""
    from avqa_synthetic import make_task, write_task_stores
    from mcd_core.data.vocab import Vocab
    from mcd_core.training.config import split_overrides
    from mcd_core.training.files import RunFiles, train_from_files
    from test_train import TINY_SET, _write_annotations

    questions, audio, visual, ids = make_task(12, seconds=6, audio_dim=5, visual_dim=7)
    a, v = write_task_stores(tmp_path, audio, visual, ids, lengths=[6] * 12)
    train_q = [q for q in questions if int(q.video_id) < 9]
    Vocab.from_questions(train_q).save(tmp_path / "vocab.json")
    files = RunFiles(train=_write_annotations(tmp_path / "train.json", train_q),
                     val=_write_annotations(tmp_path / "val.json", [q for q in questions if int(q.video_id) >= 9]),
                     vocab=tmp_path / "vocab.json", audio=a, visual=v)
    model, _ = split_overrides(TINY_SET, "mcd")

    def run(out, k):
        cfg = TrainConfig(epochs=2, batch_size=8, lr_step=2, seed=0, device="cpu", random_frames=k)
        return [r["train_loss"] for r in train_from_files(files, "mcd", tmp_path / out, cfg, model).history]

    sampled = run("a", 2)
    assert sampled == run("b", 2)
    assert sampled != run("c", 0)
