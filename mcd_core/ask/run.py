"""What `mcd ask` reads from a run folder: the checkpoint, its vocabulary and training templates,
and, from the feature stores the run was trained on, how a video becomes its features.

Paths in `config.json` are as `mcd train` was given them (relative to where the pipeline ran): a
relative one is looked up below the run folder's ancestors, nearest first, so a run can be asked
from any folder. Every setting that shapes the features is read, never assumed: backbone,
weights (random init and its seed, or the weights file, whose sha256 must be the recorded one), the
frame size and JPEG quality of the frames stage, the log-mel settings, precision and the stride.
A store whose settings differ from those recorded in `config.json` at training time, or settings
this code cannot reproduce, stop with a message naming the setting.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcd_core.ask.errors import AskError
from mcd_core.common.textfiles import read_text_file
from mcd_core.ask.question import Template, collect_templates
from mcd_core.data.formats import get_format
from mcd_core.data.vocab import Vocab
from mcd_core.features.backbones.weights import WeightsError, get_source, verify_file
from mcd_core.features.logmel import LogmelSpec
from mcd_core.features.store import FeatureStore, StoreError, open_store
from mcd_core.media.shards import JPEG_QUALITY
from mcd_core.models import get_architecture

log = logging.getLogger(__name__)
CHECKPOINT = "best.pt"
STREAMS = {"audio": ("audio",), "visual": ("visual", "visual_patch")}
RECORDED_KEYS = ("stream", "backbone", "dim", "seconds", "weights")  # what config.json records


@dataclass
class StreamSettings:
    """How one stream of the run's features was made, read from its store."""

    role: str                   # "audio" or "visual"
    store: Path                 # the run's store of this stream
    stream: str                 # "audio", "visual" or "visual_patch"
    backbone: str               # registry name
    weights: str                # "pretrained" or "random-init"
    seed: int                   # seed of random initialisation
    precision: str              # "fp32", "bf16" or "fp16"
    attrs: dict[str, Any]       # the store's attributes

    @property
    def weights_label(self) -> str:
        w = self.attrs["weights"]
        return f"random-init (seed {self.seed})" if w.get("random_init") else f"{w['file']}"


@dataclass
class RunSettings:
    run_dir: Path
    checkpoint: Path
    model: Any                  # torch module in eval mode
    model_cfg: Any              # its ModelConfig
    vocab: Vocab
    seconds: int                # T of the stores; 0: a model reading no features, trained without
                                # stores (the video's own length is shown)
    stride: int                 # the run's time stride
    audio: StreamSettings | None   # None when the model reads no audio
    visual: StreamSettings | None  # None when the model reads no visual features
    frame_short_side: int | None   # of the frames stage (None: the video's own size)
    templates: list[Template]   # the training templates, most frequent first
    type_words: tuple[str, ...]  # the format's modality and type words
    config: dict[str, Any]      # config.json
    type_answers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # question type ("Audio/Counting") -> the answers its training questions have, sorted

    @property
    def random_streams(self) -> list[StreamSettings]:
        """The streams whose backbone the run's features were made with randomly initialised."""
        return [s for s in (self.visual, self.audio) if s is not None and s.weights == "random-init"]


def resolve(path: str | None, run_dir: Path) -> Path | None:
    """An absolute `path` as it is; a relative one below the nearest ancestor of `run_dir` that
    holds it (where the pipeline ran), not below the current folder, which may be another project
    with files of the same names; unchanged when none holds it (the caller's error names it)."""
    if path is None:
        return None
    p = Path(path)
    if p.is_absolute():
        return p
    for ancestor in run_dir.resolve().parents:
        if (ancestor / p).exists():
            return ancestor / p
    return p


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    try:
        config = json.loads(read_text_file(path, "run configuration", AskError))
        config["inputs"]["vocab"]
    except FileNotFoundError:
        raise AskError(f"run folder {run_dir} has no config.json; is it a folder `mcd train` wrote?") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AskError(f"{path}: not a run configuration written by `mcd train` ({exc})") from None
    return config


def _stream(role: str, config: dict[str, Any], run_dir: Path) -> StreamSettings:
    given = config["inputs"].get(role)
    path = resolve(given, run_dir)
    if path is None:
        raise AskError(f"{run_dir}/config.json names no {role} store, but the model reads {role} features")
    try:
        store: FeatureStore = open_store(path)
    except StoreError as exc:
        raise AskError(f"the run's {role} feature store cannot be opened, and `mcd ask` reads its "
                       f"extraction settings from it: {exc}") from None
    attrs = store.attrs
    if attrs["stream"] not in STREAMS[role]:
        raise AskError(f"{path}: stream {attrs['stream']!r} is not a {role} stream")
    recorded = config["inputs"].get("stores", {}).get(role, {})
    for key in RECORDED_KEYS:
        if key in recorded and recorded[key] != attrs.get(key):
            raise AskError(f"{path}: its {key} is {attrs.get(key)!r} but the run was trained on "
                           f"{recorded[key]!r}; the store was re-extracted after training (train again)")
    weights = attrs["weights"]
    if weights.get("random_init"):
        mode, seed = "random-init", int(weights.get("seed", 0))
    else:
        mode, seed = "pretrained", 0
    if role == "visual":
        precision = attrs.get("precision", "fp32")
    else:
        precision = attrs["preprocessing"].get("precision", "fp32")
    return StreamSettings(role, path, attrs["stream"], attrs["backbone"], mode, seed, precision, attrs)


def check_weights(s: StreamSettings, weights_dir: str | Path | None) -> None:
    """Pretrained weights: the local file must be the one the run's features were made with."""
    if s.weights != "pretrained":
        return
    recorded = s.attrs["weights"]
    expected = get_source(s.backbone).filename
    if recorded.get("file") != expected:
        raise AskError(f"{s.store}: made with weights file {recorded.get('file')!r}, but backbone "
                       f"{s.backbone!r} now loads {expected!r}")
    try:
        path, digest = verify_file(s.backbone, weights_dir)
    except WeightsError as exc:
        raise AskError(f"the run's {s.role} features used pretrained {s.backbone} weights: {exc}") from None
    if digest != recorded.get("sha256"):
        raise AskError(f"{path}: sha256 {digest} is not that of the weights the run's {s.role} "
                       f"features were made with ({recorded.get('sha256')}); use those weights "
                       f"(--weights-dir) or re-extract and re-train")
    pca = recorded.get("pca")
    if pca:
        try:
            pca_path, pca_digest = verify_file("vggish_pca", weights_dir)
        except WeightsError as exc:
            raise AskError(f"the run's audio features used the VGGish PCA: {exc}") from None
        if pca_digest != pca.get("sha256"):
            raise AskError(f"{pca_path}: sha256 {pca_digest} is not that of the PCA file the run's "
                           f"audio features were made with ({pca.get('sha256')})")


def _frames_settings(visual: StreamSettings) -> int | None:
    frames = visual.attrs["preprocessing"].get("frames", {})
    quality = frames.get("jpeg_quality")
    if quality != JPEG_QUALITY:
        raise AskError(f"{visual.store}: frames were saved at JPEG quality {quality!r}; this code "
                       f"saves them at {JPEG_QUALITY} and cannot reproduce them")
    return frames.get("frame_short_side")


def _check_logmel(audio: StreamSettings) -> None:
    pre = audio.attrs["preprocessing"]
    if pre.get("name") != "vggish_logmel":
        return  # waveform backbones: no front end of ours
    ours = LogmelSpec().describe()
    differ = sorted(k for k, v in ours.items() if pre.get(k) != v)
    if differ:
        raise AskError(f"{audio.store}: log-mel settings {differ} differ from this code's "
                       f"({', '.join(f'{k}={pre.get(k)!r}' for k in differ)}); re-extract the features")


def load_run(run_dir: str | Path, device: Any = "cpu", weights_dir: str | Path | None = None) -> RunSettings:
    from mcd_core.scoring.predict import check_vocab, load_checkpoint

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AskError(f"run folder {run_dir} does not exist "
                       f"(expected results/<dataset>/runs/<visual>-<audio>/<variant>/seed<S>)")
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        raise AskError(f"run folder {run_dir} holds no checkpoint ({CHECKPOINT}); train it first "
                       f"(`snakemake` or `mcd train --out-dir {run_dir}`)")
    config = _read_config(run_dir)
    fmt = get_format(config["inputs"].get("format") or "music_avqa")
    if fmt.answer_kind != "classify":
        raise AskError(f"{run_dir}: a run of the {fmt.name!r} format picks one of each question's answer "
                       f"options; `mcd ask` answers open questions of MUSIC-AVQA-format runs only")
    model, cfg, ckpt = load_checkpoint(checkpoint, device)
    extra = get_architecture(cfg.architecture).inputs
    if extra:
        raise AskError(f"{run_dir}: architecture {cfg.architecture!r} reads extra feature stores "
                       f"({', '.join(i.stream + '/' + i.backbone for i in extra)}) that `mcd ask` cannot "
                       f"extract for a new video; ask a run of MCD or of a Table II baseline")
    vocab_path = resolve(config["inputs"]["vocab"], run_dir)
    vocab = Vocab.load(vocab_path)
    check_vocab(ckpt, vocab, checkpoint, vocab_path)
    audio = _stream("audio", config, run_dir) if cfg.needs_audio else None
    visual = _stream("visual", config, run_dir) if cfg.needs_visual else None
    present = [s for s in (audio, visual) if s is not None]
    for s in present:
        check_weights(s, weights_dir)
    if audio is not None:
        _check_logmel(audio)
    if len({s.attrs["seconds"] for s in present}) > 1:
        raise AskError(f"the run's stores have different seconds: {[s.attrs['seconds'] for s in present]}")
    recorded = [s.get("seconds") for s in config["inputs"].get("stores", {}).values()]
    seconds = int(present[0].attrs["seconds"]) if present else int(next(filter(None, recorded), 0))
    train_path = resolve(config["inputs"].get("train"), run_dir)
    if train_path is None or not train_path.is_file():
        raise AskError(f"the run's training annotations {train_path} are missing; `mcd ask` infers "
                       f"question types from their templates")
    train = fmt.load(train_path).questions
    return RunSettings(run_dir, checkpoint, model, cfg, vocab, seconds,
                       int(ckpt.get("train_config", {}).get("stride", 1)), audio, visual,
                       _frames_settings(visual) if visual else None, collect_templates(train),
                       tuple(fmt.type_words), config, answers_by_type(train))


def answers_by_type(questions) -> dict[str, tuple[str, ...]]:
    """Each question type's answer set in the training annotations ("Audio/Counting" -> answers)."""
    sets: dict[str, set[str]] = {}
    for q in questions:
        sets.setdefault(q.type_key, set()).add(q.answer)
    return {key: tuple(sorted(answers)) for key, answers in sets.items()}
