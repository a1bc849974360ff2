"""`mcd`: the command line every Snakemake rule calls, and that users can run by hand.

Each area of the package contributes its verbs from a module of this package (`mcd_core.cli`); a module
exposes `register(subparsers)` and sets `func` on each parser it adds. Imports of heavy libraries
happen inside the command functions so that `mcd --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import traceback

from mcd_core import __version__
from mcd_core.cli.errors import UserError
from mcd_core.common.interrupt import exit_status, stop_on_signals

# Modules that contribute verbs, in the order their verbs are listed by `mcd --help`.
COMMAND_MODULES = ("pipeline", "demo", "media", "extract", "features", "import_features", "peer_features", "weights",
                   "annotations", "train", "modelcard", "ask", "experiments", "verify", "status")


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default, unless it has none (None, a false switch) or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        no_default = default is None or default is False or default == [] or default == argparse.SUPPRESS
        if action.option_strings and not no_default and "default" not in text.lower():
            text += " (default: %(default)s)"
        return text


def _describe_verbs(parser: argparse.ArgumentParser) -> None:
    """Every verb (and sub-verb) shows its one-line help as its description and its defaults."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                sub.formatter_class = HelpFormatter
                if not sub.description and helps.get(name):
                    sub.description = helps[name][0].upper() + helps[name][1:] + "."
                _describe_verbs(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcd", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mcd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"mcd_core.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mcd_core.cli.{name}":
                continue  # area not installed in this build
            raise
        module.register(sub)
    _describe_verbs(parser)
    return parser


def is_input_error(exc: BaseException) -> bool:
    """Whether `exc` reports bad input or setup, found by our own checks: UserError, a missing file,
    or any error class this package defines (CheckpointError, AnnotationError, ConfigError, ...,
    and their subclasses). Such an error is one line (`mcd VERB: error: ...`, exit 2; -v adds the
    traceback); anything else is an internal error and keeps its traceback."""
    if isinstance(exc, (UserError, FileNotFoundError)):
        return True
    return any(cls.__module__.startswith("mcd_core.") for cls in type(exc).__mro__)


def main(argv: list[str] | None = None) -> int:
    """Run one verb; SIGINT or SIGTERM ends it with one line and status 128 + the signal number."""
    with stop_on_signals():
        try:
            return _main(argv)
        except KeyboardInterrupt as exc:
            verb = next((a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("-")), None)
            print(f"mcd{' ' + verb if verb else ''}: interrupted ({exc.args[0] if exc.args else 'SIGINT'})",
                  file=sys.stderr)
            return exit_status(exc)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    if getattr(args, "uses_gpu", False) and getattr(args, "device", "auto") != "cpu":
        from mcd_core.common.gpus import claim_gpu

        # one GPU per job when several run on one machine, or one of a GPU's slots with
        # `mcd train --gpu-share N` (mcd_core/common/gpus.py)
        claim_gpu(share=getattr(args, "gpu_share", 1))
    try:
        result = args.func(args)
    except Exception as exc:
        if not is_input_error(exc):
            # A bug, not the user's input: say so, and keep the traceback for the report.
            print(f"mcd {args.command}: internal error ({type(exc).__name__}); the traceback follows",
                  file=sys.stderr)
            raise
        if args.verbose:
            traceback.print_exc()
        print(f"mcd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


def entry() -> None:
    """The `mcd` console script: `main`, then exit. After an interrupt the process only shuts down,
    and a repeated signal (a terminal's Ctrl-C reaches the job twice: from the terminal and from
    Snakemake, which forwards it) would interrupt torch's exit hooks with a traceback: ignore it."""
    status = main()
    if status in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(status)


if __name__ == "__main__":
    entry()
