"""`MCDConfig`: every architectural choice of MCD in one place.

Fields the paper fixes carry its value; fields it leaves open carry our default and say so
(reference-facts §4). Variants (`variants.py`) are overrides of these fields, never code copies.
Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mcd_core.models.config import ConfigError, ModelConfig, check_choice, check_positive

AGGREGATOR_LEVELS = ("low", "high", "both")
TEXT_KEYS = ("words", "sentence")
POSITIONAL = ("none", "sinusoidal")
LATE_FUSION = ("none", "concat", "add")
LATE_STREAMS = ("av", "a", "v")
QUESTION_PROJ = ("linear", "none")
ACTIVATIONS = ("relu", "tanh", "gelu")
OPTION_ENCODERS = ("lstm", "mean")
CROSS_PRODUCTS = ("elementwise", "matrix")


@dataclass
class MCDConfig(ModelConfig):
    architecture: ClassVar[str] = "mcd"
    supports_choice: ClassVar[bool] = True
    # -- encoders -------------------------------------------------------------------------------
    d_model: int = 512              # D, the shared embedding width (paper: 512)
    word_dim: int = 512             # word-embedding width (paper: not given; = D)
    bilstm: bool = False            # Bi-LSTM question encoder (Table VI); each direction gets D/2
    positional: str = "none"        # time encoding after the linear projections: "none" as Sec. III
                                    # (then every block and the aggregator are permutation invariant
                                    # over time); "sinusoidal" adds the Transformer's fixed encoding, no
                                    # params (our variant mcd_time, docs/departures.md)
    question_proj: str = "linear"   # f_q: the LSTM's last state through a D x D linear layer, as
                                    # Sec. III-A-2 and Fig. 2 project the text "uniformly" with the
                                    # audio and visual; "none" = the raw LSTM state (variant mcd_fq_raw)
    # -- association blocks (Eq. 1-5) -----------------------------------------------------------
    n_blocks: int = 2               # N (paper default 2; Table VIII tries 1, 2, 3)
    n_heads: int = 1                # attention heads; Eq. 1 is single-head
    ffn_hidden: int = 1536          # FFN width D -> ffn_hidden -> D (open; 3D matches Table VIII)
    share_block_weights: bool = True  # one block serves audio and visual (matches Table VIII's
                                      # 1.561 M per block under the thop convention)
    self_attn_audio: bool = True    # phi_self on audio (Table VII)
    self_attn_visual: bool = True   # phi_self on visual (Table VII)
    cross_audio_query: bool = True  # "A-query": audio time-mean queries visual (Eq. 3 cross term)
    cross_visual_query: bool = True  # "V-query": visual time-mean queries audio (Eq. 2 cross term)
    cross_product: str = "elementwise"  # f_x x W^cross of Eq. 2/3: "elementwise" f_x * c (W^cross =
                                        # diag(c), no params); "matrix" f_x diag(c) M with a learnt
                                        # D x D M per block (variant mcd_assoc_matrix)
    # -- aggregator (Eq. 6-9) -----------------------------------------------------------------
    aggregator_levels: str = "both"  # features fed to the shared aggregator: encoder ("low"), block
                                     # output ("high") or both, each aggregated, clues summed (Fig. 3d)
    aggregator_text_keys: str = "words"  # keys of the av-queried text attention: LSTM word states
                                         # ("words") or the single sentence vector as Eq. 6 reads
                                         # (degenerate: softmax over one key)
    topk_fraction: float = 0.5      # fraction of real frames kept as clues (paper: top k/2)
    # -- text objects, LEF (Eq. 10), combination -------------------------------------------------
    text_objects: bool = True       # sentence/type/keyword tokens -> 3xD -> D (Table VI "T")
    lef_visual: bool = True         # F_v term of Eq. 10 (Table IX)
    lef_audio: bool = True          # F_a term of Eq. 10 (Table IX)
    lef_product: bool = True        # Eq. 10 "add + product"; False = element-wise add only
    lef_dropout: float = 0.1        # dropout after Eq. 10 (open; 0.1)
    # -- head and late fusion ----------------------------------------------------------------------
    head_dropout: float = 0.1       # dropout before the answer layer (open; 0.1)
    head_activation: str = "relu"   # activation before the answer layer (open; ReLU)
    late_fusion: str = "none"       # Fig. 4 ablation: fuse f_q_hat with global deep a/v by concat/add
    late_fusion_streams: str = "av"  # Fig. 5(b): which global embeddings join: both, audio or visual only
    late_dropout: float = 0.1       # dropout of the late-fusion refinement
    # -- multiple choice (n_options > 0, AVQA); the paper gives only "tokens of answer options form
    #    text objects" (Sec. IV-C-2), the rest is open --------------------------------------------
    option_encoder: str = "lstm"    # each option's tokens -> D: the question's embedding + LSTM (as the
                                    # official HCRN+HAVF encodes options) then a D x D linear layer, or
                                    # "mean": the mean of its word embeddings through a linear layer
    option_objects: bool = True     # the options' tokens form a fourth text object (pooled word
                                    # embeddings, beside sentence, type, keywords); only with
                                    # text_objects (Table VI's "without text objects" drops them too)
    # -- semantic approximation (Eq. 11-14) --------------------------------------------------------
    proj_dim: int = 512             # width of the shared latent space of the projection heads Theta
    temperature: float = 0.07       # tau of both InfoNCE losses (not given; CLIP/MoCo's 0.07)
    lambda_qv: float = 1.0          # weight of L_c^{qv} (Eq. 14: 1; 0 removes it, Table X)
    lambda_qa: float = 1.0          # weight of L_c^{qa} (Eq. 14: 1)
    lambda_av: float = 0.1          # weight of L_c^{av} (Eq. 14: 0.1)

    def validate(self) -> None:
        for name, allowed in (("aggregator_levels", AGGREGATOR_LEVELS), ("aggregator_text_keys", TEXT_KEYS),
                              ("positional", POSITIONAL), ("late_fusion", LATE_FUSION),
                              ("late_fusion_streams", LATE_STREAMS), ("question_proj", QUESTION_PROJ),
                              ("head_activation", ACTIVATIONS), ("option_encoder", OPTION_ENCODERS),
                              ("cross_product", CROSS_PRODUCTS)):
            check_choice(self, name, allowed)
        check_positive(self, "d_model", "word_dim", "n_heads", "ffn_hidden", "proj_dim")
        if self.n_blocks < 0:
            raise ConfigError(f"model field 'n_blocks' must be >= 0, got {self.n_blocks}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.bilstm and self.d_model % 2:
            raise ConfigError("bilstm needs an even d_model")
        if not 0 < self.topk_fraction <= 1:
            raise ConfigError(f"model field 'topk_fraction' must lie in (0, 1], got {self.topk_fraction}")
        if self.temperature <= 0:
            raise ConfigError(f"model field 'temperature' must be > 0, got {self.temperature}")
        if not (self.text_objects or self.lef_visual or self.lef_audio):
            raise ConfigError("Eq. 10 needs at least one of text_objects/lef_visual/lef_audio")
