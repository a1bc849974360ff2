"""Training throughput of MCD by feature path: Zarr through a DataLoader, preloaded in memory
through a DataLoader, and resident on the device with batches indexed there (no DataLoader).

Writes synthetic MUSIC-AVQA-shaped stores (T=60, visual 512-d, audio 128-d) to a temp dir, then
times (a) the data pipeline alone and (b) full training steps (forward, backward, Adam) for each
path, and projects one epoch of the 31,927-question MUSIC-AVQA train split. Prints figures only.
On CUDA the model runs under the training default precision (bf16 autocast).

It also prints the two figures of the training loop itself (issue 20), on resident features:
- `loop/model X.XX`: an epoch of `mcd_core.training.loop`'s epoch function (batch indexing, the
  step, metrics, progress bar) over the same batches' forward + backward + optimizer step alone,
  the batches gathered beforehand (median of `--rounds` alternating rounds);
- `syncs/step N`: the reads of tensor values back to the host that one training step asks for
  (`mcd_core.common.syncs`), from the difference between epochs of 1 and 3 steps.

With `--compile` each training step's forward pass and loss run through torch.compile, as
`mcd train --compile` (TrainConfig.compile=step) does: CUDA graphs on CUDA; the first (untimed)
step of each round compiles. Adam is the one `mcd train` builds: fused on CUDA, foreach elsewhere.
Evaluation samples/s (no backward, `--eval-batch-size`) is printed for the resident features.

    .venv/bin/python bench/train_throughput.py [--videos 256] [--steps 5] [--rounds 4] [--device auto]
                                               [--compile] [--eval-batch-size 1024]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from mcd_core.data.formats.music_avqa import Question, tokenize
from mcd_core.common.device import choose_device
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.scoring.predict import to_device
from mcd_core.models import build_model, variant_config
from mcd_core.features.store import StoreMeta, open_store, write_store
from mcd_core.common.syncs import count_host_reads
from mcd_core.scoring.predict import predict_indices
from mcd_core.training.config import TrainConfig
from mcd_core.training.loop import (_train_epoch, adam_options, build_optimizer, forward_loss, optimizer_name,
                                    step_forward, train_step)

TRAIN_QUESTIONS = 31_927  # json_update train split
TEMPLATE = "Is the <Object> in the video always playing?"


def synthetic(tmp: Path, n_videos: int, seconds: int):
    rng = np.random.default_rng(0)
    ids = [f"{i:08d}" for i in range(n_videos)]
    stores = []
    for stream, dim in (("audio", 128), ("visual", 512)):
        meta = StoreMeta(stream, "synthetic", dim, 1.0, seconds, {"random_init": True, "seed": 0}, {})
        x = rng.normal(size=(n_videos, seconds, dim)).astype(np.float32)
        stores.append(open_store(write_store(tmp / f"{stream}.zarr", x, [seconds] * n_videos, ids, meta)))
    questions = [Question(q, ids[q % n_videos], "Audio-Visual", "Existential", TEMPLATE, (inst,),
                          ans, tokenize(TEMPLATE, (inst,)))
                 for q, (inst, ans) in enumerate(zip(["piano", "cello"] * n_videos * 2, ["yes", "no", "no"] * n_videos))]
    return questions[: 4 * n_videos], stores


def batches(data, batch_size: int, workers: int, seed: int, device: torch.device):
    generator = torch.Generator().manual_seed(seed)
    if isinstance(data, ResidentBatches):
        return data.batches(batch_size, shuffle=True, generator=generator)
    return DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers, generator=generator,
                      pin_memory=device.type == "cuda")


def time_loader(data, batch_size: int, workers: int, steps: int, device: torch.device) -> float:
    loader = batches(data, batch_size, workers, 0, device)
    began, seen = time.perf_counter(), 0
    for i, batch in enumerate(loader):
        seen += len(batch["answer"])
        if i + 1 == steps:
            break
    return seen / (time.perf_counter() - began)


def time_training(data, model, opt, batch_size: int, workers: int, steps: int, seed: int,
                  device: torch.device = torch.device("cpu"), forward=forward_loss) -> float:
    """Samples/s of `steps` full training steps (loading, forward, backward, Adam), after one
    untimed warm-up step."""
    precision = "bf16" if device.type == "cuda" else "fp32"
    seen, began = 0, None
    for i, batch in enumerate(batches(data, batch_size, workers, seed, device)):
        if i == 1:  # the first step warms up allocators, kernels and (for Zarr) the file handles
            if device.type == "cuda":
                torch.cuda.synchronize()
            began, seen = time.perf_counter(), 0
        batch = to_device(batch, device)
        train_step(model, batch, opt, device, precision, forward=forward)
        seen += len(batch["answer"])
        if i + 1 == steps + 1:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - began)


def _timed(run, device: torch.device) -> float:
    began = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began


def loop_over_model(resident: ResidentBatches, model, opt, batch_size: int, rounds: int,
                    device: torch.device, precision: str, forward=forward_loss) -> tuple[float, list[float]]:
    """Median over rounds of (epoch through the training loop) / (the same batches' steps alone)."""
    def batches():
        return resident.batches(batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))

    gathered = list(batches())
    ratios = []
    for r in range(rounds + 1):
        def loop():
            _train_epoch(model, batches(), opt, device, precision, desc="bench", forward=forward)

        def alone():
            for batch in gathered:
                train_step(model, batch, opt, device, precision, forward=forward)
        order = (loop, alone) if r % 2 == 0 else (alone, loop)
        seconds = {f: _timed(f, device) for f in order}
        if r:  # the first round warms up allocators and kernels
            ratios.append(seconds[loop] / seconds[alone])
    return statistics.median(ratios), ratios


def syncs_per_step(resident: ResidentBatches, model, opt, batch_size: int, device: torch.device,
                   precision: str, forward=forward_loss) -> float:
    """Host reads per training step: epochs of 3 and of 1 batches, the difference over 2 (what an
    epoch reads once, at its end, cancels out)."""
    first = list(resident.batches(batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)))[:3]
    counts = []
    for steps in (1, 3):
        with count_host_reads() as reads:
            _train_epoch(model, iter(first[:steps]), opt, device, precision, desc="bench", forward=forward)
        counts.append(sum(reads.values()))
    return (counts[1] - counts[0]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=256)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per round")
    parser.add_argument("--rounds", type=int, default=4, help="alternating timed rounds per path")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers (training default: 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the step (mcd train --compile)")
    parser.add_argument("--eval-batch-size", type=int, default=TrainConfig().eval_batch_size,
                        help="questions per evaluation forward pass")
    args = parser.parse_args()
    device = choose_device(args.device)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as `mcd train` does on CPU (TrainConfig.flush_denormal)
    with tempfile.TemporaryDirectory() as tmp:
        questions, (audio, visual) = synthetic(Path(tmp), args.videos, args.seconds)
        vocab = Vocab.from_questions(questions)
        began = time.perf_counter()
        mem = AVQADataset(questions, vocab, audio, visual, in_memory=True)
        preload = time.perf_counter() - began
        lazy = AVQADataset(questions, vocab, audio, visual)
        began = time.perf_counter()
        resident = ResidentBatches(mem, device)
        placed = time.perf_counter() - began
        paths = {"zarr": lazy, "memory": mem, "resident": resident}
        print(f"{len(questions)} questions over {args.videos} videos, T={args.seconds}, batch {args.batch_size}, "
              f"{args.threads} torch threads, {args.workers} workers, device {device}, "
              f"compile {'step' if args.compile else 'off'}, {optimizer_name(adam_options(device))}")
        print(f"preload of {args.videos} videos into memory: {preload:.2f} s; onto {device}: {placed:.2f} s "
              f"({ResidentBatches.nbytes(mem) / 2**20:.0f} MB)")
        for name, data in paths.items():
            rate = time_loader(data, args.batch_size, args.workers, args.steps, device)
            print(f"data only   [{name:>8}]: {rate:9.1f} samples/s")
        torch.manual_seed(0)
        cfg = variant_config("mcd", n_answers=len(vocab.answers), vocab_size=len(vocab.words),
                             n_object_words=len(vocab.object_words))
        model = build_model(cfg).to(device)
        opt = build_optimizer(model, TrainConfig(lr=1e-3), device)
        forward = step_forward("step" if args.compile else "off", device)
        # Rounds alternate the order of the paths, so that drift in the machine's speed (other load,
        # clocks) hits all alike; the figure per path is its median round.
        rates = {name: [] for name in paths}
        for r in range(args.rounds):
            for name in list(paths)[:: 1 if r % 2 == 0 else -1]:
                rates[name].append(time_training(paths[name], model, opt, args.batch_size, args.workers,
                                                 args.steps, r, device, forward))
        for name, values in rates.items():
            rate = statistics.median(values)
            print(f"train steps [{name:>8}]: {rate:9.1f} samples/s (median of {args.rounds} rounds of "
                  f"{args.steps} steps) -> one epoch of {TRAIN_QUESTIONS} questions ~ "
                  f"{TRAIN_QUESTIONS / rate / 60:.1f} min; rounds: {', '.join(f'{x:.1f}' for x in values)}")
        overhead = 100 * (statistics.median(rates["memory"]) / statistics.median(rates["zarr"]) - 1)
        print(f"loading from Zarr adds: {overhead:.1f} % to a training step")
        gain = 100 * (statistics.median(rates["resident"]) / statistics.median(rates["memory"]) - 1)
        print(f"resident on {device} vs in-memory DataLoader: {gain:+.1f} % samples/s")
        precision = "bf16" if device.type == "cuda" else "fp32"
        ratio, ratios = loop_over_model(resident, model, opt, args.batch_size, args.rounds, device, precision,
                                        forward)
        print(f"loop/model {ratio:.2f} (MCD N={cfg.n_blocks}, batch {args.batch_size}, resident on {device}; "
              f"rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
        print(f"syncs/step {syncs_per_step(resident, model, opt, args.batch_size, device, precision, forward):g}")
        evals = []
        for r in range(args.rounds + 1):
            began = _timed(lambda: predict_indices(model, resident, args.eval_batch_size, device, desc="bench",
                                                   precision=precision), device)
            if r:  # the first round warms up
                evals.append(len(mem) / began)
        print(f"eval [resident]: {statistics.median(evals):9.1f} samples/s (eval batch {args.eval_batch_size}, "
              f"median of {args.rounds} rounds over {len(mem)} questions)")


if __name__ == "__main__":
    main()
