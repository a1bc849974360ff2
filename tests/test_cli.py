"""The `mcd` command line: every verb describes itself in one line and shows its defaults."""

import argparse
import subprocess
import sys

import pytest

from mcd_core.cli import build_parser


def verbs(parser=None, path=()):
    """(path, parser, one-line help) of every verb and sub-verb."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, helps.get(name)
                yield from verbs(sub, (*path, name))


VERBS = list(verbs())


def test_the_verbs_are_all_there():
    names = {" ".join(path) for path, _, _ in VERBS}
    assert {"frames", "train", "weights fetch", "weights import", "variants", "missing-videos"} <= names


@pytest.mark.parametrize("path, parser, oneline", VERBS, ids=[" ".join(v[0]) for v in VERBS])
def test_every_verb_has_a_one_line_description_and_shows_its_defaults(path, parser, oneline):
    assert oneline and "\n" not in oneline, f"mcd {' '.join(path)}: no one-line help"
    assert parser.description, f"mcd {' '.join(path)}: no description"
    text = " ".join(parser.format_help().split())  # unwrapped
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help, f"mcd {' '.join(path)} {action.option_strings or action.dest}: no help"
        default = action.default
        if action.option_strings and not (default is None or default is False or default == []):
            shown = f"default: {default}" in text or "default" in action.help  # e.g. "template (default)"
            assert shown, f"mcd {' '.join(path)} {action.option_strings}: default not shown"


def test_variants_lists_every_registered_variant_in_one_line_each():
    def run(code):  # a fresh process: other tests register plugin variants in this one
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.splitlines()

    lines = run("from mcd_core.cli import main; raise SystemExit(main(['variants']))")
    registered = run("from mcd_core.models import list_variants; print(*list_variants(), sep='\\n')")
    assert len(registered) > 20
    assert [line.split()[0] for line in lines] == registered
    assert all(len(line.split(None, 2)) == 3 for line in lines)  # name, architecture, description
    assert any(line.startswith("q_only ") for line in lines)
