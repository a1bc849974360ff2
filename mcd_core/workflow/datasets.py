"""Per-dataset settings (global sections merged with the dataset's own), annotation checks, video
ids and shards.

Used by the Snakefile at parse time, so it imports nothing heavy (the annotation formats are
torch-free). Every record of every split is read with the dataset's format, so a bad record stops
the run before any job, naming the file, the record and the field; loads are cached per file
version, since the Snakefile asks for the video ids of every shard job.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

from mcd_core.data.formats import get_format
from mcd_core.common.ids import avqa_demo_video_id, question_id_problem, video_id_problem
from mcd_core.data.questions import AnnotationError, AnnotationSet, cross_split_duplicates
from mcd_core.media.shardrun import VIDEO_EXTENSIONS, Failure, write_failures
from mcd_core.workflow.config import SECTIONS, ConfigError, audio_store_name, imported_backbone

SPLITS = ("train", "val", "test")
# Missing videos named in the stop message; the rest are counted.
SHOWN_MISSING = 5


class DatasetNotReadyError(RuntimeError):
    """A dataset's videos or annotations are not where the config says."""


@dataclass(frozen=True)
class DatasetSettings:
    name: str
    format: str
    videos: str | None              # None: every stream is imported (`features`), no video is read
    annotations: dict[str, str]
    seconds: int
    generator: dict | None
    extraction: dict
    training: dict
    table: dict
    carve: dict | None = None       # {source, val_questions, seed}: train/val carved by rule `carve`
    features: dict | None = None    # stream -> {import, layout, ...} or {store}: imported, not extracted

    def imported(self, stream: str) -> dict | None:
        """The import settings of `stream`; None when it is extracted."""
        return (self.features or {}).get(stream)

    @property
    def read_paths(self) -> dict[str, str]:
        """The file each split's records come from before any job: a carved split's source (its
        carve file is a rule's output), else the split's file."""
        if self.carve is None:
            return dict(self.annotations)
        return {split: (self.carve["source"] if split in ("train", "val") else path)
                for split, path in self.annotations.items()}

    @property
    def peer_swaps(self) -> dict[str, dict[str, str]]:
        """`training.peer_backbones`, plus the imported streams for every peer key that reads them
        (`scoring.peers.with_imported`)."""
        from mcd_core.scoring.peers import with_imported

        imported = {stream: imported_backbone(spec) for stream, spec in (self.features or {}).items()}
        return with_imported(self.training["peer_backbones"], imported)

    @property
    def audio_store(self) -> str:
        """The audio store's name: the backbone's, `_per_second` added for that reading of a
        clip-level backbone (`config.audio_store_name`)."""
        return audio_store_name(self.extraction)

    @property
    def feature_tag(self) -> str:
        """Names the backbone pair of a run: it is part of every path that depends on features."""
        return f"{self.extraction['visual_backbone']}-{self.audio_store}"


def dataset_settings(config: dict, name: str) -> DatasetSettings:
    if name not in config["datasets"]:
        raise ConfigError(f"dataset {name!r} is not defined under datasets "
                          f"(defined: {', '.join(sorted(config['datasets']))})")
    entry = config["datasets"][name]
    sections = {}
    for section in SECTIONS:
        merged = copy.deepcopy(config[section])
        merged.update(entry.get(section, {}))
        sections[section] = merged
    features = entry.get("features") or None
    for stream, key in (("visual", "visual_backbone"), ("audio", "audio_backbone")):
        if features and stream in features:  # the run tag and store paths name the imported store
            sections["extraction"][key] = imported_backbone(features[stream])
    return DatasetSettings(name=name, format=entry["format"], videos=entry.get("videos"),
                           annotations=dict(entry["annotations"]), seconds=entry["seconds"],
                           generator=entry.get("generator"), carve=entry.get("carve"), features=features,
                           **sections)


def check_video_free(ds: DatasetSettings) -> None:
    """A dataset without videos: every per-video store that a variant of its training.variants
    reads must be imported (a peer's own stream too, e.g. AVST's 14x14 maps). A ConfigError names
    the first that is not, and the ways out. Asked when the dataset's DAG is built
    (`dataset_video_ids`), so that a peer listed for every dataset stops only the one it cannot run on."""
    from mcd_core.features.importers import PREFIX, importable_streams
    from mcd_core.scoring.peers import method_label, video_streams

    if ds.videos is not None:
        return
    for variant in ds.training["variants"]:
        for stream, backbone in video_streams(variant, ds.extraction["visual_backbone"], ds.audio_store,
                                              ds.peer_swaps).items():
            if backbone.startswith(PREFIX):
                continue
            how = (f"import them under datasets.{ds.name}.features.{stream}" if stream in importable_streams()
                   else f"no released file holds them (no layout writes stream {stream!r})")
            raise ConfigError(f"datasets.{ds.name}: no `videos` folder, but {method_label(variant)} "
                              f"(training.variants: {variant}) reads {stream} features of {backbone}, "
                              f"which are extracted from videos; {how}, give `videos`, or drop "
                              f"{variant} from training.variants (docs/features.md)")


def demo_video_ids(count: int, fmt: str = "music_avqa") -> list[str]:
    """Video ids of a built-in demo dataset: 8 digits like MUSIC-AVQA's videos, or VGGSound-like
    clip names for the AVQA-format demo."""
    if fmt == "avqa":
        return [avqa_demo_video_id(i) for i in range(count)]
    return [f"{i:08d}" for i in range(1, count + 1)]


_LOADED: dict[tuple, AnnotationSet] = {}


def load_split(fmt: str, path: str | os.PathLike) -> AnnotationSet:
    """One annotation file read and checked by its format (cached while the file is unchanged),
    with every video id checked for use as a file name."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise AnnotationError(f"{path}: annotation file not found") from None
    key = (fmt, str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _LOADED:
        try:
            annotations = get_format(fmt).load(path)
        except AnnotationError:
            raise
        except (ValueError, KeyError, TypeError) as exc:  # a plugin format's own error: one line too
            raise AnnotationError(f"{path}: {type(exc).__name__}: {exc}") from None
        if not annotations.questions:  # the formats refuse an empty list; this holds for any format
            raise AnnotationError(f"{path}: holds no question records: a split needs questions")
        for i, q in enumerate(annotations.questions):
            problem = question_id_problem(q.question_id)
            if problem:
                raise AnnotationError(f"{path}: record {i}: question_id {problem}")
            problem = video_id_problem(q.video_id)
            if problem:
                raise AnnotationError(f"{path}: question_id {q.question_id!r}: video_id {q.video_id!r} "
                                      f"{problem}; a video id names a file in the videos folder")
        _LOADED[key] = annotations
    return _LOADED[key]


def load_splits(ds: "DatasetSettings") -> dict[str, AnnotationSet]:
    """Each split's records; carved splits are read from their source (both: the whole file)."""
    paths = ds.read_paths
    return {split: load_split(ds.format, paths[split]) for split in SPLITS}


def annotation_video_ids(paths: list[str], fmt: str = "music_avqa") -> list[str]:
    """Sorted union of the video ids of annotation files, every record checked."""
    return sorted({q.video_id for path in paths for q in load_split(fmt, path).questions})


def split_warnings(ds: "DatasetSettings", splits: dict[str, AnnotationSet]) -> list[str]:
    """What is legal but worth saying about a dataset's splits: question ids duplicated within a file
    or shared by splits."""
    if ds.carve is not None:  # train and val are read whole from one source here: compare it with test
        splits = {"train": splits["train"], "test": splits["test"]}
    warnings = []
    for path in dict.fromkeys(a.path for a in splits.values() if a.duplicates):  # a carve source once
        dup = next(a.duplicates for a in splits.values() if a.path == path)
        warnings.append(f"dataset {ds.name!r}: {path}: {len(dup)} duplicated question id(s), e.g. "
                        f"{', '.join(map(str, list(dup)[:5]))} (all copies kept, every copy scored)")
    shared = cross_split_duplicates(splits)
    if shared:
        shown = ", ".join(f"{qid} ({'/'.join(names)})" for qid, names in list(shared.items())[:5])
        warnings.append(f"dataset {ds.name!r}: {len(shared)} question id(s) occur in more than one split: "
                        f"{shown}" + (" ..." if len(shared) > 5 else ""))
    return warnings


def dataset_warnings(ds: "DatasetSettings") -> list[str]:
    """`split_warnings` of a dataset whose annotation files are all in place (read once, cached)."""
    if not all(Path(p).is_file() for p in ds.read_paths.values()):
        return []
    return split_warnings(ds, load_splits(ds))


def datasets_to_check(config: dict, workdir: str | os.PathLike = ".") -> list[str]:
    """Datasets whose annotations are read when the Snakefile is parsed: those built by default
    (`run`) and those with results on disk. For the latter Snakemake would keep an existing output
    when an input function fails, so a bad annotation file must stop the run before that."""
    results = Path(workdir) / "results"
    return [name for name in sorted(config["datasets"])
            if name in config.get("run", []) or (results / name).is_dir()]


def check_annotations(ds: "DatasetSettings", have_results: bool = False) -> list[str]:
    """Read every record of every split of `ds` (AnnotationError naming file, record and field);
    returns warnings. A generated dataset whose files are not written yet is skipped; a missing file
    of another dataset is an error when it has results, else left to `dataset_video_ids`."""
    paths = ds.read_paths
    present = [Path(paths[s]).is_file() for s in SPLITS]
    if not all(present) and (ds.generator is not None or not have_results):
        return []
    if not all(present):
        missing = [f"{split}: {paths[split]}" for split, ok in zip(SPLITS, present) if not ok]
        raise DatasetNotReadyError(
            f"dataset {ds.name!r} has results, but its annotation file(s) are missing "
            f"({'; '.join(missing)}): restore them or point datasets.{ds.name}.annotations at them")
    return split_warnings(ds, load_splits(ds))


def check_dataset_ready(ds: DatasetSettings) -> None:
    """Stop early, saying what to put where, when a (non-generated) dataset is missing files."""
    if ds.generator is not None:
        return
    paths: dict[str, list[str]] = {}  # file -> the splits read from it (a carve source serves two)
    for split, path in ds.read_paths.items():
        paths.setdefault(path, []).append(split)
    missing = [f"  annotations ({', '.join(splits)}): {path}" for path, splits in paths.items()
               if not Path(path).is_file()]
    if ds.videos is not None and not Path(ds.videos).is_dir():
        missing.append(f"  videos folder: {ds.videos}  (one <video_id>.mp4 per video)")
    for stream, spec in (ds.features or {}).items():
        source = spec.get("import") or spec.get("store")
        if source and not Path(source).exists():
            what = f"layout {spec['layout']}" if "layout" in spec else "a finished store"
            missing.append(f"  features.{stream} ({what}; docs/features.md): {source}")
    if missing:
        raise DatasetNotReadyError(
            f"dataset {ds.name!r} is not in place. Put these files where the config says "
            f"(config/config.yaml, datasets.{ds.name}), or point the config elsewhere:\n"
            + "\n".join(missing))


def present_video_ids(videos_dir: str | os.PathLike) -> set[str]:
    """Ids of the video files in a folder (file name without a known container extension)."""
    try:
        entries = list(os.scandir(videos_dir))
    except OSError as exc:
        raise DatasetNotReadyError(f"{videos_dir}: cannot list the videos folder ({exc})") from None
    return {Path(e.name).stem for e in entries
            if e.is_file() and Path(e.name).suffix.lower() in VIDEO_EXTENSIONS}


@functools.lru_cache(maxsize=16)
def _ids_and_missing(videos: str, annotations: tuple[str, ...],
                     fmt: str = "music_avqa") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every annotated video id, those without a file); cached: the Snakefile asks for every job."""
    ids = annotation_video_ids(list(annotations), fmt)
    present = present_video_ids(videos)
    return tuple(ids), tuple(v for v in ids if v not in present)


def _annotated(ds: DatasetSettings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    check_dataset_ready(ds)
    return _ids_and_missing(ds.videos, tuple(dict.fromkeys(ds.read_paths[s] for s in SPLITS)), ds.format)


def missing_video_ids(ds: DatasetSettings) -> list[str]:
    """Annotated videos without a file in the dataset's folder (none for a generated dataset)."""
    return [] if ds.generator is not None or ds.videos is None else list(_annotated(ds)[1])


def missing_videos_message(ds: DatasetSettings, missing: list[str], total: int) -> str:
    shown = ", ".join(missing[:SHOWN_MISSING]) + (", ..." if len(missing) > SHOWN_MISSING else "")
    return (f"dataset {ds.name!r}: {len(missing):,} of the {total:,} videos named by its annotations "
            f"are not in {ds.videos} (first: {shown}; looked for <video_id> with one of "
            f"{', '.join(VIDEO_EXTENSIONS)}). Put them there, point datasets.{ds.name}.videos at "
            f"their folder, or leave them out with `missing_videos: skip` (in datasets.{ds.name}."
            f"extraction, or --config 'extraction={{\"missing_videos\": \"skip\"}}'): their "
            f"questions are then left out and the table's notes say how many")


def zero_videos_message(ds: DatasetSettings, total: int) -> str:
    return (f"datasets.{ds.name}: 0 of {total:,} annotated videos found under {ds.videos} (looked for "
            f"<video_id> with one of {', '.join(VIDEO_EXTENSIONS)}): check `videos` in the config "
            f"(datasets.{ds.name}.videos) names the folder that holds them")


def check_videos_found(ds: DatasetSettings) -> None:
    """The config check of a dataset built by default: a videos folder holding none of the annotated
    videos is a wrong `videos` path, whatever `missing_videos` says (`skip` would leave nothing to
    extract, and the run would fail jobs later). Also stops a dataset not in place, as
    `dataset_video_ids` would."""
    if ds.generator is not None or ds.videos is None:
        return
    ids, missing = _annotated(ds)
    if ids and len(missing) == len(ids):
        raise DatasetNotReadyError(zero_videos_message(ds, len(ids)))


def dataset_video_ids(ds: DatasetSettings) -> list[str]:
    """The videos to extract: a generated dataset's ids, or the annotated ids that have a file.
    Annotated videos without a file stop the run here, before any job, unless the dataset's
    `extraction.missing_videos` is `skip`."""
    if ds.generator is not None:
        return demo_video_ids(ds.generator["videos"], ds.format)
    if ds.videos is None:  # every stream imported: the annotated videos, whatever files exist
        check_video_free(ds)
        check_dataset_ready(ds)
        return annotation_video_ids(list(dict.fromkeys(ds.read_paths[s] for s in SPLITS)), ds.format)
    ids, missing = _annotated(ds)
    if ids and len(missing) == len(ids):
        raise DatasetNotReadyError(zero_videos_message(ds, len(ids)))
    if missing and ds.extraction.get("missing_videos", "stop") != "skip":
        raise DatasetNotReadyError(missing_videos_message(ds, list(missing), len(ids)))
    absent = set(missing)
    if absent:
        check_no_split_emptied(ds, absent)
    return [v for v in ids if v not in absent]


def check_no_split_emptied(ds: DatasetSettings, absent: set[str]) -> None:
    """Under `missing_videos: skip`, a split none of whose videos has a file would train or score on
    nothing: an error naming the split (a carved split is checked through its source file)."""
    for split in SPLITS:
        path = ds.read_paths[split]
        videos = load_split(ds.format, path).video_ids
        if videos <= absent:
            raise DatasetNotReadyError(
                f"dataset {ds.name!r}, split {split} ({path}): 0 of its {len(videos):,} annotated videos "
                f"found in {ds.videos}; `missing_videos: skip` would leave the split with no question")


def write_missing_videos(path: str | os.PathLike, videos: str, annotations: list[str],
                         fmt: str = "music_avqa") -> int:
    """The failures manifest (`mcd_core.media.shardrun` format) of the annotated videos that have
    no file in `videos`; returns their count. Scoring leaves their questions out and notes them."""
    _, missing = _ids_and_missing(str(videos), tuple(annotations), fmt)
    write_failures(path, [Failure(v, "videos", f"no video file in {videos}") for v in missing])
    return len(missing)


def make_shards(video_ids: list[str], shard_size: int) -> list[list[str]]:
    if shard_size < 1:
        raise ConfigError(f"extraction.shard_size must be >= 1, got {shard_size}")
    return [video_ids[i:i + shard_size] for i in range(0, len(video_ids), shard_size)]


def shard_names(n_videos: int, shard_size: int) -> list[str]:
    return [f"shard_{i:05d}" for i in range(math.ceil(n_videos / shard_size))]
