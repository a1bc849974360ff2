"""config/README.md is generated from the config schema and cannot drift from it; the Snakemake
workflow catalog's `.snakemake-workflow-catalog.yml` holds the keys its convention documents, and
what it claims matches the rules."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mcd_core.workflow.config import load_schema
from mcd_core.workflow.config_doc import COMMAND, main, render
from mcd_core.workflow.config_strings import resolve_ref

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "workflow/schemas/config.schema.yaml"
README = REPO / "config/README.md"


def test_config_readme_is_what_the_generator_writes(capsys):
    assert main(["--schema", str(SCHEMA_FILE)]) == 0
    generated = capsys.readouterr().out
    assert generated == render(load_schema(SCHEMA_FILE))
    assert README.read_text(encoding="utf-8") == generated, f"config/README.md is stale: run `{COMMAND}`"


def schema_keys(node: dict, schema: dict, prefix: str = ""):
    """(dotted key, node) of every property below `node`, $refs to another section not followed."""
    for key, sub in node.get("properties", {}).items():
        yield prefix + key, sub
        if "$ref" not in sub:
            yield from schema_keys(resolve_ref(sub, schema), schema, f"{prefix}{key}.")


def test_every_key_of_every_section_has_a_row_with_its_meaning():
    schema = load_schema(SCHEMA_FILE)
    text = README.read_text(encoding="utf-8")
    sections = {"Top level": schema, **{name.capitalize(): schema["$defs"][name] for name in
                                        ("extraction", "training", "table")},
                "Dataset entry": schema["$defs"]["dataset"], "Imported stream": schema["$defs"]["imported"]}
    for heading, node in sections.items():
        body = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
        for key, sub in schema_keys(node, schema):
            row = next((line for line in body.splitlines() if line.startswith(f"| `{key}` |")), None)
            assert row, f"{heading}: no row for {key}"
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            assert len(cells) == 4 and all(cells), f"{heading}: {key}: an empty cell in {row}"
            if "default" in sub:
                assert str(sub["default"]).lower().strip("[]{}'\"") in cells[2].lower(), row
            for value in sub.get("enum", []):
                assert f"`{value}`" in cells[1], row


def test_the_intro_says_how_the_config_is_read():
    text = README.read_text(encoding="utf-8")
    for words in ("config/config.yaml", "datasets.<name>.extraction", "--configfile", "--config",
                  "training.extra", "mcd train --set"):
        assert words in text, words


def test_workflow_catalog_file_follows_the_convention():
    settings = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text(encoding="utf-8"))
    assert set(settings) == {"usage"}
    usage = settings["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    flags = usage["mandatory-flags"]
    assert set(flags) == {"desc", "flags"} and isinstance(flags["desc"], str) and flags["desc"]
    assert isinstance(flags["flags"], (str, list))
    deployment = usage["software-stack-deployment"]
    assert set(deployment) <= {"conda", "apptainer", "apptainer+conda", "singularity", "singularity+conda"}
    assert "conda" in deployment and all(isinstance(v, bool) for v in deployment.values())
    assert usage["report"] is True
    # what it claims holds: no rule has its own conda environment; the rules feed a report
    rules = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "workflow/rules").glob("*.smk"))
    assert deployment["conda"] == bool(re.search(r"^\s+conda:", rules, re.M))
    assert "report(" in rules and re.search(r"^report:", (REPO / "Snakefile").read_text(encoding="utf-8"), re.M)
    assert README.is_file()  # the catalog shows config/README.md as the configuration instructions
