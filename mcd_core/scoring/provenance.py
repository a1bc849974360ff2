"""Where a table's features came from, per stream: imported (file, sha256, layout) or extracted
(backbone, weights). Read from the stores' attributes when the table is assembled."""

from __future__ import annotations

import os
from pathlib import Path

from mcd_core.features.store import open_store


def _weights(weights) -> str:
    if isinstance(weights, dict) and weights.get("random_init"):
        return f"random-init, seed {weights.get('seed')}"
    if isinstance(weights, dict) and weights.get("file"):
        return f"{weights['file']}, sha256 {str(weights.get('sha256', ''))[:12]}"
    return str(weights)


def stream_source(stream: str, path: str | os.PathLike) -> tuple[str, str]:
    """(note, short cell) of one stream's store."""
    path = Path(path)
    if not path.is_dir():
        return f"{stream} features: {path} was not built (no run of this table reads it)", f"{stream}=none"
    attrs = open_store(path, check_chunks=False).attrs
    src = attrs.get("imported")
    if src:
        return (f"{stream} features: imported from {src['file']} (sha256 {src['sha256']}; layout "
                f"{src['layout']}: {src['project']}; {src['conversion']}) into {path}",
                f"{stream}=imported:{src['layout']}:{src['file']}@{src['sha256'][:12]}")
    return (f"{stream} features: extracted with {attrs['backbone']} (weights {_weights(attrs['weights'])}) "
            f"into {path}", f"{stream}=extracted:{attrs['backbone']}")


def feature_sources(stores: dict[str, str]) -> tuple[list[str], str]:
    """(notes, the `features` column) of the stores a table's runs read, by stream."""
    pairs = [stream_source(stream, path) for stream, path in stores.items()]
    return [note for note, _ in pairs], " ".join(cell for _, cell in pairs)
