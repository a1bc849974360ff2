"""The file-level entry point of `mcd train`: annotation files, vocabulary and stores to a run."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mcd_core.data.dataset import make_dataset, open_stores
from mcd_core.data.inputs import check_input_keys, input_attrs, open_inputs
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import open_store
from mcd_core.models import ConfigError, apply_overrides, get_architecture, get_variant, variant_config
from mcd_core.training.config import TrainConfig
from mcd_core.training.init import read_init_weights
from mcd_core.training.loop import TrainResult, train


@dataclass
class RunFiles:
    train: Path                   # training annotations (json)
    val: Path                     # validation annotations, for best-epoch selection
    vocab: Path                   # vocab.json from `mcd vocab`
    audio: Path | None            # audio feature store (optional for question-only variants)
    visual: Path | None           # visual feature store (optional for question-only variants)
    test: Path | None = None      # optional test annotations, scored every epoch for the curves
    format: str = "music_avqa"    # dataset format of the annotation files
    inputs: dict[str, Path] = field(default_factory=dict)  # the architecture's extra stores, by key
    init_from: Path | None = None  # best.pt whose weights start the run (AVST's grounding stage)


def model_dims(architecture: str, audio: Path | None, visual: Path | None,
               inputs: dict[str, Path]) -> dict[str, int]:
    """Config widths read from the stores: audio_dim, visual_dim and each extra input's field."""
    arch = get_architecture(architecture)
    check_input_keys(arch.inputs, inputs, f"architecture {architecture!r}")
    # Only attributes are read here; the stores' chunks are checked when they are opened for reading.
    dims = {f"{role}_dim": int(open_store(path, check_chunks=False).attrs["dim"])
            for role, path in (("audio", audio), ("visual", visual)) if path is not None}
    for key, name in arch.config_cls.input_dims.items():
        if key in inputs:
            dims[name] = int(open_store(inputs[key], check_chunks=False).attrs["dim"])
    return dims


def content_fingerprint(path: Path) -> str:
    """sha256 of a file's bytes; of a folder (a Zarr store), of its files' names, sizes and
    modification times: it changes whenever the store is rewritten, without reading gigabytes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for root, _, names in sorted(os.walk(path)):
            for name in sorted(names):
                stat = (Path(root) / name).stat()
                rel = (Path(root) / name).relative_to(path).as_posix()
                digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return "files:" + digest.hexdigest()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def train_from_files(files: RunFiles, variant: str, out_dir: str | Path, train_cfg: TrainConfig,
                     model_overrides: dict[str, str] | None = None, resume: bool = False,
                     on_epoch_end: Callable[[int], None] | None = None,
                     threads: int | None = None, announce: Callable[[str], None] | None = None) -> TrainResult:
    vocab = Vocab.load(files.vocab)
    architecture = get_variant(variant).architecture
    first = get_variant(variant).init_from
    if first and files.init_from is None:
        raise ConfigError(f"variant {variant!r} starts from the best.pt of a {first!r} run on the same "
                          f"stores and seed: train that (--variant {first}) and pass --init-from "
                          f"<its out dir>/best.pt")
    init_weights = read_init_weights(files.init_from, architecture) if files.init_from else None
    dims = model_dims(architecture, files.audio, files.visual, files.inputs)
    model_cfg = variant_config(variant, vocab_size=len(vocab.words), n_object_words=len(vocab.object_words),
                               n_answers=len(vocab.answers), n_options=vocab.choice_options, **dims)
    model_cfg = apply_overrides(model_cfg, model_overrides or {})
    audio, visual = open_stores(files.audio, files.visual, model_cfg)
    extra = open_inputs(get_architecture(architecture).inputs, files.inputs, f"architecture {architecture!r}")
    train_set, val_set = (make_dataset(p, vocab, model_cfg, audio, visual, train_cfg.stride, train_cfg.in_memory,
                                       files.format, extra)
                          for p in (files.train, files.val))
    test_set = (make_dataset(files.test, vocab, model_cfg, audio, visual, train_cfg.stride, train_cfg.in_memory,
                             files.format, extra)
                if files.test else None)
    attrs = {role: {k: s.attrs.get(k) for k in ("stream", "backbone", "dim", "seconds", "weights")}
             for role, s in (("audio", audio), ("visual", visual)) if s is not None}
    for split, path, dataset in (("training", files.train, train_set), ("validation", files.val, val_set)):
        if len(dataset) == 0:
            raise ConfigError(f"{path}: no {split} question has its video in the feature stores")
    paths = {k: v for k, v in dataclasses.asdict(files).items() if k not in ("inputs", "init_from")}
    inputs = {"variant": variant, **{k: (str(v) if v is not None else None) for k, v in paths.items()},
              "content": {k: content_fingerprint(Path(v)) for k, v in paths.items()
                          if k != "format" and v is not None},
              "stores": attrs, "dropped_questions": {"train": train_set.dropped, "val": val_set.dropped,
                                                     "test": test_set.dropped if test_set else None}}
    if files.inputs:  # only runs of architectures with extra stores get the key (MCD's config is unchanged)
        inputs["inputs"] = {k: {"path": str(p), "content": content_fingerprint(Path(p))}
                            for k, p in sorted(files.inputs.items())}
        inputs["input_stores"] = input_attrs(extra)
    if files.init_from:  # only started runs get the key; a changed checkpoint is a new config
        inputs["init_from"] = {"path": str(files.init_from), "content": content_fingerprint(Path(files.init_from))}
    return train(model_cfg, train_cfg, train_set, val_set, vocab, out_dir, test_set=test_set,
                 resume=resume, inputs=inputs, on_epoch_end=on_epoch_end, threads=threads,
                 init_weights=init_weights, announce=announce)
