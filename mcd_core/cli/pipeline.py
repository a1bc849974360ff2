"""Pipeline plumbing verbs: `shard-ids` (the video ids of one extraction shard), `missing-videos`
(the annotated videos that have no file), `variants` (the registered model variants)."""

from __future__ import annotations

from mcd_core.cli.annotations import add_format_argument


def _shard_ids(args) -> int:
    from mcd_core.media.shardrun import write_shard_list

    write_shard_list(args.out, args.ids)
    return 0


def _missing_videos(args) -> int:
    from mcd_core.workflow.datasets import write_missing_videos

    count = write_missing_videos(args.out, args.videos, args.annotations, args.format)
    print(f"{count} annotated videos have no file in {args.videos}: {args.out}")
    return 0


def _variants(args) -> int:
    from mcd_core.models import architecture_inputs, get_variant, list_variants

    for name in list_variants():
        variant = get_variant(name)
        extra = architecture_inputs(variant.architecture)
        reads = (" [--input " + ", ".join(f"{i.key}={i.stream}/{i.backbone}" for i in extra) + "]") if extra else ""
        print(f"{name:24s} {variant.architecture:6s} {variant.description}{reads}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("shard-ids", help="write the video ids of one shard, one per line")
    p.add_argument("--out", required=True, help="shard list file to write")
    p.add_argument("ids", nargs="+", help="video ids")
    p.set_defaults(func=_shard_ids)

    p = sub.add_parser("missing-videos", help="list the annotated videos that have no file, as a "
                                              "failures manifest (for `missing_videos: skip`)")
    p.add_argument("--videos", required=True, help="folder of the video files")
    p.add_argument("--annotations", required=True, nargs="+", help="annotation JSON files")
    p.add_argument("--out", required=True, help="failures manifest (JSON) to write")
    add_format_argument(p)
    p.set_defaults(func=_missing_videos)

    p = sub.add_parser("variants", help="the registered model variants, one line each "
                                        "(names for training.variants and `mcd train --variant`)")
    p.set_defaults(func=_variants)
