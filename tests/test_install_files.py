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


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    for requirement in pyproject_requirements():
        assert _name(requirement) in pins, f"{requirement} has no exact pin in constraints.txt"
    assert pins["torch"] == "2.14.1"
    assert pins["torchvision"] == "0.29.1"
    assert pins["torchaudio"] == "2.11.0"
