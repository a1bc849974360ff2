"""Verb `mcd ask`: answer questions about a video with a trained run, and show its key clues."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DESCRIPTION = """\
Answer questions about your own video with a trained run, and show the key audio-visual clues:
the seconds the model's aggregator kept for audio and for visual, with their attention weights.

The video goes through the pipeline's own stages (1-fps centre frames with the same padding and
size, 16 kHz audio, log-mel, the run's backbones with the weights and seeds recorded in its feature
stores); the run's checkpoint (best.pt) then answers. Runs of MUSIC-AVQA-format datasets only: an
AVQA-format (multiple-choice) run is refused, as its questions come with answer options.

Questions are read like the annotations: a final '?' is dropped, words are split on spaces; words
the run's vocabulary lacks are reported and read as <unk>; a question without any known word is
refused. The question type is that of the training template the question fits (slots such as
<Object> take one word each, letter case aside), and the template's slot words are the keywords
of the text objects. Text objects of a question that fits no template: no type (both type tokens
<pad>), and as keywords its words that are text-object words of the vocabulary (the slot values of
the training questions: instruments, left/right, first/last, ...), in order, at most 4.

The answers offered are those of the question's type in the training annotations (a counting
question gets numbers, never "yes" or an instrument), with the model's own probabilities; the
output says which answers were ranked, and names the model's overall top answer when it is of
another type (--all-answers ranks them all). A question that fits no template has no type: all
answers are ranked, and the output says so. The output also says which seconds of the video the
run read (its first T; a shorter video is padded), and warns when the run's backbones were
randomly initialised (its answers then carry no meaning).
"""


def run_ask(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # stage progress bars: noise for one video
    from mcd_core.ask.question import read_questions_file
    from mcd_core.ask.report import console_text, write_html
    from mcd_core.ask.session import ask

    questions = list(args.question or [])
    if args.questions:
        questions += read_questions_file(args.questions)
    result = ask(args.run, args.video, questions, device=args.device, weights_dir=args.weights_dir,
                 top_k=args.top, restrict=not args.all_answers)
    print(console_text(result.run, result.inputs, result.answers))
    if args.html:
        write_html(args.html, result.run, result.inputs, result.answers)
        print(f"\nwrote {args.html}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("ask", help="answer questions about a video with a trained run, "
                                          "showing the key audio-visual clues",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True,
                   help="run folder: results/<dataset>/runs/<visual>-<audio>/<variant>/seed<S>")
    p.add_argument("--video", type=Path, required=True, help="the video file to ask about")
    p.add_argument("--question", action="append", metavar="TEXT",
                   help="a question (repeatable), e.g. \"How many instruments are sounding in the video?\"")
    p.add_argument("--questions", type=Path, metavar="FILE",
                   help="a text file of questions, one a line (# lines skipped); the video is decoded once")
    p.add_argument("--html", type=Path, metavar="OUT.html",
                   help="also write one self-contained page: answers, filmstrip with the kept seconds, "
                        "attention plot, audio player")
    p.add_argument("--top", type=int, default=3, help="answers shown per question (default 3)")
    p.add_argument("--all-answers", action="store_true",
                   help="rank every answer of the run, not only those of the question's type")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where extraction and the model run (auto: CUDA when present)")
    p.add_argument("--weights-dir", type=Path, default=None,
                   help="folder of pretrained weight files (default $MCD_WEIGHTS_DIR or resources/weights)")
    p.set_defaults(func=run_ask)
