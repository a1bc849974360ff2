"""Run the run's model on one video's inputs and a list of questions: top answers with their
probabilities, and the key clues, i.e. the seconds each aggregator call kept, with its attention.

The answers offered are those of the question's type: a question that fits a training template of
type "Audio/Counting" is answered among the answers that type's training questions have (numbers),
never with an answer of another type ("yes", an instrument). Probabilities are the model's, over
all of its answers (not renormalised), so they stay those of `mcd predict`; `Answer.scope` says
which answers were ranked, the probability they hold together, and the model's overall top answer
when it lies outside them. A question that fits no template has no type: all answers are ranked,
and the scope says why. `restrict=False` (`mcd ask --all-answers`) ranks all answers always."""

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
    scope: str = ""                # which answers were ranked, and why


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


def allowed_answers(run: RunSettings, asked: AskedQuestion, restrict: bool = True) -> tuple[list[int] | None, str]:
    """Class indices the question's answers are ranked among (None: all), and a line saying why."""
    n = len(run.vocab.answers)
    if not restrict:
        return None, f"all {n} answers of the run (--all-answers)"
    if asked.template is None:
        return None, (f"all {n} answers of the run: the question fits no training template, so its "
                      f"type, and with it its answer set, is unknown")
    known = [a for a in run.type_answers.get(asked.type_key, ()) if a in run.vocab.answers]
    if not known:
        return None, (f"all {n} answers of the run: the training annotations give no answer of "
                      f"{asked.type_key} questions")
    return [run.vocab.answer_index(a) for a in known], (
        f"the {len(known)} answers of {asked.type_key} questions in training")


def _top(run: RunSettings, probs: torch.Tensor, allowed: list[int] | None, scope: str,
         top_k: int) -> tuple[list[tuple[str, float]], str]:
    """The `top_k` most probable answers among `allowed`, and the scope line completed."""
    answers = run.vocab.answers
    if allowed is None:
        p, idx = probs.topk(min(top_k, len(probs)))
        return [(answers[i], float(v)) for v, i in zip(p.tolist(), idx.tolist())], scope
    index = torch.tensor(allowed, dtype=torch.long)
    p, pos = probs[index].topk(min(top_k, len(allowed)))
    top = [(answers[allowed[j]], float(v)) for v, j in zip(p.tolist(), pos.tolist())]
    scope += f" (together {float(probs[index].sum()):.3f} of the model's probability)"
    best = int(probs.argmax())
    if best not in allowed:
        scope += (f"; the model's top answer over all answers, {answers[best]!r} ({float(probs[best]):.3f}), "
                  f"is not an answer of this type")
    return top, scope


@torch.no_grad()
def answer_questions(run: RunSettings, inputs: VideoInputs, questions: list[AskedQuestion],
                     top_k: int = 3, restrict: bool = True) -> list[Answer]:
    """Every question in one batch; the model's outputs are those of its plain forward pass; the
    answers ranked are those of each question's type (`allowed_answers`) unless not `restrict`."""
    model = run.model
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in _batch(run, inputs, questions).items()}
    has_clues = getattr(model, "aggregator", None) is not None
    output = model(batch, return_clues=True) if has_clues else model(batch)
    probs = output.logits.float().softmax(-1).cpu()
    answers = []
    for row, asked in enumerate(questions):
        allowed, scope = allowed_answers(run, asked, restrict)
        top, scope = _top(run, probs[row], allowed, scope, top_k)
        clues = _clues(output.clues, row, run.stride, run.seconds) if has_clues else []
        answers.append(Answer(asked, top, clues, scope))
    return answers
