"""MCD's named variants: the ablations of Tables V-X and Fig. 4/5, and the paper-literal readings of
open choices; each a set of `MCDConfig` overrides."""

from __future__ import annotations

from mcd_core.models.registry import Variant, register_variant, register_variants

_NO_TEXT = {"text_objects": False}
_ATTN_OFF = {"self_attn_audio": False, "self_attn_visual": False,
             "cross_audio_query": False, "cross_visual_query": False}

MCD_VARIANTS = {
    "mcd": ("MCD as in Section III (N = 2)", {}),
    # Fig. 4/5: decision-level fusion added back
    "mcd_late_concat": ("Fig. 4: late fusion of f_q_hat with global a/v features by concatenation",
                        {"late_fusion": "concat"}),
    "mcd_late_add": ("Fig. 4: late fusion by addition", {"late_fusion": "add"}),
    "mcd_late_concat_a": ("Fig. 5(b): late fusion with the audio embedding only, by concatenation",
                          {"late_fusion": "concat", "late_fusion_streams": "a"}),
    "mcd_late_concat_v": ("Fig. 5(b): late fusion with the visual embedding only, by concatenation",
                          {"late_fusion": "concat", "late_fusion_streams": "v"}),
    "mcd_late_add_a": ("Fig. 5(b): late fusion with the audio embedding only, by addition",
                       {"late_fusion": "add", "late_fusion_streams": "a"}),
    "mcd_late_add_v": ("Fig. 5(b): late fusion with the visual embedding only, by addition",
                       {"late_fusion": "add", "late_fusion_streams": "v"}),
    # Table VI: text encoder and text objects
    "mcd_bilstm": ("Table VI: Bi-LSTM question encoder", {"bilstm": True}),
    "mcd_no_text_objects": ("Table VI: without text objects", _NO_TEXT),
    "mcd_bilstm_no_text_objects": ("Table VI: Bi-LSTM, without text objects", {"bilstm": True, **_NO_TEXT}),
    # Table VII: attention inside the association block
    "mcd_attn_none": ("Table VII: no attention in the association blocks", _ATTN_OFF),
    "mcd_attn_self_a": ("Table VII: self-attention on audio only", {**_ATTN_OFF, "self_attn_audio": True}),
    "mcd_attn_self_v": ("Table VII: self-attention on visual only", {**_ATTN_OFF, "self_attn_visual": True}),
    "mcd_attn_self_av": ("Table VII: self-attention on audio and visual",
                         {**_ATTN_OFF, "self_attn_audio": True, "self_attn_visual": True}),
    "mcd_attn_cross_aq": ("Table VII: cross-attention, audio as query only",
                          {**_ATTN_OFF, "cross_audio_query": True}),
    "mcd_attn_cross_vq": ("Table VII: cross-attention, visual as query only",
                          {**_ATTN_OFF, "cross_visual_query": True}),
    "mcd_attn_cross_avq": ("Table VII: cross-attention both ways, no self-attention",
                           {**_ATTN_OFF, "cross_audio_query": True, "cross_visual_query": True}),
    "mcd_attn_bi_aq": ("Table VII: self-attention + cross-attention with audio as query",
                       {"cross_visual_query": False}),
    "mcd_attn_bi_vq": ("Table VII: self-attention + cross-attention with visual as query",
                       {"cross_audio_query": False}),
    # Table VIII: number of association blocks
    "mcd_n1": ("Table VIII: N = 1 association block", {"n_blocks": 1}),
    "mcd_n2": ("Table VIII: N = 2 (the default)", {"n_blocks": 2}),
    "mcd_n3": ("Table VIII: N = 3", {"n_blocks": 3}),
    # Table IX: local element fusion
    "mcd_lef_no_fv": ("Table IX: LEF without F_v", {"lef_visual": False}),
    "mcd_lef_no_fa": ("Table IX: LEF without F_a", {"lef_audio": False}),
    "mcd_lef_no_ft": ("Table IX: LEF without F_t (no text objects)", _NO_TEXT),
    "mcd_lef_add_only": ("Table IX: LEF by addition only (no product)", {"lef_product": False}),
    # Table X: each contrastive loss removed
    "mcd_no_l_qv": ("Table X: without L_c^qv", {"lambda_qv": 0.0}),
    "mcd_no_l_qa": ("Table X: without L_c^qa", {"lambda_qa": 0.0}),
    "mcd_no_l_av": ("Table X: without L_c^av", {"lambda_av": 0.0}),
    # Table V's "MCM w/o SA": no semantic approximation at all (all three contrastive weights 0)
    "mcd_no_sa": ("Table V: MCM w/o SA (no contrastive loss)",
                  {"lambda_qv": 0.0, "lambda_qa": 0.0, "lambda_av": 0.0}),
    # Fidelity switches: the paper-literal readings of open choices
    "mcd_assoc_matrix": ("Eq. 2/3 with a full D x D cross matrix W^cross = diag(c) M (M learnt) instead "
                         "of the element-wise product", {"cross_product": "matrix"}),
    "mcd_eq6_sentence": ("paper-literal Eq. 6: the av-queried text attention over the sentence vector f_q",
                         {"aggregator_text_keys": "sentence"}),
    "mcd_fq_raw": ("f_q as the raw LSTM state, without the linear projection of Sec. III-A-2",
                   {"question_proj": "none"}),
}

register_variants("mcd", MCD_VARIANTS)
# Ours, beside MCD in every dataset's table3/table5: Sec. III adds no time encoding (docs/departures.md).
register_variant(Variant("mcd_time", "mcd", {"positional": "sinusoidal"}, {},
                         "MCD + a sinusoidal time encoding after the linear projections (not in Sec. III)",
                         label="MCD + time encoding (ours)"))
# Multiple choice (AVQA): the official HCRN+HAVF answer loss instead of cross-entropy (a training
# default: `mcd train --set answer_loss=hinge` gives the same run from any variant).
register_variant(Variant("mcd_hinge", "mcd", {}, {"answer_loss": "hinge"},
                         "AVQA: MCD with the multiple-choice hinge loss (margin 1) of HCRN+HAVF"))
