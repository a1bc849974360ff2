"""Pipeline plumbing verbs: `shard-ids` (the video ids of one extraction shard)."""

from __future__ import annotations

def _shard_ids(args) -> int:
    from mcd_core.media.shardrun import write_shard_list

    write_shard_list(args.out, args.ids)
    return 0


def register(sub) -> None:
    p = sub.add_parser("shard-ids", help="write the video ids of one shard, one per line")
    p.add_argument("--out", required=True, help="shard list file to write")
    p.add_argument("ids", nargs="+", help="video ids")
    p.set_defaults(func=_shard_ids)
