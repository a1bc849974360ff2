"""config/README.md, generated from the config schema: a hand-written introduction (below), then
every section and key of workflow/schemas/config.schema.yaml with its meaning, type or allowed
values and default. tests/test_config_doc.py regenerates it and compares, so the two cannot drift.

    python -m mcd_core.workflow.config_doc > config/README.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from mcd_core.workflow.config import load_schema
from mcd_core.workflow.config_strings import resolve_ref

SCHEMA_PATH = "workflow/schemas/config.schema.yaml"
COMMAND = "python -m mcd_core.workflow.config_doc > config/README.md"

INTRO = """\
# Configuration

The pipeline reads `config/config.yaml` (the Snakefile's `configfile:`) and checks it against
`workflow/schemas/config.schema.yaml` before any job starts: a misspelt key, a wrong type or a
value out of range stops the run naming the key (`Error: ...`, no traceback). The schema holds
every default; the tables below are generated from it.

**Datasets.** Each entry under `datasets` names one dataset: its annotation `format`, its `videos`
folder, its three annotation files and `seconds` per video. `run` lists the datasets that plain
`snakemake --cores N` builds; another one is built by naming its table, e.g.
`snakemake --cores 8 results/music_avqa/table3.csv` (`table5.csv` for the `avqa` format).

**Global sections and per-dataset overrides.** The top-level `extraction`, `training` and `table`
sections apply to every dataset and get the schema's defaults. A dataset entry may hold a section
of the same name (`datasets.<name>.extraction`, `.training`, `.table`): its keys replace the
global ones for that dataset alone, key by key (a key holding a list or a mapping, such as
`training.extra` or `training.peer_backbones`, is replaced whole), and the keys it does not set
keep the global value. The training recipe keys (`epochs`, `batch_size`, `lr`, `lr_step`,
`lr_gamma`, `stride`) have no default: unset, each model variant's own recipe applies (the
paper's for MCD). `training.extra` passes `field=value` overrides to `mcd train --set`; each
variant's runs get those of its own architecture's config and of TrainConfig, and a field no
listed variant has stops the run, listing the valid ones.

**From the command line.** Snakemake merges, in this order, `config/config.yaml`, the files given
with `--configfile FILE ...` (later files win; mappings are merged key by key, lists and scalars
replaced) and the `--config KEY=VALUE ...` values; `--replace-workflow-config` drops
`config/config.yaml` from the merge. A nested value is a YAML/JSON mapping:
`--config 'training={"seeds": [0, 1], "epochs": 3}'` changes those two global keys and keeps the
others (Snakemake hands nested values over as strings; they are typed as the schema asks). A
global key changed this way reaches every dataset that does not set the key itself. For example:

    snakemake --cores 2 --config 'run=[demo_avqa]'
    snakemake --cores 8 --configfile my-datasets.yaml results/music_avqa/table3.csv
    snakemake --cores 8 --config 'extraction={"missing_videos": "skip"}' results/music_avqa/table3.csv

A dataset's videos and annotation files are checked before any job too: files not in place are
listed with where to put them; a videos folder holding none of the annotated videos is named.
"""

# (heading, where it applies, schema node path) of each section documented after the top level
SECTIONS = [
    ("extraction", "`extraction`, and `datasets.<name>.extraction` for one dataset", "$defs/extraction"),
    ("training", "`training`, and `datasets.<name>.training` for one dataset", "$defs/training"),
    ("table", "`table`, and `datasets.<name>.table` for one dataset", "$defs/table"),
    ("dataset entry", "each `datasets.<name>` (name: letters, digits and `_`)", "$defs/dataset"),
    ("imported stream", "each stream under `datasets.<name>.features` (rows `features.*` above)", "$defs/imported"),
]


def _text(value) -> str:
    """One table cell: whitespace collapsed, pipes escaped."""
    return re.sub(r"\s+", " ", str(value)).strip().replace("|", "\\|")


def _literal(value) -> str:
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def _ref_name(node: dict) -> str | None:
    ref = node.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def describe_type(node: dict, schema: dict) -> str:
    """The type or allowed values of a schema node, in words."""
    name = _ref_name(node)
    if name:
        return {"dataset": "a [dataset entry](#dataset-entry)", "imported": "an [imported stream](#imported-stream)"}.get(
            name, f"the [`{name}` section](#{name})")
    if "enum" in node:
        return "one of " + ", ".join(_literal(v) for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        item = describe_type(node.get("items", {}), schema)
        text = f"list of ({item})" if "," in item else f"list of {item}"
        if node.get("minItems"):
            text += f", at least {node['minItems']} item{'s' if node['minItems'] > 1 else ''}"
        return text
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not node.get("properties"):
            inner = resolve_ref(extra, schema)
            value = describe_type(extra, schema)
            if inner.get("type") == "object" and isinstance(inner.get("additionalProperties"), dict):
                value = f"mapping of key to {describe_type(inner['additionalProperties'], schema)}"
            keys = node.get("propertyNames", {}).get("pattern")
            return f"mapping of name{f' (matching `{keys}`)' if keys else ''} to {value}"
        return "mapping (keys below)"
    words = {"integer": "integer", "number": "number", "boolean": "boolean", "string": "string"}.get(kind, "any")
    bounds = []
    if "minimum" in node and "maximum" in node:
        bounds.append(f"{node['minimum']} to {node['maximum']}")
    elif "minimum" in node:
        bounds.append(f">= {node['minimum']}")
    if "exclusiveMinimum" in node:
        bounds.append(f"> {node['exclusiveMinimum']}")
    if node.get("minLength"):
        bounds.append("not empty")
    if "pattern" in node:
        bounds.append(f"matching `{node['pattern']}`")
    return words + (", " + ", ".join(bounds) if bounds else "")


def describe_default(node: dict, required: bool, parent: str = "") -> str:
    if "default" in node:
        return _literal(node["default"])
    if required:
        return f"required in `{parent}`" if parent else "required"
    return "unset"


def _rows(node: dict, schema: dict, prefix: str = "") -> list[str]:
    """One table row per key of an object node; small nested mappings are flattened (`a.b`)."""
    rows = []
    required = set(node.get("required", []))
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        nested = sub.get("type") == "object" and sub.get("properties") and "$ref" not in sub
        rows.append(f"| `{path}` | {_text(describe_type(sub, schema))} | "
                    f"{_text(describe_default(sub, key in required, prefix.rstrip('.')))} | "
                    f"{_text(sub.get('description', ''))} |")
        if nested:
            rows.extend(_rows(sub, schema, f"{path}."))
    return rows


def _table(node: dict, schema: dict) -> list[str]:
    return ["| key | type or allowed values | default | meaning |", "|---|---|---|---|", *_rows(node, schema)]


def _one_of(node: dict) -> list[str]:
    """The oneOf alternatives of a node, as required key sets (the imported stream's)."""
    if "oneOf" not in node:
        return []
    options = [" and ".join(f"`{k}`" for k in alt.get("required", [])) for alt in node["oneOf"]]
    return ["", f"Give exactly one of: {'; or '.join(options)} (alone)."]


def render(schema: dict) -> str:
    """config/README.md for `schema`."""
    lines = [f"<!-- Generated from {SCHEMA_PATH} by `{COMMAND}`: edit those, not this file. -->",
             "", INTRO.rstrip(), "", "## Top level", "", _text(schema.get("description", "")), "",
             *_table(schema, schema)]
    for heading, where, path in SECTIONS:
        node = schema
        for part in path.split("/"):
            node = node[part]
        lines += ["", f"## {heading[0].upper()}{heading[1:]}", "", f"Applies to {where}."]
        if node.get("required"):
            lines.append(f"Required keys: {', '.join(f'`{k}`' for k in node['required'])}.")
        lines += _one_of(node)
        lines += ["", *_table(node, schema)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print config/README.md, generated from the config schema.")
    parser.add_argument("--schema", default=SCHEMA_PATH, help=f"the config schema (default: {SCHEMA_PATH})")
    args = parser.parse_args(argv)
    sys.stdout.write(render(load_schema(args.schema)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
