"""Every test runs in an empty working directory with no `MCD_WEIGHTS_DIR`: what a user put in the
checkout (real videos under resources/, downloaded weights) or in the environment cannot change a
test's outcome. Tests reach the checkout's own files through absolute paths (`REPO / ...`)."""

import pytest

from mcd_core.features.backbones.weights import ENV_WEIGHTS_DIR


@pytest.fixture(autouse=True)
def isolated_working_directory(tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv(ENV_WEIGHTS_DIR, raising=False)


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory):
    """The folder of the one pipeline run the slow end-to-end tests read (tests/shared_pipeline.py):
    built once per test session, on first use."""
    from shared_pipeline import TARGETS, shared_config
    from test_workflow import snakemake, write_config

    work = tmp_path_factory.mktemp("shared_run")
    write_config(work, shared_config())
    # 3 cores on the 2-core machine: extraction jobs take 2 and training jobs 1, so with 2 a long
    # training job (demo_avqa's) left one core idle while the next extraction waited for both
    snakemake(work, "--cores", "3", *TARGETS)
    return work
