"""Question-only baseline (Table II "Q": paper 51.24 %) on the real MUSIC-AVQA annotations.

Trains the `q_only` variant on json_update/avqa-val.json (the train split is not mirrored; 10 % of
the val questions, split by video, pick the best epoch), scores avqa-test.json per question type.
No feature store is read: the question-only path needs none. The last line is `overall: XX.XX`.

    .venv/bin/python bench/qonly_real_annotations.py [--epochs 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
from pathlib import Path

import torch

from mcd_core.data.formats.music_avqa import load_annotations
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.vocab import Vocab
from mcd_core.scoring.predict import load_checkpoint, predict_answers
from mcd_core.scoring.metrics import COLUMNS, score
from mcd_core.models import variant_config
from mcd_core.training.config import TrainConfig
from mcd_core.training.loop import train

DATA = Path("/work/shared/data/music_avqa/json_update")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    questions = load_annotations(args.data / "avqa-val.json").questions
    test = load_annotations(args.data / "avqa-test.json").questions
    videos = sorted({q.video_id for q in questions})
    random.Random(args.seed).shuffle(videos)
    select_videos = set(videos[: len(videos) // 10])
    fit = [q for q in questions if q.video_id not in select_videos]
    select = [q for q in questions if q.video_id in select_videos]
    vocab = Vocab.from_questions(fit)
    cfg = variant_config("q_only", vocab_size=len(vocab.words), n_object_words=len(vocab.object_words),
                         n_answers=len(vocab.answers))
    with tempfile.TemporaryDirectory() as tmp:
        result = train(cfg, TrainConfig(epochs=args.epochs, seed=args.seed, device="cpu"),
                       AVQADataset(fit, vocab), AVQADataset(select, vocab), vocab, Path(tmp) / "run")
        model, _, _ = load_checkpoint(Path(tmp) / "run" / "best.pt")
    test_set = AVQADataset(test, vocab)
    predictions = predict_answers(model, test_set, vocab.answers, 512, torch.device("cpu"))
    s = score(test, {q.question_id: p for q, p in zip(test_set.questions, predictions)}, vocab)
    print(f"q_only: fit {len(fit)} val questions, select {len(select)}, best epoch {result.best_epoch}; "
          f"test {len(test)} questions ({s.unseen_answers} with answers unseen in training)")
    for col in COLUMNS[:-1]:
        print(f"{col:>18}: {s.accuracy[col]:6.2f}  (N={s.counts[col]})")
    print(f"overall: {s.accuracy['overall']:.2f}")


if __name__ == "__main__":
    main()
