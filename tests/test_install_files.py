"""pyproject.toml, environment.yml and constraints.txt must not drift apart."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[@]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def pyproject_requirements():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return data["project"]["dependencies"]


def environment_requirements():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return [r for r in pip_section if not r.startswith("-e")]


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    assert sorted(pyproject_requirements()) == sorted(environment_requirements())


def test_environment_yml_installs_the_package_and_python_311():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def optional_requirements():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [r for extra in data["project"]["optional-dependencies"].values() for r in extra]


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    for requirement in pyproject_requirements() + optional_requirements():
        assert _name(requirement) in pins, f"{requirement} has no exact pin in constraints.txt"
    # The SLURM extra (profiles/slurm) is pinned with the jobstep plugin it runs inside each job.
    assert pins["snakemake-executor-plugin-slurm"] == "2.8.0"
    assert pins["snakemake-executor-plugin-slurm-jobstep"] == "0.6.1"
    assert pins["torch"] == "2.14.1"
    assert pins["torchvision"] == "0.29.1"
    assert pins["torchaudio"] == "2.11.0"


def test_rules_use_the_one_environment_and_promise_no_conda_builds():
    """environment.yml installs this checkout (`-e .`), which Snakemake cannot build from a copy:
    rules therefore carry no `conda:` directive, and nothing tells users to run `--sdm conda`."""
    rules = [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]
    with_conda = [p.name for p in rules if re.search(r"^\s*conda:", p.read_text(), re.M)]
    assert not with_conda, f"rules with a conda: directive: {with_conda}"
    for doc in (REPO / "README.md", REPO / "environment.yml"):
        assert "conda env create -f environment.yml" in doc.read_text(), doc
    for profile in (REPO / "profiles").rglob("*.yaml"):
        assert not re.search(r"sdm:.*conda|use-conda", profile.read_text()), profile
