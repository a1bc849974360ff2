"""Typed values from `snakemake --config` strings, guided by the config schema.

Snakemake parses a `--config key=value` value with YAML's BaseLoader, so every scalar inside a
mapping or list arrives as a string: `--config 'training={"seeds": [0, 1], "epochs": 3}'` gives
`["0", "1"]` and `"3"`. Before validation, a string where the schema wants an integer, a number or
a boolean is converted when it spells one exactly ("3", "0.5", "true"); anything else is left for
the validator to report with its key.
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"^[+-]?\d+$")
_BOOLEANS = {"true": True, "false": False}


def resolve_ref(node: dict, schema: dict) -> dict:
    """`node` itself, or the part of `schema` its local `$ref` ("#/$defs/...") points to."""
    while isinstance(node, dict) and "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _scalar(text: str, types: list[str]):
    if "string" in types:
        return text
    if "integer" in types and _INTEGER.match(text.strip()):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "boolean" in types and text.strip().lower() in _BOOLEANS:
        return _BOOLEANS[text.strip().lower()]
    return text


def coerce_strings(value, node: dict, schema: dict):
    """`value` with its strings typed as `node` (a part of `schema`) asks; other values unchanged."""
    node = resolve_ref(node, schema)
    if not isinstance(node, dict):
        return value
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, str):
        return _scalar(value, types)
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [coerce_strings(v, node["items"], schema) for v in value]
    if isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        return {k: coerce_strings(v, properties[k], schema) if k in properties
                else coerce_strings(v, extra, schema) if isinstance(extra, dict) else v
                for k, v in value.items()}
    return value
