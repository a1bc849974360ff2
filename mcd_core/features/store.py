"""The feature-store layout shared by extraction (writer) and training (reader).

One Zarr v3 group per stream and backbone, `results/<dataset>/features/<stream>/<backbone>.zarr`:

- `features`  float32 [N, S, D] (patch streams: [N, S, P, D]); S = seconds * fps steps: T for the
  per-second streams (fps 1), 8 clips of a 10 s AVQA video (fps 0.8), 1 for a clip-level embedding
  (fps 1 / T); float16 where the writer asks for it (the 14x14 map stream: half the disk, read back
  as float16 and widened by the reader)
- `lengths`   int16 [N]: steps of real content; steps past it are padding (cycled last second)
- `video_id`  str [N]
- optional per-video flag arrays (bool [N]), e.g. `no_audio` for videos without an audio stream
- attributes: backbone, dim, fps, seconds, weights, preprocessing, package_version, stream, ...
- `manifest.json` (not a Zarr node): every chunk file's key, size and CRC-32 (`manifest.py`)

Extraction jobs each write one complete shard store (atomically); `merge_stores` concatenates
finished shards into the final store. No two writers ever touch one Zarr store. Every writer records
the store's chunks and their checksums in `manifest.json` last (`manifest.py`); `open_store` checks
that they are all there before anything is read, and reads name the chunk that does not decode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import zarr
from zarr.dtype import VariableLengthUTF8

from mcd_core import __version__
from mcd_core.common.atomic import atomic_path
from mcd_core.features.checked import CheckedArray
from mcd_core.features.errors import StoreDamagedError, StoreError
from mcd_core.features.manifest import missing_chunks, read_manifest, record_manifest, summary, warn_unrecorded

# Consolidated metadata is not yet in the Zarr v3 spec; zarr-python supports it and we rely on it
# only as a read speed-up, so its warning is noise for our users.
warnings.filterwarnings("ignore", message="Consolidated metadata")

REQUIRED_ATTRS = ("stream", "backbone", "dim", "fps", "seconds", "weights", "preprocessing",
                  "package_version")


@dataclass
class StoreMeta:
    stream: str                 # "visual", "visual_patch" or "audio"
    backbone: str               # registry name, e.g. "resnet18", "vggish"
    dim: int                    # feature width D
    fps: float                  # time steps per second of video (1.0 for per-second streams)
    seconds: int                # T, the dataset's seconds per video (steps = seconds * fps)
    weights: dict[str, Any]     # {"file", "sha256"} or {"random_init": True, "seed": int}
    preprocessing: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """S, the rows of one video: `seconds * fps` (T for per-second streams). fps 0 marks rows
        that are not time steps (a per-question text store's tokens): then S = `seconds`."""
        if self.fps == 0:
            return self.seconds
        return max(1, round(self.seconds * self.fps))

    def to_attrs(self) -> dict[str, Any]:
        attrs = {k: getattr(self, k) for k in REQUIRED_ATTRS if k != "package_version"}
        attrs["package_version"] = __version__
        attrs.update(self.extra)
        return attrs


def _validate_layout(shape: tuple[int, ...], lengths: np.ndarray, video_ids: Sequence[str],
                     meta: StoreMeta, flags: Mapping[str, np.ndarray]) -> None:
    n = len(video_ids)
    if len(shape) not in (3, 4):
        raise StoreError(f"features must be [N, T, D] or [N, T, P, D], got shape {shape}")
    if shape[0] != n or lengths.shape != (n,):
        raise StoreError(f"{n} video ids but features {shape} and lengths {lengths.shape}")
    if shape[1] != meta.steps:
        raise StoreError(f"features have {shape[1]} steps, expected {meta.steps} ({meta.seconds} s at "
                         f"{meta.fps:g} steps a second)")
    if shape[-1] != meta.dim:
        raise StoreError(f"features have width {shape[-1]}, backbone dim is {meta.dim}")
    if n and (lengths.min() < 0 or lengths.max() > meta.steps):
        raise StoreError(f"lengths must lie in [0, {meta.steps}], got {lengths.min()}..{lengths.max()}")
    if len(set(video_ids)) != n:
        raise StoreError("duplicate video ids in one store")
    for name, arr in flags.items():
        if np.asarray(arr).shape != (n,):
            raise StoreError(f"flag {name!r} must have shape ({n},)")


DTYPES = ("float32", "float16")
MERGE_ROWS = 16  # rows copied at once by merge_stores


def _check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise StoreError(f"feature dtype must be one of {DTYPES}, got {dtype!r}")
    return dtype


def _create_group(tmp: Path, shape: tuple[int, ...], video_ids: Sequence[str], lengths: np.ndarray,
                  flags: Mapping[str, np.ndarray], meta: StoreMeta, dtype: str = "float32"):
    group = zarr.open_group(store=str(tmp), mode="w", zarr_format=3)
    chunks = (1,) + tuple(shape[1:])  # one video per chunk: cheap random access in training
    arr = group.create_array("features", shape=shape, dtype=_check_dtype(dtype),
                             chunks=chunks if shape[0] else "auto")
    group.create_array("lengths", data=lengths)
    ids = group.create_array("video_id", shape=(len(video_ids),), dtype=VariableLengthUTF8())
    if len(video_ids):
        ids[...] = np.array(list(video_ids), dtype=object)
    for name, values in flags.items():
        group.create_array(name, data=np.asarray(values, dtype=bool))
    group.attrs.update(meta.to_attrs())
    return group, arr


def write_store(path: str | os.PathLike, features: np.ndarray, lengths: Iterable[int],
                video_ids: Sequence[str], meta: StoreMeta,
                flags: Mapping[str, np.ndarray] | None = None, dtype: str = "float32") -> Path:
    """Validate and write a complete store under a temporary name, then rename it to `path`
    (`dtype`: the stored precision of `features`, float32 or float16)."""
    features = np.asarray(features, dtype=np.float32)
    lengths = np.asarray(list(lengths), dtype=np.int16)
    video_ids = [str(v) for v in video_ids]
    flags = dict(flags or {})
    _validate_layout(features.shape, lengths, video_ids, meta, flags)
    if not np.isfinite(features).all():
        bad = sorted({video_ids[i] for i in np.argwhere(~np.isfinite(features))[:, 0]})
        raise StoreError(f"non-finite feature values for videos {bad[:10]}")
    with atomic_path(path, is_dir=True) as tmp:
        _, arr = _create_group(tmp, features.shape, video_ids, lengths, flags, meta, dtype)
        if len(video_ids):
            arr[...] = features
        zarr.consolidate_metadata(str(tmp))
        record_manifest(tmp)
    return Path(path)


class RowWriter:
    """Rows of a store being written one video at a time (see `store_writer`)."""

    def __init__(self, array, video_ids: Sequence[str]):
        self.array = array
        self.video_ids = list(video_ids)
        self.written: set[int] = set()
        self.dropped: set[int] = set()

    def write(self, row: int, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float32)
        if values.shape != tuple(self.array.shape[1:]):
            raise StoreError(f"row {row}: shape {values.shape}, store rows are {tuple(self.array.shape[1:])}")
        if not np.isfinite(values).all():
            raise StoreError(f"non-finite feature values for video {self.video_ids[row]!r}")
        if self.array.dtype == np.float16 and values.size and np.abs(values).max() > np.finfo(np.float16).max:
            raise StoreError(f"feature values of video {self.video_ids[row]!r} overflow float16")
        self.array[row] = values
        self.written.add(row)

    def drop(self, row: int) -> None:
        """Leave video `row` out of the final store (it failed)."""
        self.dropped.add(row)
        self.written.discard(row)


@contextlib.contextmanager
def store_writer(path: str | os.PathLike, shape: tuple[int, ...], video_ids: Sequence[str],
                 lengths: Iterable[int], meta: StoreMeta, dtype: str = "float32") -> Iterator[RowWriter]:
    """Write a store row by row, so that no more than a few rows are ever held in memory (CLIP patch
    stores hold ~6 MB per video). Under a temporary name until the block ends: then rows that were
    dropped are compacted away and the store is renamed to `path`; on an error nothing is left."""
    video_ids = [str(v) for v in video_ids]
    lengths = np.asarray(list(lengths), dtype=np.int16)
    _validate_layout(tuple(shape), lengths, video_ids, meta, {})
    with atomic_path(path, is_dir=True) as tmp:
        _, arr = _create_group(tmp, tuple(shape), video_ids, lengths, {}, meta, dtype)
        writer = RowWriter(arr, video_ids)
        yield writer
        missing = set(range(len(video_ids))) - writer.written - writer.dropped
        if missing:
            raise StoreError(f"{path}: rows of {len(missing)} videos were never written, "
                             f"e.g. {video_ids[min(missing)]!r}")
        if writer.dropped:
            _compact(tmp, arr, sorted(writer.written), video_ids, lengths, meta)
        zarr.consolidate_metadata(str(tmp))
        record_manifest(tmp)


def _compact(tmp: Path, arr, keep: list[int], video_ids: list[str], lengths: np.ndarray,
             meta: StoreMeta) -> None:
    """Rewrite the store at `tmp` with only the rows `keep`, one row in memory at a time."""
    side = tmp.with_name(tmp.name + "-kept")
    _, out = _create_group(side, (len(keep), *arr.shape[1:]), [video_ids[i] for i in keep],
                           lengths[keep], {}, meta, str(arr.dtype))
    for new, old in enumerate(keep):
        out[new] = arr[old]
    shutil.rmtree(tmp)
    os.replace(side, tmp)


@dataclass
class FeatureStore:
    """An opened store: lazy `features`, eager small arrays."""

    path: Path
    features: Any               # zarr array, indexed lazily
    lengths: np.ndarray
    video_ids: list[str]
    attrs: dict[str, Any]
    flags: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        self.index = {v: i for i, v in enumerate(self.video_ids)}

    def __len__(self) -> int:
        return len(self.video_ids)

    def row(self, video_id: str) -> int:
        try:
            return self.index[video_id]
        except KeyError:
            raise StoreError(f"video {video_id!r} is not in feature store {self.path}") from None


def check_attrs(path: Path, attrs: Mapping[str, Any], expect: Mapping[str, Any]) -> None:
    """Stop with a message naming the key when a store's attributes differ from what is expected."""
    for key, want in expect.items():
        if key not in attrs:
            raise StoreError(f"{path}: attribute {key!r} is missing (expected {want!r})")
        if attrs[key] != want:
            raise StoreError(f"{path}: attribute {key!r} is {attrs[key]!r}, expected {want!r}; "
                             f"re-run extraction or fix the config")


def open_store(path: str | os.PathLike, expect: Mapping[str, Any] | None = None,
               check_chunks: bool = True) -> FeatureStore:
    """The store at `path`, its attributes checked against `expect` and (`check_chunks`) every chunk
    its manifest lists found at its size, so a lost chunk stops the reader before its first step."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"feature store {path} does not exist; run the extraction stage first")
    try:
        group = zarr.open_group(store=str(path), mode="r", use_consolidated=True)
        attrs = dict(group.attrs)
        missing = [k for k in REQUIRED_ATTRS if k not in attrs]
        if missing:
            raise StoreError(f"{path}: attributes {missing} are missing; not a complete feature store")
        names = set(group.array_keys())
        for key in ("features", "lengths", "video_id"):
            if key not in names:
                raise StoreError(f"{path}: array {key!r} is missing")
        label = row_label(attrs)
        damage = _lost_chunks(path) if check_chunks else []
        ids_lost = any(d.array == "video_id" for d in damage)
        video_ids = ([] if ids_lost else
                     [str(v) for v in CheckedArray(group["video_id"], path, "video_id", None, label)[...]])
        if damage:
            raise StoreDamagedError(summary(path, damage, None if ids_lost else video_ids, label))
        lengths = np.asarray(CheckedArray(group["lengths"], path, "lengths", video_ids, label)[...])
        flags = {k: np.asarray(CheckedArray(group[k], path, k, video_ids, label)[...])
                 for k in sorted(names - {"features", "lengths", "video_id"})}
        features = CheckedArray(group["features"], path, "features", video_ids, label)
    except StoreError:
        raise
    except Exception as exc:  # zarr/json errors: report the store, not a deep traceback
        raise StoreError(f"{path}: cannot be read as a feature store ({exc})") from exc
    if features.shape[0] != len(video_ids) or features.shape[-1] != attrs["dim"]:
        raise StoreError(f"{path}: features shape {features.shape} does not match "
                         f"{len(video_ids)} videos of dim {attrs['dim']}")
    check_attrs(path, attrs, expect or {})
    return FeatureStore(path, features, lengths, video_ids, attrs, flags)


def row_label(attrs: Mapping[str, Any]) -> str:
    """What a store's rows are: "question" for per-question stores, else "video"."""
    return "question" if attrs.get("keyed_by") == "question" else "video"


def row_names(path: Path) -> tuple[list[str], str]:
    """The ids of a store's rows and what they are ("video" or "question"), reading no other array."""
    try:
        group = zarr.open_group(store=str(path), mode="r", use_consolidated=True)
        label = row_label(dict(group.attrs))
        return [str(v) for v in CheckedArray(group["video_id"], path, "video_id", None, label)[...]], label
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"{path}: cannot be read as a feature store ({exc})") from exc


def _lost_chunks(path: Path) -> list:
    manifest = read_manifest(path)
    if manifest is None:
        warn_unrecorded(path)
        return []
    return missing_chunks(path, manifest)


def open_features(path: Path, ids: Sequence[str], label: str = "video") -> CheckedArray:
    """The `features` array of the store at `path`, opened afresh (one handle per process)."""
    group = zarr.open_group(store=str(path), mode="r", use_consolidated=True)
    return CheckedArray(group["features"], path, "features", ids, label)


def merge_stores(parts: Sequence[str | os.PathLike], out: str | os.PathLike,
                 extra_attrs: Mapping[str, Any] | None = None) -> Path:
    """Concatenate shard stores with equal attributes into one store, one shard in memory at a time."""
    if not parts:
        raise StoreError("no shard stores to merge")
    stores = [open_store(p) for p in parts]
    first = stores[0].attrs
    for s in stores[1:]:
        for key in REQUIRED_ATTRS:
            if s.attrs.get(key) != first.get(key):
                raise StoreError(f"cannot merge {s.path} into {stores[0].path}: attribute {key!r} "
                                 f"differs ({s.attrs.get(key)!r} vs {first.get(key)!r})")
    video_ids = [v for s in stores for v in s.video_ids]
    if len(set(video_ids)) != len(video_ids):
        raise StoreError("the shards to merge share video ids")
    lengths = np.concatenate([s.lengths for s in stores]).astype(np.int16)
    flag_names = sorted({k for s in stores for k in s.flags})
    flags = {k: np.concatenate([s.flags.get(k, np.zeros(len(s), bool)) for s in stores])
             for k in flag_names}
    extra = {k: v for k, v in first.items() if k not in REQUIRED_ATTRS}
    extra.update(extra_attrs or {})
    meta = StoreMeta(first["stream"], first["backbone"], first["dim"], first["fps"],
                     first["seconds"], first["weights"], first["preprocessing"], extra)
    shape = (len(video_ids),) + tuple(stores[0].features.shape[1:])
    dtypes = {str(s.features.dtype) for s in stores}
    if len(dtypes) > 1:
        raise StoreError(f"cannot merge shard stores of different feature dtypes {sorted(dtypes)}")
    with atomic_path(out, is_dir=True) as tmp:
        _, arr = _create_group(tmp, shape, video_ids, lengths, flags, meta, dtypes.pop())
        row = 0
        for s in stores:  # a few rows at a time: 14x14 map rows are ~12 MB each
            for start in range(0, len(s), MERGE_ROWS):
                block = s.features[start:start + MERGE_ROWS]
                arr[row:row + len(block)] = block
                row += len(block)
        zarr.consolidate_metadata(str(tmp))
        record_manifest(tmp)
    return Path(out)
