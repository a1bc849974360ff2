"""The feature files users already have, one `Layout` each: where they come from, the shape of one
row in the file, and how a row becomes a row of our store (`store.py`). Torch-free and h5py-free:
the workflow checks a config's layouts at parse time.

Imported stores are named `imported_<layout>` (their backbone attribute and the file name under
`results/<dataset>/features/<stream>/`), so that an imported store and an extracted store never share
a name, and a run tag (`<visual>-<audio>`) says that it trained on imported features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

PREFIX = "imported_"
STAGE = "import"  # the stage of an imported row's entry in a store's failure list
FAMILIES = ("hdf5", "npy", "npy_question", "store")


def _same(x: np.ndarray) -> np.ndarray:
    return x


def _clip_level(x: np.ndarray) -> np.ndarray:
    return x[None]                                      # (D,) -> (1, D): one step a video


def _mean_frames(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1)                               # (clips, frames, D) -> (clips, D)


def _maps_to_tokens(x: np.ndarray) -> np.ndarray:
    t, c, h, w = x.shape                                # (T, C, 14, 14) -> (T, 196, C), row-major
    return x.reshape(t, c, h * w).transpose(0, 2, 1)


def _cls_token(x: np.ndarray) -> np.ndarray:
    return x[:, 0]                                      # (T, 50, D) -> (T, D): token 0 is CLS


def _patch_tokens(x: np.ndarray) -> np.ndarray:
    return x[:, 1:]                                     # (T, 50, D) -> (T, 49, D)


@dataclass(frozen=True)
class Layout:
    name: str
    family: str                     # hdf5 (one file, rows keyed by `ids`), npy (a file a video),
                                    # npy_question (a file a question), store (a finished Zarr store)
    stream: str                     # the store's stream
    shape: tuple[int, ...]          # one row in the source file, as released
    project: str                    # who publishes these files, and what produced them
    dataset: str = ""               # hdf5: the feature dataset's name beside `ids`
    convert: Callable[[np.ndarray], np.ndarray] = _same
    conversion: str = "as released"
    per_second: bool = True         # rows are seconds (fps 1); else steps spread over `seconds`
    dtype: str = "float32"          # stored precision (the 14x14 maps: float16, as extracted)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def backbone(self) -> str:
        return PREFIX + self.name

    @property
    def keyed_by(self) -> str:
        return "question" if self.family == "npy_question" else "video"

    def store_row(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of a store row made from a source row of `shape`."""
        return self.convert(np.zeros(shape, np.float32)).shape


AVQA = "AVQA official release (AlyssaYoung/AVQA)"
MUSIC = "MUSIC-AVQA baselines (GeWu-Lab/MUSIC-AVQA feat_script)"

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("avqa_appearance", "hdf5", "visual", (8, 16, 2048),
           f"{AVQA}: AVQA_appearance_resnet101_feat.h5, ImageNet ResNet-101 on 8 clips x 16 frames",
           "resnet_features", _mean_frames, "mean over the 16 frames of each clip", per_second=False),
    Layout("avqa_motion", "hdf5", "visual", (8, 2048),
           f"{AVQA}: AVQA_motion_resnext101_feat.h5, 3D ResNeXt-101 (Kinetics), one vector a clip",
           "resnext_features", per_second=False),
    Layout("avqa_audio", "hdf5", "audio", (2048,),
           f"{AVQA}: AVQA_audio_PANNs_feat.h5, PANNs Cnn14 at 32 kHz, one vector a video",
           "vlaudio_features", _clip_level, "one step a video", per_second=False),
    Layout("avqa_audio_clips", "hdf5", "audio", (8, 2048),
           f"{AVQA} preprocess_audio.py: vggsound-qa_claudio_PANNs_feat.h5, Cnn14_DecisionLevelMax "
           "frame embeddings sampled at 8 evenly spaced steps (not among the three released files)",
           "claudio_features", per_second=False),
    Layout("vggish", "npy", "audio", (60, 128),
           f"{MUSIC}: <video_id>.npy, VGGish embeddings (no PCA), one a second"),
    Layout("resnet18", "npy", "visual", (60, 512),
           f"{MUSIC}: <video_id>.npy, ImageNet ResNet-18 pooled, one frame a second"),
    Layout("resnet18_14x14", "npy", "visual_map", (60, 512, 14, 14),
           f"{MUSIC}: <video_id>.npy, AVST's stride-1 ResNet-18 14x14 maps, one frame a second",
           convert=_maps_to_tokens, conversion="(C, 14, 14) maps as 196 row-major tokens of C",
           dtype="float16", extra={"tokens": 196}),
    Layout("clip_vit_b32_cls", "npy", "visual",  (60, 50, 512),
           "PSTP-Net (GeWu-Lab/PSTP-Net extract_patch-level_feat.py): <video_id>.npy, CLIP ViT-B/32 "
           "tokens after ln_post+proj; this store: token 0 (CLS), the frame feature",
           convert=_cls_token, conversion="token 0 (CLS) of each second"),
    Layout("clip_vit_b32_patches", "npy", "visual_patch", (60, 50, 512),
           "PSTP-Net (GeWu-Lab/PSTP-Net extract_patch-level_feat.py): <video_id>.npy, CLIP ViT-B/32 "
           "tokens after ln_post+proj; this store: tokens 1..49, the 7x7 patches",
           convert=_patch_tokens, conversion="tokens 1..49 (7x7 patches) of each second",
           extra={"patch_tokens": 49}),
    Layout("tspm_question", "npy_question", "text_sentence", (1, 768),
           "TSPM (GeWu-Lab/TSPM extract_qst_clip_feat.py): <question_id>.npy, CLIP ViT-L/14@336px "
           "encode_text of the question"),
    Layout("tspm_prompt", "npy_question", "prompt_sentence", (1, 768),
           "TSPM (extract_qaPrompt_ViT-L14@336px.py): <question_id>.npy, CLIP ViT-L/14@336px "
           "encode_text of the declarative prompt"),
    Layout("store", "store", "", (),
           "a finished feature store (.zarr) of this pipeline's layout, e.g. extracted elsewhere"),
)}


class LayoutError(ValueError):
    """An unknown layout, or one that does not write the stream asked for."""


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise LayoutError(f"unknown feature layout {name!r}; known: {', '.join(LAYOUTS)}") from None


def check_stream(name: str, stream: str) -> Layout:
    """The layout `name`, which must write `stream` (a finished store may hold any stream)."""
    layout = get_layout(name)
    if layout.family != "store" and layout.stream != stream:
        writes = sorted(n for n, entry in LAYOUTS.items() if entry.stream == stream)
        raise LayoutError(f"layout {name!r} writes stream {layout.stream!r}, not {stream!r} "
                          f"(layouts of {stream!r}: {', '.join(writes) or 'none'})")
    return layout


def importable_streams() -> list[str]:
    """The streams some layout writes (TSPM's ToMe tokens, never released, are not among them)."""
    return sorted({layout.stream for layout in LAYOUTS.values() if layout.family != "store"})
