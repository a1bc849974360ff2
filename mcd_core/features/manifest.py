"""What a finished store holds: `manifest.json` in the store's folder lists, per array, every chunk
file (its key under the array's folder, its size, and the CRC-32 of its bytes as on disk).

The writers record it last, before the store gets its final name (`store.py`). Readers check that
every listed chunk is there at its recorded size before their first read (`missing_chunks`: one
`stat` a chunk, nothing read); `mcd verify` recomputes the checksums (`damaged_chunks`). Zarr writes
no chunk that holds only the fill value, so every chunk with content is listed, and a listed chunk
that is gone is damage: Zarr would read it as zeros. A store written before manifests existed has
none: it is read with a warning, once per store.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mcd_core.common.atomic import write_json
from mcd_core.features.errors import StoreError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1
SHOWN = 3           # damaged chunks named in a reader's one-line error
_warned: set[Path] = set()


@dataclass(frozen=True)
class Damage:
    array: str      # the array's folder in the store, e.g. "features"
    key: str        # the chunk key under it, e.g. "c/12/0/0"
    problem: str    # "is missing", "fails its checksum", ...


def _crc32(path: Path) -> str:
    crc = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


def _array_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / "zarr.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if meta.get("node_type") == "array" else None


def chunk_files(store: Path) -> dict[str, list[str]]:
    """Array folder (relative to the store) -> the keys of its chunk files, sorted."""
    out = {}
    for meta in sorted(store.rglob("zarr.json")):
        folder = meta.parent
        if _array_meta(folder) is not None:
            out[folder.relative_to(store).as_posix()] = sorted(
                p.relative_to(folder).as_posix() for p in folder.rglob("*")
                if p.is_file() and p.name != "zarr.json")
    return out


def record_manifest(store: str | os.PathLike) -> int:
    """Write `store/manifest.json` for the chunks there now; returns how many it lists."""
    store = Path(store)
    arrays = {name: {key: [(store / name / key).stat().st_size, _crc32(store / name / key)] for key in keys}
              for name, keys in chunk_files(store).items()}
    write_json(store / MANIFEST, {"format": FORMAT, "checksum": "crc32", "arrays": arrays}, indent=None)
    return sum(len(keys) for keys in arrays.values())


def read_manifest(store: Path) -> dict | None:
    """The store's manifest; None when it has none (written before manifests were recorded)."""
    try:
        manifest = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("arrays"), dict):
            raise ValueError(f"not a manifest of format {FORMAT}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as exc:
        raise StoreError(f"{store / MANIFEST}: cannot be read ({exc}); re-extract the store") from None
    return manifest


def warn_unrecorded(store: Path) -> None:
    if store.resolve() not in _warned:
        _warned.add(store.resolve())
        log.warning("%s has no chunk manifest (written before manifests were recorded): a lost chunk would "
                    "read as zeros; re-extract it, or run `mcd verify --record %s`", store, store)


def missing_chunks(store: Path, manifest: dict) -> list[Damage]:
    """Listed chunks that are gone or not at their recorded size (one stat each, nothing read)."""
    out = []
    for name, chunks in manifest["arrays"].items():
        folder = f"{store}{os.sep}{name}{os.sep}"  # plain strings: a Path per chunk doubles the cost
        for key, (size, _) in chunks.items():
            try:
                found = os.stat(folder + key).st_size
            except FileNotFoundError:
                out.append(Damage(name, key, "is missing"))
                continue
            if found != size:
                out.append(Damage(name, key, f"has {found} bytes, {size} recorded (truncated or rewritten)"))
    return out


def damaged_chunks(store: Path, manifest: dict) -> tuple[list[Damage], int]:
    """(every chunk that is missing, resized, fails its checksum or is not listed; chunks checked)."""
    out = missing_chunks(store, manifest)
    gone = {(d.array, d.key) for d in out}
    checked = 0
    for name, chunks in manifest["arrays"].items():
        for key, (_, crc) in chunks.items():
            if (name, key) not in gone:
                checked += 1
                if _crc32(store / name / key) != crc:
                    out.append(Damage(name, key, "fails its checksum (garbled)"))
    for name, keys in chunk_files(store).items():
        listed = manifest["arrays"].get(name, {})
        out += [Damage(name, key, "is not in the manifest (written after the store was finished)")
                for key in keys if key not in listed]
    return out, checked


def _grid(folder: Path) -> tuple[int, int, str, str] | None:
    """(rows, rows a chunk file holds, key prefix, separator) of the array in `folder`."""
    meta = _array_meta(folder)
    try:
        encoding = meta["chunk_key_encoding"]
        sep = encoding.get("configuration", {}).get("separator", "/" if encoding["name"] == "default" else ".")
        prefix = f"c{sep}" if encoding["name"] == "default" else ""
        return int(meta["shape"][0]), int(meta["chunk_grid"]["configuration"]["chunk_shape"][0]), prefix, sep
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def chunk_rows(store: Path, array: str, key: str) -> range | None:
    """The rows (videos) the chunk file `key` of `array` holds; None when that cannot be told."""
    grid = _grid(store / array)
    if grid is None:
        return None
    rows, per_chunk, prefix, sep = grid
    try:
        first = int(key[len(prefix):].split(sep)[0]) * per_chunk if key.startswith(prefix) else None
    except ValueError:
        return None
    return None if first is None else range(first, min(first + per_chunk, rows))


def holders(rows: range | None, ids: Sequence[str] | None, label: str = "video") -> str:
    """`video 'a'`, `videos 'a', 'b' and 3 more` or `rows 0-15`: what a chunk holds."""
    if rows is None or len(rows) == 0:
        return "rows unknown"
    if ids is None or rows.stop > len(ids):
        return f"rows {rows.start}-{rows.stop - 1}"
    names = [repr(str(ids[r])) for r in rows]
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{label}{'s' if len(names) > 1 else ''} {', '.join(names[:SHOWN])}{more}"


def describe(store: Path, damage: Damage, ids: Sequence[str] | None, label: str = "video") -> str:
    rows = chunk_rows(store, damage.array, damage.key)
    return f"{store}: array {damage.array!r} chunk {damage.key} ({holders(rows, ids, label)}) {damage.problem}"


def summary(store: Path, damage: Sequence[Damage], ids: Sequence[str] | None, label: str = "video") -> str:
    """The reader's one line for chunks found missing before the first step."""
    shown = "; ".join(describe(store, d, ids, label).removeprefix(f"{store}: ") for d in damage[:SHOWN])
    more = f"; and {len(damage) - SHOWN} more" if len(damage) > SHOWN else ""
    return (f"feature store {store} is damaged: {shown}{more}. Re-extract it (docs/reliability.md); "
            f"`mcd verify {store}` lists every damaged chunk")
