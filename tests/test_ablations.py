"""Each ablation row changes exactly what models/ablations.py says, judged from the built models:
the modules and parameters built, how often each module runs in a forward pass, the loss terms the
pass produces and what Eq. 10 computes, all compared with the row's base (mcd, or the Q+A+V MLP)."""

import dataclasses
import fnmatch
import re
from collections import Counter
from pathlib import Path

import pytest
import torch

from mcd_core.models import build_model, get_variant
from mcd_core.models.ablations import ABLATIONS, ablation_for
from mcd_core.models.common.losses import total_loss
from mcd_core.scoring.experiments import EXPERIMENTS

from test_models import TINY, batch, tiny
from test_paper_numbers import PAPER_CANDIDATES

D = TINY["d_model"]
# Unshared blocks, so that audio's and visual's attention modules have names of their own.
UNSHARED = {"share_block_weights": False}
# Eq. 10 before its refinement for f_t = 2, F_v = 3, F_a = 11: the paper's 2 * (2 + 3 + 11) = 32.
LEF_INPUTS, LEF_FULL = (2.0, 3.0, 11.0), 32.0
_ATTN = "blocks.*.{}.{}_attn"
_NORM = "blocks.*.norm_{}.attn"

# How each variant's model differs from its base's, by module or parameter name (fnmatch patterns,
# covering everything under the name): built only in the base ("removed"), only here ("added"),
# parameters of another shape ("resized"), modules run another number of times ("runs": pattern ->
# runs here), shapes of added parameters in units of D ("shapes"), Eq. 10's value ("lef").
STRUCTURE = {
    "q_only": dict(removed=["audio_proj", "visual_proj"], resized=["mlp.0.weight"]),
    "a_only": dict(removed=["question", "visual_proj"], resized=["mlp.0.weight"]),
    "v_only": dict(removed=["question", "audio_proj"], resized=["mlp.0.weight"]),
    "qa": dict(removed=["visual_proj"], resized=["mlp.0.weight"]),
    "qv": dict(removed=["audio_proj"], resized=["mlp.0.weight"]),
    "mcd_no_sa": dict(removed=["theta_q", "theta_v", "theta_a"]),
    "mcd_bilstm": dict(added=["question.lstm.*_reverse"], resized=["question.lstm.*"]),
    # the text objects embed the sentence with the question's word table: it runs once fewer
    "mcd_no_text_objects": dict(removed=["text_objects"], runs={"question.embedding": 1}, lef=3 + 11.0),
    "mcd_bilstm_no_text_objects": dict(removed=["text_objects"], added=["question.lstm.*_reverse"],
                                       resized=["question.lstm.*"], runs={"question.embedding": 1}, lef=14.0),
    "mcd_attn_none": dict(removed=[_ATTN.format(m, k) for m in ("audio", "visual") for k in ("self", "cross")]
                          + [_NORM.format("audio"), _NORM.format("visual")]),
    "mcd_attn_self_a": dict(removed=[_ATTN.format("visual", "self"), _ATTN.format("audio", "cross"),
                                     _ATTN.format("visual", "cross"), _NORM.format("visual")]),
    "mcd_attn_self_v": dict(removed=[_ATTN.format("audio", "self"), _ATTN.format("audio", "cross"),
                                     _ATTN.format("visual", "cross"), _NORM.format("audio")]),
    "mcd_attn_self_av": dict(removed=[_ATTN.format("audio", "cross"), _ATTN.format("visual", "cross")]),
    "mcd_attn_cross_aq": dict(removed=[_ATTN.format("audio", "self"), _ATTN.format("visual", "self"),
                                       _ATTN.format("audio", "cross"), _NORM.format("audio")]),
    "mcd_attn_cross_vq": dict(removed=[_ATTN.format("audio", "self"), _ATTN.format("visual", "self"),
                                       _ATTN.format("visual", "cross"), _NORM.format("visual")]),
    "mcd_attn_cross_avq": dict(removed=[_ATTN.format("audio", "self"), _ATTN.format("visual", "self")]),
    "mcd_attn_bi_aq": dict(removed=[_ATTN.format("audio", "cross")]),
    "mcd_attn_bi_vq": dict(removed=[_ATTN.format("visual", "cross")]),
    "mcd_n1": dict(removed=["blocks.1"]),
    "mcd_n3": dict(added=["blocks.2"]),
    "mcd_lef_no_fv": dict(lef=2 * (2 + 11.0)),
    "mcd_lef_no_fa": dict(lef=2 * (2 + 3.0)),
    "mcd_lef_add_only": dict(lef=2 + 3 + 11.0),
    "mcd_no_l_qv": dict(removed=["theta_v"]),
    "mcd_no_l_qa": dict(removed=["theta_a"]),
    "mcd_no_l_av": dict(),
    # the refinement reads f_q_hat and each fused stream side by side (concat) or their sum (add)
    **{f"mcd_late_concat{suffix}": dict(added=["late"], shapes={"late.refine.weight": (1, 1 + n)})
       for suffix, n in (("_a", 1), ("_v", 1), ("", 2))},
    **{f"mcd_late_add{suffix}": dict(added=["late"], shapes={"late.refine.weight": (1, 1)})
       for suffix in ("_a", "_v", "")},
}


def _covered(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + ".*") for p in patterns)


def _lef_value(model) -> float | None:
    """Eq. 10's f_g (before dropout and refinement) for constant inputs; None without Eq. 10."""
    if not hasattr(model, "lef"):
        return None
    seen = []
    handle = model.lef.refine.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    f_t, F_v, F_a = (torch.full((1, D), v) for v in LEF_INPUTS)
    with torch.no_grad():
        model.lef.eval()(f_t if model.text_objects is not None else None, F_v, F_a)
    handle.remove()
    assert torch.allclose(seen[0], seen[0][0, 0].expand_as(seen[0]))
    return float(seen[0][0, 0])


def fingerprint(name: str, **fields):
    """(module names, parameter shapes, runs per module, loss terms, Eq. 10 value) of a tiny build."""
    torch.manual_seed(0)
    cfg = tiny(name, **fields)
    model = build_model(cfg).train()
    runs = Counter()
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: runs.update([n]))
               for n, m in model.named_modules() if n]
    b = batch(cfg=cfg)
    out = model(b)
    for h in handles:
        h.remove()
    losses = set(total_loss(out, b["answer"])) - {"answer", "total"}
    params = {n: tuple(p.shape) for n, p in model.named_parameters()}
    return {n for n, _ in model.named_modules() if n}, params, runs, losses, _lef_value(model)


def _fields(name: str) -> dict:
    return dataclasses.asdict(tiny(name))


@pytest.mark.parametrize("ablation", ABLATIONS, ids=lambda a: f"{a.table}:{a.variant}")
def test_the_variant_switches_exactly_the_listed_fields(ablation):
    mine, base = _fields(ablation.variant), _fields(ablation.base)
    changed = {k: v for k, v in mine.items() if base[k] != v}
    assert changed == dict(ablation.switches)
    assert get_variant(ablation.variant).architecture == get_variant(ablation.base).architecture


@pytest.mark.parametrize("name", sorted({a.variant for a in ABLATIONS}))
def test_the_built_model_changes_exactly_that_and_nothing_else(name):
    ablation = ablation_for("", name)
    expected = STRUCTURE[name]
    fields = UNSHARED if get_variant(name).architecture == "mcd" else {}
    mods, params, runs, losses, lef = fingerprint(name, **fields)
    b_mods, b_params, b_runs, b_losses, b_lef = fingerprint(ablation.base, **fields)

    gone = (b_mods - mods) | (set(b_params) - set(params))
    new = (mods - b_mods) | (set(params) - set(b_params))
    resized = {n for n in set(params) & set(b_params) if params[n] != b_params[n]}
    for found, key in ((gone, "removed"), (new, "added"), (resized, "resized")):
        patterns = expected.get(key, [])
        assert all(_covered(n, patterns) for n in found), (key, sorted(found))
        assert all(any(_covered(n, [p]) for n in found) for p in patterns), (key, patterns, sorted(found))
    rerun = {n: runs[n] for n in mods & b_mods if runs[n] != b_runs[n]}
    assert rerun == {n: c for n in rerun for p, c in expected.get("runs", {}).items() if _covered(n, [p])}
    assert all(any(fnmatch.fnmatchcase(n, p) for n in rerun) for p in expected.get("runs", {}))
    for param, units in expected.get("shapes", {}).items():
        assert params[param] == tuple(u * D for u in units), param
    # the Eq. 14 terms: only those the table says are gone, and no new ones
    assert losses == b_losses - set(ablation.losses_off)
    assert set(ablation.losses_off) <= b_losses
    assert lef == expected.get("lef", b_lef)
    if b_lef is not None:
        assert b_lef == LEF_FULL


def test_shared_blocks_run_each_attention_once_per_modality_that_has_it():
    """The default shares one block's weights between audio and visual; the switches still decide
    which modality runs which attention."""
    for name, self_runs, cross_runs in (("mcd", 2, 2), ("mcd_attn_self_a", 1, 0), ("mcd_attn_bi_aq", 2, 1),
                                        ("mcd_attn_cross_vq", 0, 1)):
        _, _, runs, _, _ = fingerprint(name)
        assert runs["blocks.0.audio.self_attn"] == self_runs and runs["blocks.0.audio.cross_attn"] == cross_runs


@pytest.mark.parametrize("experiment", ["table2", "table6", "table7", "table8", "table9", "table10", "fig5b"])
def test_every_ablation_row_of_the_suite_says_what_it_changed(experiment):
    e = EXPERIMENTS[experiment]
    for row in e.rows:
        if not row.trained or row.variant in ("mcd", "qav", "mcd_n2"):
            continue
        ablation = ablation_for(e.paper_table, row.variant)
        assert ablation is not None, (experiment, row.variant)
        if row.paper_row and ablation.table == e.paper_table:
            assert ablation.row == row.paper_row
        assert row.note.startswith(ablation.note())
        for field, value in ablation.switches.items():
            assert f"{field}={value}" in row.note
        for loss in ablation.losses_off:
            if ablation.switches.get(f"lambda_{loss}") != 0.0:  # not switched off: it cannot exist
                assert f"L_c^{loss} cannot exist" in row.note, (row.variant, loss)


def test_every_loss_that_cannot_exist_is_named():
    """A loss lost without its weight being switched off is a consequence the row must name."""
    for ablation in ABLATIONS:
        implied = {loss for loss in ablation.losses_off if ablation.switches.get(f"lambda_{loss}") != 0.0}
        assert all(any(f"L_c^{loss} cannot exist" in c for c in ablation.consequences) for loss in implied)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "")).lower()


def test_each_row_quotes_the_paper():
    path = next((Path(p) for p in PAPER_CANDIDATES if p and Path(p).is_file()), None)
    if path is None:
        pytest.skip("the paper's text is not on this machine (set MCD_PAPER)")
    text = _normal(path.read_text(encoding="utf-8"))
    for ablation in ABLATIONS:
        assert _normal(ablation.paper) in text, (ablation.table, ablation.row)


def test_assoc_matrix_adds_one_d_by_d_matrix_per_block():
    from mcd_core.scoring.modelcard import example_batch, plain_params, profile

    counts = {}
    for name in ("mcd", "mcd_assoc_matrix"):
        torch.manual_seed(0)
        cfg = tiny(name)
        model = build_model(cfg).eval()
        counts[name] = plain_params(model), profile(model, example_batch(cfg, 5))[0]
    blocks = tiny("mcd").n_blocks
    assert counts["mcd_assoc_matrix"][0] - counts["mcd"][0] == blocks * D * D
    assert counts["mcd_assoc_matrix"][1] - counts["mcd"][1] == blocks * D * D   # thop counts it too
