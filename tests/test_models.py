"""Model shapes, gradients of every registered variant, losses, masks and config validation."""


import pytest
import torch

from mcd_core.models import (ConfigError, apply_overrides, build_model, config_fields, config_from_dict,
                             get_variant, list_variants, variant_config)
from mcd_core.models.common.losses import info_nce, total_loss
from mcd_core.models.mcd.aggregator import Aggregator
from mcd_core.models.mcd.config import MCDConfig

TINY = dict(d_model=16, word_dim=16, ffn_hidden=24, proj_dim=8, audio_dim=6, visual_dim=10,
            vocab_size=20, n_object_words=12, n_answers=5,
            # the peers' extra inputs (AVST maps, PSTP-Net patches and CLIP text, TSPM ToMe tokens)
            map_dim=8, map_positions=9, text_dim=12, tome_dim=14, tome_frames=4, tome_tokens=5, patches=6,
            word_tokens=7, segments=3, top_k=3, top_m=4)
B, T = 5, 7


def tiny(name, **more):
    """TINY sizes restricted to the fields of variant `name`'s architecture."""
    fields = config_fields(name)
    return variant_config(name, **{k: v for k, v in {**TINY, **more}.items() if k in fields})


def batch(seed=0, lengths=(7, 4, 1, 7, 6), cfg=None):
    """A batch of B questions; with `cfg`, every feature key its model reads in its own shape."""
    g = torch.Generator().manual_seed(seed)
    question = torch.randint(2, 20, (B, 14), generator=g)
    question[:, 9:] = 0  # padding after 9 words
    out = {"question": question, "qtype": torch.randint(2, 12, (B, 2), generator=g),
           "keywords": torch.tensor([[3, 0, 0, 0], [4, 5, 0, 0], [0, 0, 0, 0], [6, 0, 0, 0], [7, 8, 9, 0]]),
           "audio": torch.randn(B, T, 6, generator=g), "visual": torch.randn(B, T, 10, generator=g),
           "audio_len": torch.tensor(lengths), "visual_len": torch.tensor(lengths),
           "answer": torch.tensor([0, 1, 2, 3, -1])}
    for key, shape in (cfg.input_shapes(T) if cfg is not None else {}).items():
        if out.get(key) is None or tuple(out[key].shape[1:]) != shape:
            out[key] = torch.randn(B, *shape, generator=g)
            out.setdefault(f"{key}_len", torch.full((B,), shape[0]))
    return out


def test_registry_has_every_paper_variant():
    names = set(list_variants())
    expected = {"mcd", "q_only", "a_only", "v_only", "qa", "qv", "qav", "mcd_late_concat", "mcd_late_add",
                "mcd_bilstm", "mcd_no_text_objects", "mcd_bilstm_no_text_objects", "mcd_attn_none",
                "mcd_attn_self_a", "mcd_attn_self_av", "mcd_attn_cross_aq", "mcd_attn_cross_avq",
                "mcd_attn_bi_aq", "mcd_attn_bi_vq", "mcd_n1", "mcd_n2", "mcd_n3", "mcd_lef_no_fv",
                "mcd_lef_no_fa", "mcd_lef_no_ft", "mcd_lef_add_only", "mcd_no_l_qv", "mcd_no_l_qa",
                "mcd_no_l_av"}
    assert expected <= names
    assert tiny("mcd_n2") == tiny("mcd")


@pytest.mark.parametrize("name", list_variants())
def test_variant_forward_backward_every_parameter_learns(name):
    torch.manual_seed(0)
    cfg = tiny(name)
    model = build_model(cfg)
    b = batch(cfg=cfg)
    out = model(b)
    assert out.logits.shape == (B, TINY["n_answers"])
    parts = total_loss(out, b["answer"])
    assert all(torch.isfinite(v) for v in parts.values())
    parts["total"].backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    # Only the parameters the architecture itself declares gradient-free (a scorer whose output only
    # feeds a hard top-k, as in the released peers; docs/peers.md) may go without a gradient.
    frozen = model.no_gradient_by_design() if hasattr(model, "no_gradient_by_design") else ()
    declared = [n for n, p in model.named_parameters() if frozen and n.startswith(frozen)]
    assert no_grad == declared, f"{name}: parameters built but unused: {sorted(set(no_grad) - set(declared))}"
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad
    terms = {t.name for t in out.contrast}
    if get_variant(name).architecture == "mcd":
        assert ("qv" in terms) == (cfg.lambda_qv > 0) and ("qa" in terms) == (cfg.lambda_qa > 0)
        assert ("av" in terms) == (cfg.lambda_av > 0 and cfg.cross_audio_query and cfg.cross_visual_query)
    else:
        assert not terms
    extra = {term.name for term in out.losses}
    assert extra == ({"match"} if get_variant(name).architecture == "avst" and cfg.match_weight > 0 else set())


def test_q_only_needs_no_features():
    cfg = tiny("q_only")
    assert not cfg.needs_audio and not cfg.needs_visual
    b = {k: v for k, v in batch().items() if k in ("question", "qtype", "keywords")}
    assert build_model(cfg)(b).logits.shape == (B, 5)


def test_padding_does_not_leak_into_prediction():
    torch.manual_seed(0)
    model = build_model(tiny("mcd")).eval()
    b = batch()
    b2 = dict(b, audio=b["audio"].clone(), visual=b["visual"].clone())
    b2["audio"][1, 4:] += 100.0  # sample 1 has 4 real steps: change only its padding
    b2["visual"][1, 4:] -= 50.0
    with torch.no_grad():
        assert torch.allclose(model(b).logits[1], model(b2).logits[1], atol=1e-5)


def test_eval_prediction_independent_of_batch_composition():
    torch.manual_seed(0)
    model = build_model(tiny("mcd")).eval()
    b = batch()
    with torch.no_grad():
        full = model(b).logits
        single = torch.cat([model({k: v[i:i + 1] for k, v in b.items()}).logits for i in range(B)])
    assert torch.allclose(full, single, atol=1e-5)


def test_time_order_matters_only_with_the_time_encoding():
    """Sec. III adds no time encoding: MCD as the paper gives it cannot tell the order of the seconds;
    mcd_time (ours) can."""
    b = batch(lengths=(7,) * B)
    flipped = dict(b, audio=b["audio"].flip(1), visual=b["visual"].flip(1))
    logits = {}
    for name in ("mcd", "mcd_time"):
        torch.manual_seed(0)
        model = build_model(tiny(name)).eval()
        with torch.no_grad():
            logits[name] = model(b).logits, model(flipped).logits
    assert MCDConfig().positional == "none"
    assert torch.allclose(*logits["mcd"], atol=1e-5)
    assert not torch.allclose(*logits["mcd_time"], atol=1e-4)


def test_aggregator_keeps_ceil_half_of_real_frames():
    torch.manual_seed(0)
    agg = Aggregator(4, 1, 0.5)
    f = torch.randn(2, 6, 4)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
    f_q = torch.ones(2, 4)
    out = agg(f, mask, f_q, torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool))
    # each kept frame adds f_q + h * f_q with h >= 0, so out >= n_keep * f_q; n_keep = 3 and 2
    assert (out[0] >= 3 - 1e-6).all() and (out[1] >= 2 - 1e-6).all()
    f_zero_v = dict(agg.value.named_parameters())
    with torch.no_grad():
        f_zero_v["weight"].zero_(); f_zero_v["bias"].zero_()
        out = agg(f, mask, f_q, torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool))
    assert torch.allclose(out, torch.tensor([[3.0] * 4, [2.0] * 4]))


def test_info_nce_matches_definition_and_prefers_aligned_pairs():
    torch.manual_seed(0)
    a, p = torch.randn(4, 8), torch.randn(4, 8)
    sim = torch.nn.functional.cosine_similarity(a[:, None], p[None], dim=-1) / 0.5
    expected = -(sim.diag() - sim.logsumexp(1)).mean()
    assert torch.allclose(info_nce(a, p, 0.5), expected, atol=1e-6)
    assert info_nce(a, a, 0.1) < info_nce(a, p, 0.1)


def test_config_validation_names_field():
    with pytest.raises(ConfigError, match="aggregator_levels"):
        MCDConfig(aggregator_levels="middle")
    with pytest.raises(ConfigError, match="n_blok"):
        apply_overrides(MCDConfig(), {"n_blok": "3"})
    with pytest.raises(ConfigError, match="bilstm"):
        apply_overrides(MCDConfig(), {"bilstm": "maybe"})
    assert apply_overrides(MCDConfig(), {"n_blocks": "3", "bilstm": "true"}).n_blocks == 3
    with pytest.raises(ConfigError, match="unknown variant"):
        variant_config("mcd_n9")
    assert MCDConfig.from_dict(MCDConfig().to_dict()) == MCDConfig()
    with pytest.raises(ConfigError, match="ffn_hidden"):
        variant_config("q_only", ffn_hidden=8)  # an MCD field is not a field of the MLP baseline


def test_checkpoint_config_dispatches_on_architecture_name():
    for name in ("mcd_n3", "qa"):
        cfg = tiny(name)
        back = config_from_dict(cfg.architecture, cfg.to_dict())
        assert type(back) is type(cfg) and back == cfg
    with pytest.raises(ConfigError, match="unknown architecture"):
        config_from_dict("transformer9000", {})


def test_shared_block_is_one_module_for_both_modalities():
    model = build_model(tiny("mcd"))
    assert model.blocks[0].audio is model.blocks[0].visual
    unshared = build_model(tiny("mcd", share_block_weights=False))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(unshared.blocks[0]) == count(model.blocks[0]) + count(model.blocks[0].audio)
    # BatchNorms stay per modality (their running statistics differ between audio and visual)
    assert model.blocks[0].norm_audio is not model.blocks[0].norm_visual
