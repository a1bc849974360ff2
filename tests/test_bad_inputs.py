"""The bad-input catalogue (bench/bad_inputs.py): a subset of its cases, one or two of each kind,
run as the script runs them, each classified as expected; and the classifier itself can tell a
traceback, a silent acceptance, code that ran and an unclear refusal from a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bad_input_cases import CASES, Fixtures  # noqa: E402
from bad_inputs import Case, run_case, summary, table  # noqa: E402

SUBSET = [
    "truncated JSON", "question id above int64", "video id '..'", "not UTF-8", "empty split",
    "shell syntax in video ids (legal, never run)",
    "negative epochs", "unknown variant", "results folder is a file", "config YAML with a python tag",
    "no videos, TSPM listed",
    "predict: crafted pickle", "weights import vggish_pca: crafted pickle",
    "verify: deleted chunk", "verify: a sound store (legal)",
    "score: predictions not UTF-8", "score: half right (legal)",
    "frames: empty file", "audio: no audio stream (legal, noted)",
    "predict --batch-size 0", "shard-ids: shell syntax (legal, never run)",
]
BY_NAME = {c.name: c for c in CASES}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return Fixtures(tmp_path_factory.mktemp("fixtures"))


def test_the_catalogue_is_large_and_covers_every_kind():
    assert len(CASES) >= 60 and len(BY_NAME) == len(CASES)   # names are unique: they name folders
    kinds = {c.kind for c in CASES}
    assert kinds == {"annotations", "config", "checkpoints", "stores", "csv", "videos", "ask", "cli"}
    assert {BY_NAME[n].kind for n in SUBSET} == kinds - {"ask"}   # ask needs a real run: the script only
    assert sum(c.check is not None for c in CASES) >= 10          # legal inputs too, not only refusals


@pytest.mark.parametrize("name", SUBSET)
def test_a_case_of_the_catalogue_is_classified_as_expected(name, fixtures, tmp_path):
    case = BY_NAME[name]
    outcome = run_case(case, fixtures, tmp_path)
    expected = "accepted correctly" if case.check else "clear error"
    assert outcome.category == expected, outcome.line
    if case.check is None:
        assert all(n in outcome.line for n in case.names)


def _python(code: str, names=("bad value",), check=None) -> Case:
    return Case(f"self-check {code[:20]}", "self-check", lambda folder, fx: ["python", "-c", code], names, check)


@pytest.mark.parametrize("code, names, check, category", [
    ("raise ValueError('bad value')", ("bad value",), None, "traceback"),
    ("import sys; print('Error: x', file=sys.stderr); sys.exit('InputFunctionException in rule x')", ("x",), None,
     "traceback"),
    ("pass", ("bad value",), None, "silent"),                          # a bad input accepted
    ("print('done')", (), lambda folder, run: False, "silent"),        # a legal input, wrong result
    ("open('PWNED', 'w')", ("bad value",), None, "code run"),
    ("import sys; sys.exit(3)", ("bad value",), None, "other"),        # refused, but naming nothing
    ("import sys; sys.exit('mcd x: error: a bad value')", ("bad value",), None, "clear error"),
    ("print('ok')", (), lambda folder, run: "ok" in run.out, "accepted correctly"),
])
def test_the_classifier_can_fail_a_case(tmp_path, code, names, check, category):
    outcome = run_case(_python(code, names, check), None, tmp_path)
    assert outcome.category == category, outcome.line


def test_the_summary_line_and_table_count_every_category(tmp_path):
    outcomes = [run_case(_python(code, check=check), None, tmp_path / str(i))
                for i, (code, check) in enumerate([("raise SystemExit('mcd x: error: bad value')", None),
                                                   ("pass", None), ("print(1)", lambda f, r: True)])]
    assert summary(outcomes) == "3 tried: clear error 1, accepted correctly 1, traceback 0, silent 1, code run 0"
    assert "| **all** | 3 | 1 | 1 | 0 | 1 | 0 |" in table(outcomes)
