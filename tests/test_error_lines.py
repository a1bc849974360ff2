"""No traceback reaches the user for an input error: a failing `mcd` verb prints one line, while a
bug keeps its traceback; Snakemake's config check and input functions print the message alone;
duplicated question ids are warned of once per run, not by every job."""

from __future__ import annotations

import json
import logging

import pytest
import yaml

from mcd_core.cli import is_input_error, main, weights
from mcd_core.data.formats.music_avqa import load_annotations
from mcd_core.data.questions import DUPLICATES_REPORTED_ENV, AnnotationError
from mcd_core.scoring.checkpoint import CheckpointError
from test_input_checks import GOOD, real_dataset, record, snakemake


# --- mcd -----------------------------------------------------------------------------------------

class PluginFormatError(AnnotationError):
    """An error class of a format defined outside the package, derived from ours."""


def _fail_with(monkeypatch, exc):
    def verb(args):
        raise exc
    monkeypatch.setattr(weights, "run_list", verb)   # registered when main builds the parser


@pytest.mark.parametrize("exc", [CheckpointError("best.pt: not a readable checkpoint"),
                                 PluginFormatError("best.pt: record 3: no answer"),
                                 FileNotFoundError(2, "No such file or directory", "best.pt")])
def test_an_input_error_is_one_line(monkeypatch, capsys, exc):
    _fail_with(monkeypatch, exc)
    assert main(["weights", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mcd weights: error: ") and "best.pt" in err[0]
    # -v adds the traceback, the last line unchanged
    assert main(["-v", "weights", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "Traceback (most recent call last):" and err[-1].startswith("mcd weights: error: ")


@pytest.mark.parametrize("exc", [ZeroDivisionError("division by zero"), KeyError("architecture"),
                                 ValueError("a builtin error from a library")])
def test_a_bug_keeps_its_traceback_and_is_called_internal(monkeypatch, capsys, exc):
    _fail_with(monkeypatch, exc)
    with pytest.raises(type(exc)):
        main(["weights", "list"])
    assert "mcd weights: internal error" in capsys.readouterr().err


def test_every_error_class_of_the_package_is_an_input_error():
    import importlib
    import inspect
    import pkgutil

    import mcd_core

    classes = set()
    for info in pkgutil.walk_packages(mcd_core.__path__, "mcd_core."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:   # optional libraries
            continue
        classes |= {c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, Exception) and c.__module__ == info.name}
    assert len(classes) >= 20   # CheckpointError, AnnotationError, ConfigError, StoreError, ...
    assert all(is_input_error(c.__new__(c)) for c in classes)


# --- snakemake -----------------------------------------------------------------------------------

def _only_the_message(proc, message):
    err = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"Error: {message}" in err, err[-2000:]
    for noise in ("Traceback", "InputFunctionException", "WorkflowError", 'File "'):
        assert noise not in err, err[-2000:]


@pytest.mark.parametrize("run", [True, False], ids=["read-at-parse", "read-at-dag-building"])
def test_a_malformed_annotation_file_is_its_message_alone(tmp_path, run):
    real_dataset(tmp_path, {**GOOD, "val": [record(3, "v1", comment="x")]}, run=run)
    _only_the_message(snakemake(tmp_path, "-n", "results/real/table3.csv"),
                      "data/avqa val.json: record 0 (question_id 3): unexpected field(s) 'comment'")


def test_a_bad_config_key_is_its_message_alone(tmp_path):
    real_dataset(tmp_path, GOOD)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["datasets"]["real"]["extraction"]["visual_backbon"] = "resnet18"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    _only_the_message(snakemake(tmp_path, "-n", "results/real/table3.csv"), "invalid configuration:")
    assert "'visual_backbon' was unexpected" in snakemake(tmp_path, "-n").stderr


def test_a_target_of_another_format_is_its_message_alone(tmp_path):
    real_dataset(tmp_path, GOOD)
    _only_the_message(snakemake(tmp_path, "-n", "results/real/table5.csv"),
                      "dataset 'real' (format 'music_avqa') writes results/real/table3.csv, not table5.csv")


# --- duplicated question ids: once per run --------------------------------------------------------

DUPLICATED = {**GOOD, "train": [record(1, "v1"), record(1, "v2", "three"), record(2, "v2")]}
WARNING = "Warning: dataset 'real': data/avqa train.json: 1 duplicated question id(s), e.g. 1"


@pytest.mark.parametrize("run", [True, False], ids=["read-at-parse", "read-at-dag-building"])
def test_duplicated_ids_are_warned_of_once_per_run_not_by_each_job(tmp_path, run):
    real_dataset(tmp_path, DUPLICATED, run=run)
    proc = snakemake(tmp_path, "--cores", "1", "results/real/vocab.json", "results/real/predictions/prior.csv")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("duplicated question id") == 1 and WARNING in out, out[-3000:]
    logs = list((tmp_path / "results/real/logs").glob("*.log"))
    assert len(logs) >= 2   # mcd vocab and mcd prior both read train.json
    assert not [log for log in logs if "duplicated" in log.read_text()]


def test_a_hand_run_still_warns_of_duplicated_ids(tmp_path, caplog, monkeypatch):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(DUPLICATED["train"]))
    with caplog.at_level(logging.DEBUG):
        assert load_annotations(path).duplicates == {1: ["two", "three"]}
        monkeypatch.setenv(DUPLICATES_REPORTED_ENV, "1")   # as in a Snakemake job
        load_annotations(path)
    levels = [r.levelno for r in caplog.records if "duplicated question id" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]
