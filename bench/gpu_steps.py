"""Training and evaluation samples/s of MCD's model alone (synthetic in-memory batches, no stores):
the rate the cost estimate of `paper.done` (mcd_core/scoring/cost.py) rests on.

    python bench/gpu_steps.py [--device cuda] [--batch-size 64] [--steps 50] [--visual-dim 1536]
"""

from __future__ import annotations

import argparse
import time

import torch

from mcd_core.models import build_model, variant_config
from mcd_core.models.common.losses import total_loss


def batch(cfg, size: int, seconds: int, device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = {"question": torch.randint(2, cfg.vocab_size, (size, 14), generator=g),
           "qtype": torch.randint(2, cfg.n_object_words, (size, 2), generator=g),
           "keywords": torch.randint(2, cfg.n_object_words, (size, 4), generator=g),
           "audio": torch.randn(size, seconds, cfg.audio_dim, generator=g),
           "visual": torch.randn(size, seconds, cfg.visual_dim, generator=g),
           "audio_len": torch.full((size,), seconds), "visual_len": torch.full((size,), seconds),
           "answer": torch.randint(0, cfg.n_answers, (size,), generator=g)}
    return {k: v.to(device) for k, v in out.items()}


def rate(fn, steps: int, size: int, device) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * size / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--visual-dim", type=int, default=1536, help="1536: Swin-V2-L, 512: ResNet-18")
    args = parser.parse_args()
    device = torch.device(args.device)
    cfg = variant_config("mcd", visual_dim=args.visual_dim, n_answers=42, vocab_size=95, n_object_words=64)
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    b = batch(cfg, args.batch_size, args.seconds, device)

    def train_step():
        loss = total_loss(model(b), b["answer"])["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad():
            model(b)

    model.train()
    train_rate = rate(train_step, args.steps, args.batch_size, device)
    model.eval()
    eval_rate = rate(eval_step, args.steps, args.batch_size, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{name}: MCD (D=512, T={args.seconds}, visual {args.visual_dim}-d, batch {args.batch_size}): "
          f"train {train_rate:.0f} samples/s, eval {eval_rate:.0f} samples/s "
          f"(eval/train cost ratio {train_rate / eval_rate:.2f})")


if __name__ == "__main__":
    main()
