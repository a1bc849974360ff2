"""Tests must not depend on what a user placed in the checkout (tests/conftest.py)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_tests_run_outside_the_checkout_without_a_weights_dir():
    cwd = Path.cwd().resolve()
    assert cwd != REPO and REPO not in cwd.parents
    assert not any(cwd.iterdir())
    assert "MCD_WEIGHTS_DIR" not in os.environ


def test_a_users_real_dataset_in_the_checkout_does_not_reach_the_config_tests():
    """The shipped config names resources/music_avqa/... relative to the working directory: from
    the test's working directory those paths hold nothing, whatever the checkout holds."""
    from mcd_core import workflow as pipeline
    import yaml

    schema = pipeline.load_schema(REPO / "workflow/schemas/config.schema.yaml")
    config = pipeline.validate_config(yaml.safe_load((REPO / "config/config.yaml").read_text()), schema)
    real = pipeline.dataset_settings(config, "music_avqa")
    assert not Path(real.videos).exists()
    assert not Path(real.annotations["train"]).exists()
