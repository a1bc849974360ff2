"""`MCDConfig`: every architectural choice of MCD (and of the Table II MLP baseline) in one place.

Fields the paper fixes carry its value; fields it leaves open carry our default and say so
(reference-facts §4). Variants in `registry.py` are overrides of these fields, never code copies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

ARCHITECTURES = ("mcd", "mlp")
AGGREGATOR_LEVELS = ("low", "high", "both")
TEXT_KEYS = ("words", "sentence")
POSITIONAL = ("sinusoidal", "none")
LATE_FUSION = ("none", "concat", "add")
ACTIVATIONS = ("relu", "tanh", "gelu")


class ConfigError(ValueError):
    """A model or training configuration field is unknown or has a bad value."""


@dataclass
class MCDConfig:
    architecture: str = "mcd"       # "mcd" (Section III) or "mlp" (Table II multimodal MLP baseline)
    # -- input sizes (filled from the vocabulary and the feature stores) ---------------------
    vocab_size: int = 95            # question-word table size (vocab.words, incl. <pad>, <unk>)
    n_object_words: int = 64        # text-object table size (vocab.object_words)
    n_answers: int = 42             # answer classes (vocab.answers)
    audio_dim: int = 128            # audio feature width in the store (VGGish 128)
    visual_dim: int = 512           # visual feature width in the store (ResNet-18 512)
    # -- encoders -------------------------------------------------------------------------------
    d_model: int = 512              # D, the shared embedding width (paper: 512)
    word_dim: int = 512             # word-embedding width (paper: not given; = D)
    bilstm: bool = False            # Bi-LSTM question encoder (Table VI); each direction gets D/2
    positional: str = "sinusoidal"  # time encoding added after the linear projections. Open choice:
                                    # without it every block is permutation invariant over time and
                                    # "which sounds first" cannot be answered; sinusoidal adds no params
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
    late_dropout: float = 0.1       # dropout of the late-fusion refinement
    # -- semantic approximation (Eq. 11-14) --------------------------------------------------------
    proj_dim: int = 512             # width of the shared latent space of the projection heads Theta
    temperature: float = 0.07       # tau of both InfoNCE losses (not given; CLIP/MoCo's 0.07)
    lambda_qv: float = 1.0          # weight of L_c^{qv} (Eq. 14: 1; 0 removes it, Table X)
    lambda_qa: float = 1.0          # weight of L_c^{qa} (Eq. 14: 1)
    lambda_av: float = 0.1          # weight of L_c^{av} (Eq. 14: 0.1)
    # -- Table II baseline ----------------------------------------------------------------------------
    use_question: bool = True       # mlp: feed the question embedding
    use_audio: bool = True          # mlp: feed the time-mean audio embedding
    use_visual: bool = True         # mlp: feed the time-mean visual embedding
    mlp_hidden: int = 512           # mlp: hidden width
    mlp_dropout: float = 0.1        # mlp: dropout

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        choices = {"architecture": ARCHITECTURES, "aggregator_levels": AGGREGATOR_LEVELS,
                   "aggregator_text_keys": TEXT_KEYS, "positional": POSITIONAL,
                   "late_fusion": LATE_FUSION, "head_activation": ACTIVATIONS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"model field {name!r} is {getattr(self, name)!r}; "
                                  f"choose one of {list(allowed)}")
        for name in ("vocab_size", "n_object_words", "n_answers", "audio_dim", "visual_dim",
                     "d_model", "word_dim", "n_heads", "ffn_hidden", "proj_dim", "mlp_hidden"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model field {name!r} must be >= 1, got {getattr(self, name)}")
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
        if self.architecture == "mlp" and not (self.use_question or self.use_audio or self.use_visual):
            raise ConfigError("the mlp baseline needs at least one of use_question/use_audio/use_visual")

    # -- which inputs the model reads: the dataset can skip the stores a model never looks at --
    @property
    def needs_audio(self) -> bool:
        return self.architecture == "mcd" or self.use_audio

    @property
    def needs_visual(self) -> bool:
        return self.architecture == "mcd" or self.use_visual

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MCDConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model field(s) {unknown}")
        return cls(**data)


def parse_value(cls_name: str, field: dataclasses.Field, text: str) -> Any:
    """Convert a `--set field=value` string to the field's declared type, or fail naming it."""
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "str":
            return text
    except ValueError:
        raise ConfigError(f"{cls_name} field {field.name!r} expects {kind}, got {text!r}") from None
    raise ConfigError(f"{cls_name} field {field.name!r} of type {kind} cannot be set from text")


def apply_overrides(obj: Any, overrides: Mapping[str, str]) -> Any:
    """A copy of dataclass `obj` with string overrides parsed to each field's type and validated."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    values = {}
    for name, text in overrides.items():
        if name not in fields:
            raise ConfigError(f"unknown {type(obj).__name__} field {name!r}")
        values[name] = parse_value(type(obj).__name__, fields[name], text)
    return dataclasses.replace(obj, **values)
