"""Throughput of the feature stages on this machine (random-init weights; prints figures only).

Visual: frames/s of the whole `extract-visual` stage (JPEG decode, preprocessing, model, store
write; the one-off model build is reported apart) against the model alone on in-memory tensors at
the same batch size. Target: stage time <= 1.25 x model time. Audio: videos/s of frames + audio
decode + VGGish log-mel + VGGish through `extract_audio.process_videos`. For each backbone it also
prints the stage's peak of Python-tracked host memory (numpy buffers, via tracemalloc): with rows
written as videos finish, it stays at a few videos' rows whatever the shard size.

    python bench/extract_throughput.py [--videos 8] [--seconds 24] [--rounds 3] [--batch-size 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from videos import make_video  # noqa: E402  (test-video generator shared with the tests)

from mcd_core.features.backbones.visual import create_visual_backbone  # noqa: E402
from mcd_core.common.device import autocast, choose_device  # noqa: E402
from mcd_core.features.extract_visual import VisualJob, extract_visual  # noqa: E402
from mcd_core.media.shards import frames_shard  # noqa: E402


def model_only_seconds(name: str, frames: int, batch_size: int, device: torch.device, precision: str) -> float:
    model, _, spec = create_visual_backbone(name, device=device)
    batch = torch.randn(batch_size, 3, spec.input_size, spec.input_size, device=device)
    with torch.inference_mode(), autocast(device, precision):
        model(batch[:1])  # warm-up (kernel selection, lazy init)
        _sync(device)
        start = time.perf_counter()
        for first in range(0, frames, batch_size):
            out = model(batch[: min(batch_size, frames - first)])
            {k: v.float().cpu() for k, v in out.items()}  # the stage copies results to host too
        _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_visual(name: str, shard: Path, n_frames: int, args, work: Path, device: torch.device) -> None:
    start = time.perf_counter()
    create_visual_backbone(name, device=device)
    build = time.perf_counter() - start
    job = VisualJob(shard, name, work / f"{name}.zarr", device=device.type, precision=args.precision,
                    batch_size=args.batch_size, workers=args.workers, force=True,
                    patch_out=work / f"{name}_patch.zarr" if name == "clip_vit_b32" else None)
    # Stage and model-alone runs alternate, so that drift in the machine's speed hits both alike;
    # each figure is the median of its rounds.
    stages, models = [], []
    tracemalloc.start()
    extract_visual(job)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for _ in range(args.rounds):
        start = time.perf_counter()
        extract_visual(job)
        stages.append(time.perf_counter() - start - build)
        models.append(model_only_seconds(name, n_frames, args.batch_size, device, args.precision))
    stage, model = statistics.median(stages), statistics.median(models)
    print(f"{name:14s} frames {n_frames:5d}  stage {n_frames / stage:8.1f} frames/s  "
          f"model alone {n_frames / model:8.1f} frames/s  stage/model time {stage / model:5.2f}  "
          f"(median of {args.rounds} rounds; model build {build:.1f} s, not in the stage figure); "
          f"host memory peak {peak / 2**20:.0f} MB", flush=True)


def bench_audio(paths: list[Path], seconds: int, device: torch.device) -> None:
    try:
        from mcd_core.features.extract_audio import process_videos
    except ImportError as exc:
        print(f"audio: skipped, the audio stage's API is not importable ({exc})")
        return
    process_videos(paths[:1], seconds, device=device.type)  # warm-up: model build, ffmpeg cache
    start = time.perf_counter()
    process_videos(paths, seconds, device=device.type)
    took = time.perf_counter() - start
    print(f"frames+audio+VGGish  videos {len(paths)} x {seconds} s  {len(paths) / took:.2f} videos/s "
          f"({took / len(paths):.2f} s per video)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3, help="alternating stage / model-alone rounds")
    parser.add_argument("--size", type=int, nargs=2, default=(640, 360), help="video width height")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "clip_vit_b32"])
    parser.add_argument("--skip-audio", action="store_true")
    args = parser.parse_args()
    device = choose_device(args.device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch_size}, "
          f"workers {args.workers}, precision {args.precision}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ids = [f"{i:08d}" for i in range(args.videos)]
        for video_id in ids:
            make_video(work / "videos" / f"{video_id}.mp4", seconds=args.seconds, size=tuple(args.size),
                       fps=25, audio="tones", pattern="testsrc")
        start = time.perf_counter()
        frames_shard(work / "videos", ids, args.seconds, work / "frames", frame_short_side=360)
        took = time.perf_counter() - start
        print(f"frames stage   {args.videos / took:.2f} videos/s ({args.videos * args.seconds} frames)")
        for name in args.backbones:
            bench_visual(name, work / "frames", args.videos * args.seconds, args, work, device)
        if not args.skip_audio:
            bench_audio(sorted((work / "videos").glob("*.mp4")), args.seconds, device)


if __name__ == "__main__":
    main()
