"""Verbs for features made elsewhere: `mcd import-features` (a feature file of a known layout ->
our store) and `mcd compare-stores` (an imported store against our extraction of the same videos)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from mcd_core.cli.errors import UserError
from mcd_core.cli.progress_args import add_progress_argument, announce_done
from mcd_core.cli.values import at_least

log = logging.getLogger(__name__)


def parse_shape(text: str):
    if text == "auto":
        return "auto"
    try:
        shape = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected `auto` or sizes like 8,2048, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be >= 1, got {text!r}")
    return shape


def wanted_ids(args: argparse.Namespace, keyed_by: str) -> list[str] | None:
    """The video (or question) ids the annotation files name; None without annotations."""
    if not args.annotations:
        return None
    from mcd_core.data.formats import get_format

    fmt = get_format(args.format)
    questions = [q for path in args.annotations for q in fmt.load(path).questions]
    if keyed_by == "question":
        return sorted({str(q.question_id) for q in questions})
    return sorted({q.video_id for q in questions})


def run_import(args: argparse.Namespace) -> int:
    from mcd_core.features.importers import get_layout
    from mcd_core.features.importers.idmap import map_from_records, read_video_map
    from mcd_core.features.importers.run import ImportJob, import_features
    from mcd_core.features.merge import failures_path

    layout = get_layout(args.layout)
    names = None
    if layout.family == "hdf5":
        if args.video_map:
            names = read_video_map(args.video_map)
        elif args.annotations:
            names = map_from_records(args.annotations)
        else:
            raise UserError(f"layout {layout.name!r} keys rows by AVQA's video_id ints: give --video-map "
                            f"video_map.json or --annotations (the QA files) to name the videos")
    job = ImportJob(layout.name, args.source, args.out, wanted_ids(args, layout.keyed_by), names,
                    args.shape, args.seconds, args.on_error)
    began = time.perf_counter()
    result = import_features(job)
    log.info("wrote %s: %d %ss from %s (sha256 %s); %d left out, listed in %s", result.out, result.rows,
             layout.keyed_by, args.source, result.sha256[:12], len(result.problems), failures_path(result.out))
    announce_done(args, "import", args.out,
                  lambda: f"{result.rows} {layout.keyed_by}s imported, {len(result.problems)} left out", began)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.features.compare import compare_stores

    result = compare_stores(args.a, args.b)
    print(result.summary())
    if args.csv:
        lines = ["video_id,cosine,shape"]
        for vid in sorted({*result.cosine, *result.mismatched}):
            value = f"{result.cosine[vid]:.6f}" if vid in result.cosine else ""
            lines.append(f"{vid},{value},{result.mismatched.get(vid, 'same')}")
        write_text(args.csv, "\n".join(lines) + "\n")
    return 0


def register(subparsers) -> None:
    from mcd_core.features.importers.layouts import LAYOUTS

    p = subparsers.add_parser("import-features", help="convert feature files users already have into a store",
                              description="Convert a feature file (AVQA's HDF5, a folder of per-video or "
                                          "per-question .npy files, or a finished store) into a feature store "
                                          "named imported_<layout>, recording the file's name, sha256 and layout. "
                                          "Layouts: " + "; ".join(f"{n}: {l.project}" for n, l in LAYOUTS.items()))
    p.add_argument("--layout", required=True, choices=list(LAYOUTS), help="the source's layout (docs/features.md)")
    p.add_argument("--source", type=Path, required=True, help="the HDF5 file, the .npy folder or the store")
    p.add_argument("--out", type=Path, required=True, help="the store to write (.zarr); its failure list beside it")
    p.add_argument("--annotations", type=Path, nargs="*", default=[],
                   help="annotation files: ids they name but the source lacks (or the reverse) are problems; "
                        "AVQA QA files also map video_id ints to video names")
    p.add_argument("--format", default="music_avqa", help="format of --annotations (music_avqa, avqa)")
    p.add_argument("--video-map", type=Path, default=None, help="AVQA's video_map.json (video_id <-> video_name)")
    p.add_argument("--shape", type=parse_shape, default=None,
                   help="one source row's shape, e.g. 8,2048, or `auto` (the file's); default: as released")
    p.add_argument("--seconds", type=at_least(1), default=10, help="seconds of a video (clip-level layouts)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="stop at any bad row, or leave it out and list it in the failure list")
    add_progress_argument(p, "the rows imported and left out, when done")
    p.set_defaults(func=run_import)

    c = subparsers.add_parser("compare-stores", help="per-video cosine similarity and shapes of two stores",
                              description="Compare two stores of the same videos (e.g. imported vs extracted): "
                                          "videos only in A or B, shape mismatches, mean and min cosine.")
    c.add_argument("a", type=Path, help="store A (.zarr)")
    c.add_argument("b", type=Path, help="store B (.zarr)")
    c.add_argument("--csv", type=Path, default=None, help="write the per-video cosine and shape here")
    c.set_defaults(func=run_compare)
