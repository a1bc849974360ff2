"""GPU check: does the GPU path work and how fast is it, in under 10 minutes on one CUDA GPU.

    make gpu-check            (or: .venv/bin/python bench/gpu_check.py [--skip-demo])

Checks, one summary line each (PASS/FAIL/INFO), exit status 1 when any check fails:
  backbones   frames/s per visual backbone (resnet18, clip_vit_b32, swinv2_large at its input
              size) in bf16, and VGGish patches/s; random-init weights (no download needed)
  features    GPU vs CPU features for the same frames: cosine per vector >= 0.999 (fp32),
              >= 0.99 (bf16), for resnet18, clip_vit_b32 and VGGish
  training    samples/s with features resident on the GPU; GPU vs CPU losses of the first steps
              (fp32) agree within 1e-3 relative
  gpu-policy  two GPU jobs started by Snakemake with --resources gpu=2 get different
              CUDA_VISIBLE_DEVICES (on a one-GPU machine: the second waits for the first)
  demo        the demo dataset end to end with device cuda and bf16 autocast, wall time per stage
On a machine without CUDA it says so in one line and exits 0, so that CI can run it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS: list[tuple[str, str, str]] = []


def report(status: str, check: str, detail: str) -> None:
    RESULTS.append((status, check, detail))
    print(f"{status:4} {check:11} {detail}", flush=True)


def cosine(a, b) -> np.ndarray:
    a, b = a.float().cpu().numpy(), b.float().cpu().numpy()
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def timed(fn, repeats: int, torch) -> float:
    fn()
    torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - began) / repeats


def check_backbones(torch) -> None:
    from mcd_core.common.device import autocast
    from mcd_core.features.backbones.audio import create_audio_backbone
    from mcd_core.features.backbones.visual import create_visual_backbone

    gen = torch.Generator().manual_seed(0)
    for name in ("resnet18", "clip_vit_b32", "swinv2_large"):
        gpu, _, spec = create_visual_backbone(name, "random-init", 0, device="cuda")
        size = spec.input_size
        batch = torch.rand(64, 3, size, size, generator=gen)
        x = batch.cuda()

        def run(model=gpu, x=x):
            with torch.no_grad(), autocast("cuda", "bf16"):
                return model(x)
        seconds = timed(run, 5, torch)
        report("INFO", "backbones", f"{name} ({size} px, bf16, batch 64): {64 / seconds:,.0f} frames/s")
        if name == "swinv2_large":
            continue
        cpu, _, _ = create_visual_backbone(name, "random-init", 0, device="cpu")
        probe = batch[:8]
        with torch.no_grad():
            ref = cpu(probe)["visual"]
            fp32 = gpu(probe.cuda())["visual"]
            with autocast("cuda", "bf16"):
                bf16 = gpu(probe.cuda())["visual"]
        for label, feats, bar in (("fp32", fp32, 0.999), ("bf16", bf16, 0.99)):
            low = float(cosine(ref, feats).min())
            report("PASS" if low >= bar else "FAIL", "features", f"{name} {label} vs CPU: min cosine {low:.5f} (>= {bar})")
    vggish, _, _ = create_audio_backbone("vggish", "random-init", 0)
    patches = torch.randn(512, 1, 96, 64, generator=gen)
    gpu = vggish.cuda()

    def run_vggish():
        with torch.no_grad(), autocast("cuda", "bf16"):
            return gpu(patches.cuda())
    seconds = timed(run_vggish, 5, torch)
    report("INFO", "backbones", f"vggish (bf16, batch 512): {512 / seconds:,.0f} patches/s")
    cpu_model, _, _ = create_audio_backbone("vggish", "random-init", 0)
    with torch.no_grad():
        ref = cpu_model(patches[:16])
        fp32 = gpu(patches[:16].cuda())
        with autocast("cuda", "bf16"):
            bf16 = gpu(patches[:16].cuda())
    for label, feats, bar in (("fp32", fp32, 0.999), ("bf16", bf16, 0.99)):
        low = float(cosine(ref, feats).min())
        report("PASS" if low >= bar else "FAIL", "features", f"vggish {label} vs CPU: min cosine {low:.5f} (>= {bar})")


def check_training(torch) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from train_throughput import synthetic, time_training

    from mcd_core.data.dataset import AVQADataset
    from mcd_core.data.resident import ResidentBatches
    from mcd_core.data.vocab import Vocab
    from mcd_core.models import build_model, variant_config
    from mcd_core.models.common.losses import total_loss
    from mcd_core.scoring.predict import to_device

    with tempfile.TemporaryDirectory() as tmp:
        questions, (audio, visual) = synthetic(Path(tmp), 512, 60)
        vocab = Vocab.from_questions(questions)
        data = AVQADataset(questions, vocab, audio, visual, in_memory=True)
        cfg = variant_config("mcd", n_answers=len(vocab.answers), vocab_size=len(vocab.words),
                             n_object_words=len(vocab.object_words))
        losses = {}
        torch.backends.cudnn.allow_tf32 = False          # compare true fp32 on both devices
        torch.backends.cuda.matmul.allow_tf32 = False
        for device in ("cpu", "cuda"):
            torch.manual_seed(0)
            model = build_model(cfg).to(device)  # training mode (cuDNN's LSTM backward needs it) ...
            for module in model.modules():      # ... without dropout, so both devices compute alike
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            resident = ResidentBatches(data, device)
            steps = []
            for i, batch in enumerate(resident.batches(32, shuffle=True, generator=torch.Generator().manual_seed(0))):
                batch = to_device(batch, torch.device(device))
                loss = total_loss(model(batch), batch["answer"])["total"]
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps.append(float(loss.detach()))
                if i == 2:
                    break
            losses[device] = steps
        worst = max(abs(a - b) / max(abs(a), 1e-8) for a, b in zip(losses["cpu"], losses["cuda"]))
        cpu_losses = " ".join(f"{x:.5f}" for x in losses["cpu"])
        gpu_losses = " ".join(f"{x:.5f}" for x in losses["cuda"])
        report("PASS" if worst <= 1e-3 else "FAIL", "training",
               f"first 3 fp32 losses, CPU {cpu_losses} / GPU {gpu_losses}: max relative difference "
               f"{worst:.2e} (<= 1e-3)")
        torch.manual_seed(0)
        model = build_model(cfg).cuda()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        rate = time_training(ResidentBatches(data, "cuda"), model, opt, 64, 0, 20, 0, torch.device("cuda"))
        report("INFO", "training", f"MCD, features resident on the GPU, bf16, batch 64: {rate:,.0f} samples/s "
                                   f"(one epoch of 31,927 questions ~ {31927 / rate:.0f} s)")


GPU_POLICY_SNAKEFILE = textwrap.dedent('''
    rule all:
        input: ["a.txt", "b.txt"]
    rule claim:
        output: "{{name}}.txt"
        resources: gpu=1
        shell: "{python} -c 'import time; from mcd_core.common.gpus import claim_gpu; print(claim_gpu(), time.time()); time.sleep(3); print(time.time())' > {{output}}"
''')


def check_gpu_policy() -> None:
    from mcd_core.common.gpus import gpu_count

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Snakefile").write_text(GPU_POLICY_SNAKEFILE.format(python=sys.executable))
        env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
        env["MCD_GPU_LOCK_DIR"] = tmp
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--resources", "gpu=2"],
                              cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            report("FAIL", "gpu-policy", f"snakemake failed: {proc.stderr[-300:]}")
            return
        runs = []
        for name in ("a", "b"):
            first, second = (Path(tmp) / f"{name}.txt").read_text().split("\n")[:2]
            gpu, start = first.split()
            runs.append((gpu, float(start), float(second)))
    ids = sorted(r[0] for r in runs)
    count = gpu_count()
    if count >= 2:
        ok = ids[0] != ids[1]
        report("PASS" if ok else "FAIL", "gpu-policy", f"{count} GPUs: the two jobs got CUDA_VISIBLE_DEVICES {ids}")
    else:
        (g1, s1, e1), (g2, s2, e2) = sorted(runs, key=lambda r: r[1])
        ok = g1 == g2 == "0" and s2 >= e1 - 0.5
        report("PASS" if ok else "FAIL", "gpu-policy",
               f"1 GPU: both jobs used GPU {g1}, the second started {s2 - e1:+.1f} s after the first ended")


def check_demo() -> None:
    config = {
        "run": ["demo"],
        "datasets": {"demo": {
            "format": "music_avqa", "videos": "resources/demo/videos", "seconds": 10,
            "annotations": {s: f"resources/demo/annotations/avqa-{s}.json" for s in ("train", "val", "test")},
            "generator": {"seed": 0, "videos": 150},
            "extraction": {"weights": "random-init", "shard_size": 50, "frame_short_side": 256,
                           "device": "cuda", "precision": "bf16"},
            "training": {"epochs": 8, "batch_size": 32, "lr_step": 6, "workers": 0, "device": "cuda",
                         "extra": ["in_memory=true"]},
            "table": {"prior": True}}},
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.yaml").write_text(json.dumps(config))
        began = time.perf_counter()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                               "--directory", tmp, "--configfile", str(Path(tmp) / "config.yaml"), "--cores", "8",
                               "--resources", "gpu=1", "results/demo/table3.csv"],
                              capture_output=True, text=True, timeout=540, env=env)
        wall = time.perf_counter() - began
        if proc.returncode != 0:
            report("FAIL", "demo", f"snakemake failed after {wall:.0f} s: {proc.stderr[-400:]}")
            return
        per_stage: dict[str, float] = {}
        for tsv in (Path(tmp) / "results/demo/benchmarks").rglob("*.tsv"):
            stage = tsv.relative_to(Path(tmp) / "results/demo/benchmarks").parts[0].removesuffix(".tsv")
            with tsv.open() as fh:
                per_stage[stage] = per_stage.get(stage, 0.0) + float(next(csv.DictReader(fh, delimiter="\t"))["s"])
        overall = next(csv.DictReader((Path(tmp) / "results/demo/table3.csv").open()))["overall"]
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(per_stage.items(), key=lambda kv: -kv[1]))
        report("PASS", "demo", f"end to end on cuda/bf16 in {wall:.0f} s (MCD overall {overall} %); {stages}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-demo", action="store_true", help="leave out the end-to-end demo run")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA device visible to torch {torch.__version__}; nothing to check (exit 0)")
        return 0
    print(f"gpu-check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})")
    began = time.perf_counter()
    for name, fn in (("backbones", lambda: check_backbones(torch)), ("training", lambda: check_training(torch)),
                     ("gpu-policy", check_gpu_policy), ("demo", check_demo)):
        if name == "demo" and args.skip_demo:
            continue
        try:
            fn()
        except Exception as exc:  # a crashed check is a failed check; the others still run
            report("FAIL", name, f"{type(exc).__name__}: {exc}")
    failed = [r for r in RESULTS if r[0] == "FAIL"]
    print(f"gpu-check: {len(RESULTS) - len(failed)} lines ok, {len(failed)} failed, {time.perf_counter() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
