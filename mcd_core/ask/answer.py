"""Run the run's model on one video's inputs and a list of questions: top answers with their
probabilities, and the key clues, i.e. the seconds each aggregator call kept, with its attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mcd_core.ask.features import VideoInputs
from mcd_core.ask.question import AskedQuestion, encode
from mcd_core.ask.run import RunSettings

LEVEL_NAMES = {"low": "encoder features", "high": "association-block features"}


@dataclass
class Clues:
    stream: str                 # "audio" or "visual"
    level: str                  # "low" (encoder) or "high" (association blocks)
    kept: list[int]             # seconds kept, best aggregator score first
    weights: list[float]        # attention weight of each kept second
    attention: list[float]      # attention over every second (0 past the real length)

    @property
    def label(self) -> str:
        return f"{self.stream} ({LEVEL_NAMES.get(self.level, self.level)})"


@dataclass
class Answer:
    asked: AskedQuestion
    top: list[tuple[str, float]]   # (answer, probability), most probable first
    clues: list[Clues]             # empty for a model without aggregator (Table II MLPs)


def _batch(run: RunSettings, inputs: VideoInputs, questions: list[AskedQuestion]) -> dict:
    text = [encode(q, run.vocab) for q in questions]
    batch = {k: torch.tensor([t[k] for t in text]) for k in ("question", "qtype", "keywords")}
    for key, value in inputs.model_inputs.items():
        batch[key] = torch.stack([value] * len(questions))
    return batch


def _clues(selections: dict, row: int, stride: int, seconds: int) -> list[Clues]:
    out = []
    order = {"audio": 0, "visual": 1, "low": 0, "high": 1}
    for name in sorted(selections, key=lambda n: [order.get(part, 2) for part in n.split("/")]):
        stream, level = name.split("/")
        sel = selections[name]
        alpha = sel.alpha[row].float()
        steps = sel.kept[row, : int(sel.n_kept[row])].tolist()
        attention = [0.0] * seconds
        for step, a in enumerate(alpha.tolist()):
            attention[step * stride] = a  # a strided step stands at its first second
        out.append(Clues(stream, level, [s * stride for s in steps],
                         [float(alpha[s]) for s in steps], attention))
    return out


@torch.no_grad()
def answer_questions(run: RunSettings, inputs: VideoInputs, questions: list[AskedQuestion],
                     top_k: int = 3) -> list[Answer]:
    """Every question in one batch; the model's outputs are those of its plain forward pass."""
    model = run.model
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in _batch(run, inputs, questions).items()}
    has_clues = getattr(model, "aggregator", None) is not None
    output = model(batch, return_clues=True) if has_clues else model(batch)
    probs = output.logits.float().softmax(-1).cpu()
    answers = []
    for row, asked in enumerate(questions):
        p, idx = probs[row].topk(min(top_k, probs.shape[1]))
        top = [(run.vocab.answers[i], float(v)) for v, i in zip(p.tolist(), idx.tolist())]
        clues = _clues(output.clues, row, run.stride, run.seconds) if has_clues else []
        answers.append(Answer(asked, top, clues))
    return answers
