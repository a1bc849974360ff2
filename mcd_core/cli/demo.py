"""`mcd demo-data`: write the built-in synthetic demo dataset (videos + MUSIC-AVQA annotations)."""

from __future__ import annotations

import argparse
import os


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo-data", help="generate the synthetic demo dataset from a seed",
        description="Write DIR/videos/<id>.mp4, DIR/annotations/avqa-{train,val,test}.json and "
                    "DIR/scenes.json (ground truth). Re-running with the same arguments skips "
                    "finished videos; the same seed gives byte-identical annotations and scenes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out-dir", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="root random seed")
    parser.add_argument("--videos", type=int, default=150, help="number of videos (>= 10)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each video (>= 2)")
    parser.add_argument("--width", type=int, default=320, help="frame width (even)")
    parser.add_argument("--height", type=int, default=240, help="frame height (even)")
    parser.add_argument("--fps", type=int, default=12, help="frames per second")
    parser.add_argument("--sample-rate", type=int, default=22050, help="audio sample rate (Hz)")
    parser.add_argument("--questions-per-video", type=int, default=24,
                        help="questions asked about each video, at most one per template (avqa format: "
                             "one per question type, so 8 at most)")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="videos encoded at once (one ffmpeg process each)")
    parser.add_argument("--format", choices=("music_avqa", "avqa"), default="music_avqa",
                        help="annotation format: MUSIC-AVQA (avqa-{train,val,test}.json) or AVQA "
                             "(train_qa.json, val_qa.json: four options, eight question types)")
    parser.add_argument("--no-media", action="store_true",
                        help="write scenes and annotations only, no videos")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mcd_core.demo.dataset import DemoConfig, write_dataset

    config = DemoConfig(seed=args.seed, videos=args.videos, seconds=args.seconds, width=args.width,
                        height=args.height, fps=args.fps, sample_rate=args.sample_rate,
                        questions_per_video=args.questions_per_video)
    if args.format == "avqa":
        from mcd_core.demo.avqa import write_avqa_dataset

        files = write_avqa_dataset(config, args.out_dir, media=not args.no_media, jobs=args.jobs)
        print(f"AVQA-format demo dataset in {args.out_dir}: {config.videos} videos; questions: "
              f"train_qa.json {len(files['train'])}, val_qa.json (test) {len(files['val'])}")
        return 0
    dataset = write_dataset(config, args.out_dir, media=not args.no_media, jobs=args.jobs)
    counts = ", ".join(f"{split} {len(records)}" for split, records in dataset.annotations.items())
    print(f"demo dataset in {args.out_dir}: {config.videos} videos; questions: {counts}")
    return 0
