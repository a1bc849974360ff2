"""`ask`: the whole of `mcd ask` short of printing: run, questions, video, answers.

Questions are checked before the video is decoded, so a question without a known word costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcd_core.ask.answer import Answer, answer_questions
from mcd_core.ask.errors import AskError
from mcd_core.ask.features import VideoInputs, check_video, prepare_video
from mcd_core.ask.question import AskedQuestion, parse_question
from mcd_core.ask.run import RunSettings, load_run
from mcd_core.common.device import choose_device


@dataclass
class AskResult:
    run: RunSettings
    inputs: VideoInputs
    answers: list[Answer]


def parse_all(run: RunSettings, texts: list[str]) -> list[AskedQuestion]:
    parsed = []
    for n, text in enumerate(texts, 1):
        try:
            parsed.append(parse_question(text, run.vocab, run.templates, run.type_words))
        except AskError as exc:
            raise AskError(f"question {n}: {exc}" if len(texts) > 1 else str(exc)) from None
    return parsed


def ask(run_dir: str | Path, video: str | Path, questions: list[str], device: str = "auto",
        weights_dir: str | Path | None = None, top_k: int = 3, restrict: bool = True) -> AskResult:
    if not questions:
        raise AskError("give a question (--question) or a file of questions (--questions)")
    if top_k < 1:
        raise AskError(f"--top must be at least 1, got {top_k}")
    check_video(video)
    dev = choose_device(device)
    run = load_run(run_dir, dev, weights_dir)
    asked = parse_all(run, questions)
    inputs = prepare_video(run, video, dev.type, weights_dir)
    return AskResult(run, inputs, answer_questions(run, inputs, asked, top_k, restrict))
