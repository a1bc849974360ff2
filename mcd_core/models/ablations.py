"""What each ablation row of the paper changes: Tables II, V-X and Fig. 5(b), row by row.

An `Ablation` names the paper's row, the variant that reproduces it, the paper's words that define
it, the config fields the variant switches relative to its base (`mcd`, or the full MLP `qav` for
Table II), the Eq. 14 terms it does not have, and every consequence beyond the switches (a loss that
cannot exist, a module kept). The table rows' notes are built from it (scoring/experiments.py);
tests/test_ablations.py builds each variant and checks, from the model, that exactly this changed.
Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

_NO_ATTN = {"self_attn_audio": False, "self_attn_visual": False,
            "cross_audio_query": False, "cross_visual_query": False}
_NO_AV = ("L_c^av cannot exist: Eq. 12-13 pair the cross-features of both modalities, which need "
          "both cross-attentions")


@dataclass(frozen=True)
class Ablation:
    table: str                          # the paper's table ("VII") or figure ("Fig. 5(b)")
    row: str                            # its row (as in paper_results.csv where the paper prints one)
    variant: str                        # the registered variant
    paper: str                          # the paper's words that define the row (quoted)
    switches: Mapping[str, Any]         # config fields changed relative to `base`
    base: str = "mcd"                   # the variant the row is an ablation of
    losses_off: tuple[str, ...] = ()    # Eq. 14 terms of `base` it does not have ("qv", "qa", "av")
    consequences: tuple[str, ...] = ()  # what follows beyond the switches (modules kept, losses lost)

    def note(self) -> str:
        """The table row's note: what the variant switches and every consequence."""
        switched = ", ".join(f"{k}={v}" for k, v in self.switches.items())
        return "; ".join([f"{self.variant} vs {self.base}: {switched}", *self.consequences])


def _mlp(row: str, variant: str, switches: dict, consequence: str) -> Ablation:
    return Ablation("II", row, variant, "the visual, audio, and question embeddings from basic encoders "
                    "are concatenated to simultaneously input to the MLP layer", switches, "qav",
                    consequences=(consequence,))


def _attn(row: str, variant: str, on: dict, paper: str, consequences: tuple[str, ...]) -> Ablation:
    return Ablation("VII", row, variant, paper, {k: False for k in _NO_ATTN if not on.get(k)},
                    losses_off=("av",) if not (on.get("cross_audio_query") and on.get("cross_visual_query")) else (),
                    consequences=consequences)


_SELF = "there is a relatively small improvement in the results of self-attention manipulation"
_CROSS = "when using cross-attention to generate interactions, some audio-related visual regions or " \
         "visually related audio clips were attended to"
_BI = "V-query and A-query denote cross-attention using visual or audio as query"
_DISTIL = "in the semantic approximation method denote the distillation loss of visual and audio"
_KEEP_FFN = "each block keeps its FFN and the FFN's BatchNorm (Eq. 4/5 without the attention term)"
_ONLY = "{x} has no attention: its half of each block is f_{x0} + BN(FFN(f_{x0}))"
_A_ONLY, _V_ONLY = _ONLY.format(x="visual", x0="v"), _ONLY.format(x="audio", x0="a")

ABLATIONS: tuple[Ablation, ...] = (
    # Table II: the multimodal MLP (not MCD); its base is the Q+A+V MLP
    _mlp("Q", "q_only", {"use_audio": False, "use_visual": False}, "no audio or visual projection is built"),
    _mlp("A", "a_only", {"use_question": False, "use_visual": False}, "no question encoder, no visual projection"),
    _mlp("V", "v_only", {"use_question": False, "use_audio": False}, "no question encoder, no audio projection"),
    _mlp("Q+A", "qa", {"use_visual": False}, "no visual projection"),
    _mlp("Q+V", "qv", {"use_audio": False}, "no audio projection"),
    # Table V: AVQA
    Ablation("V", "MCM w/o SA (Ours)", "mcd_no_sa", "we apply MCM and SA on the encoder of the "
             "state-of-the-art method", {"lambda_qv": 0.0, "lambda_qa": 0.0, "lambda_av": 0.0},
             losses_off=("qv", "qa", "av"),
             consequences=("no projection head Theta is built; the blocks still compute their "
                           "cross-features, which feed no loss",)),
    # Table VI: text encoder and text objects
    Ablation("VI", "Bi-LSTM, w/ T", "mcd_bilstm", "we briefly tested the effect of LSTM as well as "
             "Bi-LSTM", {"bilstm": True},
             consequences=("each direction has D/2 hidden units, so f_q stays D wide",)),
    Ablation("VI", "LSTM, w/o T", "mcd_no_text_objects", "T denotes the text objects in this paper",
             {"text_objects": False},
             consequences=("no text-object layers are built; Eq. 10 loses f_t, so f_g = F_v + F_a "
                           "(no product)",)),
    Ablation("VI", "Bi-LSTM, w/o T", "mcd_bilstm_no_text_objects", "T denotes the text objects in this "
             "paper", {"bilstm": True, "text_objects": False},
             consequences=("each direction has D/2 hidden units; no text-object layers are built; "
                           "Eq. 10 loses f_t, so f_g = F_v + F_a (no product)",)),
    # Table VII: attention inside the association blocks
    _attn("w/o attention", "mcd_attn_none", {}, "the results of reasoning using only feature embedding",
          (_KEEP_FFN, _NO_AV)),
    _attn("Self-attention: Audio", "mcd_attn_self_a", {"self_attn_audio": True}, _SELF, (_A_ONLY, _NO_AV)),
    _attn("Self-attention: Visual", "mcd_attn_self_v", {"self_attn_visual": True}, _SELF, (_V_ONLY, _NO_AV)),
    _attn("Self-attention: Audio + Visual", "mcd_attn_self_av",
          {"self_attn_audio": True, "self_attn_visual": True}, _SELF, (_NO_AV,)),
    _attn("Cross-attention: A-query", "mcd_attn_cross_aq", {"cross_audio_query": True}, _CROSS,
          ("audio's time-mean queries visual: only visual gets a cross term (Eq. 3)", _V_ONLY, _NO_AV)),
    _attn("Cross-attention: V-query", "mcd_attn_cross_vq", {"cross_visual_query": True}, _CROSS,
          ("visual's time-mean queries audio: only audio gets a cross term (Eq. 2)", _A_ONLY, _NO_AV)),
    _attn("Cross-attention: A-query + V-query", "mcd_attn_cross_avq",
          {"cross_audio_query": True, "cross_visual_query": True}, _CROSS, ()),
    _attn("Bidirectional Inter-attention: A-query", "mcd_attn_bi_aq",
          {"self_attn_audio": True, "self_attn_visual": True, "cross_audio_query": True}, _BI,
          ("audio has self-attention only, visual self- and cross-attention (Eq. 3)", _NO_AV)),
    _attn("Bidirectional Inter-attention: V-query", "mcd_attn_bi_vq",
          {"self_attn_audio": True, "self_attn_visual": True, "cross_visual_query": True}, _BI,
          ("visual has self-attention only, audio self- and cross-attention (Eq. 2)", _NO_AV)),
    # Table VIII: number of association blocks
    Ablation("VIII", "AB (N=1)", "mcd_n1", "we tested the effect of different numbers of ABs on the "
             "inference as well as the network parameters", {"n_blocks": 1},
             consequences=("Eq. 12 sums the cross-features of one block",)),
    Ablation("VIII", "AB (N=3)", "mcd_n3", "we tested the effect of different numbers of ABs on the "
             "inference as well as the network parameters", {"n_blocks": 3},
             consequences=("Eq. 12 sums the cross-features of three blocks",)),
    # Table IX: local element fusion (Eq. 10)
    Ablation("IX", "w/o F_v", "mcd_lef_no_fv", "removing either the global visual elements or the audio "
             "elements reduces the desirable results", {"lef_visual": False},
             consequences=("only Eq. 10 loses F_v (f_g = f_t * (f_t + F_a)); F_v still feeds L_c^qv",)),
    Ablation("IX", "w/o F_a", "mcd_lef_no_fa", "removing either the global visual elements or the audio "
             "elements reduces the desirable results", {"lef_audio": False},
             consequences=("only Eq. 10 loses F_a (f_g = f_t * (f_t + F_v)); F_a still feeds L_c^qa",)),
    Ablation("IX", "w/o f_t", "mcd_no_text_objects", "when removing the utilization of the textual objects "
             "for fusion with the global audio-visual", {"text_objects": False},
             consequences=("the text objects go altogether (the run of Table VI's 'LSTM, w/o T'), so "
                           "f_g = F_v + F_a (no product)",)),
    Ablation("IX", "Only element-wise add", "mcd_lef_add_only", "which performs better than using only "
             "element-wise add", {"lef_product": False},
             consequences=("f_g = f_t + F_v + F_a",)),
    # Table X: the contrastive losses
    Ablation("X", "MCD w/o L_c^qv", "mcd_no_l_qv", _DISTIL, {"lambda_qv": 0.0}, losses_off=("qv",),
             consequences=("the visual projection head Theta_v is not built",)),
    Ablation("X", "MCD w/o L_c^qa", "mcd_no_l_qa", _DISTIL, {"lambda_qa": 0.0}, losses_off=("qa",),
             consequences=("the audio projection head Theta_a is not built",)),
    Ablation("X", "MCD w/o L_c^av", "mcd_no_l_av", "denotes the audio-visual contrastive loss", {"lambda_av": 0.0}, losses_off=("av",),
             consequences=("the blocks still compute their cross-features, which feed no loss",)),
    # Fig. 5(b): decision-level fusion added back
    *(Ablation("Fig. 5(b)", f"{mode}: {label}", f"mcd_late_{mode}{suffix}",
               "element-wise addition or concatenation with the global audio-visual embeddings, in which "
               "we add to both methods a full-connection layer for feature refinement, and a dropout layer",
               {"late_fusion": mode, **({"late_fusion_streams": streams} if streams != "av" else {})},
               consequences=("the global embeddings are the time-means of the last block's outputs; "
                             "a linear refinement and a dropout follow the fusion",))
      for mode in ("concat", "add")
      for label, suffix, streams in (("audio", "_a", "a"), ("visual", "_v", "v"), ("audio + visual", "", "av"))),
)


def ablation_for(table: str, variant: str) -> Ablation | None:
    """The entry of `variant` in the paper's `table`, else its entry in another table, else None."""
    found = [a for a in ABLATIONS if a.variant == variant]
    return next((a for a in found if a.table == table), found[0] if found else None)
