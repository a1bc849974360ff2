"""AVST's two released stages: the grounding stage (its own modules, the match loss alone, the last
epoch kept) and the question-answering stage started from its weights (`--init-from`)."""

import pytest
import torch

from mcd_core.models import ConfigError, build_model, get_variant, variant_config
from mcd_core.models.common.losses import total_loss
from mcd_core.scoring.checkpoint import write_checkpoint
from mcd_core.training.config import resolve_train_config
from mcd_core.training.init import load_matching, read_init_weights

SIZES = dict(d_model=16, ffn_hidden=16, audio_dim=5, map_dim=7, vocab_size=30, n_answers=6)


def batch(b=4, t=3):
    g = torch.Generator().manual_seed(0)
    return {"question": torch.randint(1, 30, (b, 5), generator=g), "audio": torch.randn(b, t, 5, generator=g),
            "visual_map": torch.randn(b, t, 9, 7, generator=g), "answer": torch.tensor([0, 1, 2, 3]),
            "video_id": ["a", "b", "c", "d"]}


def test_avst_is_two_stage_and_the_one_stage_run_stays():
    assert get_variant("avst").init_from == "avst_grounding"
    assert get_variant("avst_no_match").init_from == "avst_grounding"
    assert get_variant("avst_one_stage").init_from is None and get_variant("avst_grounding").init_from is None
    # peer-facts §3: both stages Adam 1e-4, StepLR 8 / 0.1, batch 64, 30 epochs, T = 10 of 60 s
    for name in ("avst_grounding", "avst", "avst_one_stage"):
        cfg = resolve_train_config(name, {}, {})
        assert (cfg.lr, cfg.lr_step, cfg.lr_gamma, cfg.batch_size, cfg.epochs, cfg.stride) == (1e-4, 8, 0.1, 64, 30, 6)
    assert resolve_train_config("avst_grounding", {}, {}).keep == "last"
    assert resolve_train_config("avst", {}, {}).keep == "best"


def test_grounding_stage_trains_only_the_match_loss_and_its_modules():
    torch.manual_seed(0)
    model = build_model(variant_config("avst_grounding", **SIZES)).train()
    names = {n.split(".")[0] for n, _ in model.named_parameters()}
    assert names == {"audio_fc1", "audio_fc2", "grounding_fc", "match", "map_proj"}
    parts = total_loss(model(batch()), batch()["answer"])
    assert set(parts) == {"match", "total"} and torch.equal(parts["total"], parts["match"])
    parts["total"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    with pytest.raises(ConfigError, match="stage"):
        variant_config("avst", stage="pretrain", **SIZES).validate()


def test_qa_stage_starts_from_the_grounding_weights(tmp_path):
    torch.manual_seed(0)
    grounding = build_model(variant_config("avst_grounding", **SIZES))
    path = tmp_path / "best.pt"
    write_checkpoint({"model": grounding.state_dict(), "architecture": "avst"}, path)
    qa = build_model(variant_config("avst", **SIZES))
    fresh = {n: t.clone() for n, t in qa.state_dict().items()}
    loaded = load_matching(qa, read_init_weights(path, "avst"))
    assert set(loaded) == set(grounding.state_dict())
    for name, tensor in qa.state_dict().items():
        expected = grounding.state_dict()[name] if name in loaded else fresh[name]
        assert torch.equal(tensor, expected), name
    assert not torch.equal(fresh["grounding_fc.weight"], qa.state_dict()["grounding_fc.weight"])
    with pytest.raises(ConfigError, match="architecture 'avst', not 'tspm'"):
        read_init_weights(path, "tspm")
    wider = build_model(variant_config("avst", **{**SIZES, "d_model": 32, "ffn_hidden": 32}))
    with pytest.raises(ConfigError, match="do not fit"):
        load_matching(wider, read_init_weights(path, "avst"))
