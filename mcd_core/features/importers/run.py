"""`import_features`: a feature file of a known layout -> one store of ours, with its failure list.

Every row is checked (dtype, shape, finite values) on its way into the store; ids the annotations
name but the file lacks, and ids of the file that no annotation names, are problems too. Problems
are logged one line each. `on_error="stop"` then fails with their count and leaves nothing behind;
`"skip"` leaves their rows out and lists them in `<out>.failures.json`, as extraction does.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from mcd_core.features.importers.layouts import STAGE, Layout, get_layout
from mcd_core.features.importers.problems import ImportFeaturesError, Problem, count_line, row_problem
from mcd_core.features.importers.sources import Hdf5Source, NpySource, StoreSource
from mcd_core.features.merge import failures_path
from mcd_core.features.store import StoreMeta, store_writer
from mcd_core.common.atomic import remove_path
from mcd_core.common.progress import progress
from mcd_core.media.shardrun import Failure, write_failures

log = logging.getLogger(__name__)


@dataclass
class ImportJob:
    layout: str
    source: Path
    out: Path
    wanted: Sequence[str] | None = None       # ids the annotations name (None: every id of the file)
    names: dict[str, str] | None = None       # hdf5: str(video_id) -> video_name
    shape: tuple[int, ...] | str | None = None  # a source row's shape; None: as released; "auto": the file's
    seconds: int = 10                         # clip layouts: seconds of a video (AVQA: 10)
    on_error: str = "stop"


@dataclass
class ImportResult:
    out: Path
    rows: int
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""


def open_source(job: ImportJob, layout: Layout):
    if layout.family == "hdf5":
        return Hdf5Source(job.source, layout, job.names)
    if layout.family == "store":
        return StoreSource(job.source)
    return NpySource(job.source, layout)


def row_shape(job: ImportJob, layout: Layout, source) -> tuple[int, ...]:
    """What every source row must look like: given, the file's own (`auto`), or as released."""
    if layout.family == "store":
        return source.shape
    if job.shape == "auto":
        found = source.shape if source.shape is not None else source.first_shape()
        if found is None:
            raise ImportFeaturesError(f"{job.source}: no readable file to infer the row shape from")
        shape = tuple(found)
    else:
        shape = tuple(job.shape or layout.shape)
    if len(shape) != len(layout.shape):
        raise ImportFeaturesError(f"{job.source}: rows of shape {shape}, layout {layout.name!r} has "
                                  f"{len(layout.shape)}-d rows like {layout.shape}")
    if layout.family == "hdf5" and source.shape != shape:
        raise ImportFeaturesError(f"{job.source}: dataset {layout.dataset!r} rows are {source.shape}, "
                                  f"expected {shape} (--shape gives another)")
    return shape


def _meta(job: ImportJob, layout: Layout, source, shape, steps: int, dim: int, digest: str) -> StoreMeta:
    provenance = {"layout": layout.name, "project": layout.project, "file": job.source.name,
                  "path": str(job.source), "sha256": digest, "source_shape": list(shape),
                  "conversion": layout.conversion}
    if layout.family == "store":
        a = source.store.attrs
        provenance.update(original_backbone=a["backbone"], original_weights=a["weights"])
        extra = {k: v for k, v in a.items() if k not in ("stream", "backbone", "dim", "fps", "seconds",
                                                          "weights", "preprocessing", "package_version")}
        return StoreMeta(a["stream"], layout.backbone, a["dim"], a["fps"], a["seconds"],
                         {"imported": layout.name, "file": job.source.name, "sha256": digest},
                         a["preprocessing"], {**extra, "imported": provenance})
    if layout.family == "npy_question":
        fps, seconds = 0.0, steps
    elif layout.per_second:
        fps, seconds = 1.0, steps
    else:
        fps, seconds = steps / job.seconds, job.seconds
    extra = {**layout.extra, "imported": provenance}
    if layout.keyed_by == "question":
        extra["keyed_by"] = "question"
    return StoreMeta(layout.stream, layout.backbone, dim, fps, seconds,
                     {"imported": layout.name, "file": job.source.name, "sha256": digest},
                     {"source": layout.project, "conversion": layout.conversion}, extra)


def _id_problems(job: ImportJob, source, label: str) -> tuple[list[str], list[Problem]]:
    present = set(source.keys)
    if job.wanted is None:
        return sorted(present), []
    wanted = set(job.wanted)
    problems = [Problem(source.file_of(k), k, "missing", f"named by the annotations, not in {job.source}")
                for k in sorted(wanted - present)]
    problems += [Problem(source.file_of(k), k, "extra", f"in the file, but no annotation names this {label}")
                 for k in sorted(present - wanted)]
    return sorted(present & wanted), problems


def import_features(job: ImportJob) -> ImportResult:
    """Write `job.out` (and its failure list) from `job.source`; see the module's docstring."""
    if job.on_error not in ("stop", "skip"):
        raise ImportFeaturesError(f"on_error must be stop or skip, got {job.on_error!r}")
    layout = get_layout(job.layout)
    if not job.source.exists():
        raise ImportFeaturesError(f"{job.source}: no such file or folder (layout {layout.name!r})")
    remove_path(failures_path(job.out))  # an earlier, killed attempt's list must not outlive it
    source = open_source(job, layout)
    try:
        return _write(job, layout, source)
    finally:
        source.close()


def _write(job: ImportJob, layout: Layout, source) -> ImportResult:
    label = "question" if layout.keyed_by == "question" else "video"
    shape = row_shape(job, layout, source)
    keep, problems = _id_problems(job, source, label)
    problems = source.problems + problems
    out_shape = shape if layout.family == "store" else layout.store_row(shape)
    steps, dim = out_shape[0], out_shape[-1]
    digest = source.sha256() if not isinstance(source, NpySource) else ""
    meta = _meta(job, layout, source, shape, steps, dim, digest)
    if layout.family == "hdf5" and job.names is not None:  # keep AVQA's int video_id beside the name
        ids = {name: key for key, name in job.names.items()}
        meta.extra["imported"]["video_id_of"] = {k: ids[k] for k in keep}
    lengths = (source.store.lengths[[source.keys[k] for k in keep]] if layout.family == "store"
               else [steps] * len(keep))
    dtype = str(source.store.features.dtype) if layout.family == "store" else layout.dtype
    position = {k: i for i, k in enumerate(keep)}
    with store_writer(job.out, (len(keep), *out_shape), keep, lengths, meta, dtype) as writer:
        rows = progress(source.rows(keep), total=len(keep), desc=f"import {layout.name}", unit=label)
        for key, values, error in rows:
            found = ("unreadable", error) if error else row_problem(values, shape)
            if found:
                problems.append(Problem(source.file_of(key), key, *found))
                writer.drop(position[key])
                continue
            writer.write(position[key], layout.convert(np.asarray(values, np.float32)))
        for p in problems:
            log.error("%s", p.line(label))
        if problems and job.on_error == "stop":
            raise ImportFeaturesError(f"{job.source}: {count_line(problems)}, one line each above; nothing "
                                      f"written (--on-error skip leaves them out and lists them)")
        if isinstance(source, NpySource):  # known only now that every file was read
            digest = source.sha256()
            _set_digest(writer, meta, digest)
    write_failures(failures_path(job.out), [Failure(p.key, STAGE, f"{p.file}: {p.what}") for p in problems])
    if problems:
        log.warning("%s: %s left out; listed in %s", job.source, count_line(problems), failures_path(job.out))
    return ImportResult(job.out, len(keep) - len(writer.dropped), problems, digest or source.sha256())


def _set_digest(writer, meta: StoreMeta, digest: str) -> None:
    """Record a folder's digest in the store being written (before its manifest): in `meta`, which a
    compaction of dropped rows writes again, and in the group's attributes as they are now."""
    import zarr

    meta.weights["sha256"] = digest
    meta.extra["imported"]["sha256"] = digest
    group = zarr.open_group(store=writer.array.store, mode="r+")
    group.attrs.update({"weights": meta.weights, "imported": meta.extra["imported"]})
