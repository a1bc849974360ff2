"""An unknown `field=value` override (`mcd train --set`, `training.extra` in the config) is one line
naming the field, the close match difflib finds, and the valid fields of the variant's architecture
config and of TrainConfig; the config check says the same before any job."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mcd_core import workflow as pipeline
from mcd_core.cli import main
from mcd_core.models import config_fields
from mcd_core.models.config import ConfigError
from mcd_core.training.config import split_overrides, train_fields, unknown_field_message
from test_hostile_values import one_line_error, only_the_message
from test_input_checks import GOOD, real_dataset, snakemake

REPO = Path(__file__).resolve().parents[1]
SCHEMA = pipeline.load_schema(REPO / "workflow/schemas/config.schema.yaml")
TRAIN_ARGS = ["train", "--train", "a.json", "--val", "b.json", "--vocab", "v.json", "--device", "cpu"]


def listed(fields) -> str:
    return ", ".join(sorted(fields))


def test_mcd_train_set_names_the_field_a_close_match_and_the_valid_fields(tmp_path, capsys):
    assert main([*TRAIN_ARGS, "--out-dir", str(tmp_path / "run"), "--set", "d_modle=64"]) == 2
    err = one_line_error(capsys, "train")
    assert err.startswith("mcd train: error: --set: unknown field 'd_modle' (did you mean 'd_model'?); "), err
    assert f"the 'mcd' architecture's config (variant mcd): {listed(config_fields('mcd'))};" in err
    assert err.endswith(f"of TrainConfig: {listed(train_fields())}"), err
    assert not (tmp_path / "run").exists()


def test_no_close_match_gives_no_guess_and_each_architecture_lists_its_own_fields(tmp_path, capsys):
    assert main([*TRAIN_ARGS, "--out-dir", str(tmp_path / "run"), "--variant", "avst", "--set", "zzz=1"]) == 2
    err = one_line_error(capsys, "train")
    assert "unknown field 'zzz';" in err and "did you mean" not in err
    assert f"the 'avst' architecture's config (variant avst): {listed(config_fields('avst'))};" in err
    with pytest.raises(ConfigError, match=r"unknown field 'epoch' \(did you mean 'epochs'\?\)"):
        split_overrides(["epoch=3"], "mcd")


def test_training_extra_gets_the_same_message_at_the_config_check():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))
    config["datasets"]["demo"]["training"]["extra"] = ["d_modle=64"]
    variants = config["training"]["variants"]
    with pytest.raises(pipeline.ConfigError) as caught:
        pipeline.validate_config(config, SCHEMA)
    assert str(caught.value) == f"datasets.demo.training.extra: {unknown_field_message('d_modle', variants)}"
    assert "(did you mean 'd_model'?)" in str(caught.value)


def test_training_extra_stops_snakemake_before_any_job_with_the_mcd_train_line(tmp_path, capsys):
    real_dataset(tmp_path, GOOD, run=True)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))
    config["datasets"]["real"]["training"]["extra"] = ["d_modle=64"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out = only_the_message(snakemake(tmp_path, "-n"))
    lines = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and "Building DAG" not in out, out
    assert lines[0].startswith(
        "Error: datasets.real.training.extra: unknown field 'd_modle' (did you mean 'd_model'?); "), lines
    # the same words as `mcd train --set` (the config's variants are the schema's default, [mcd])
    assert main([*TRAIN_ARGS, "--out-dir", str(tmp_path / "run"), "--set", "d_modle=64"]) == 2
    cli = one_line_error(capsys, "train")
    assert lines[0].removeprefix("Error: datasets.real.training.extra: ") == cli.removeprefix(
        "mcd train: error: --set: ")
    assert not (tmp_path / "results").exists()
