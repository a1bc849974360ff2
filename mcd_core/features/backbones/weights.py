"""Pretrained weights: where each backbone's state dict lives, how to get it, and how to load it.

Every backbone registers a `WeightSource`. Its file lives in the weights directory (an explicit
argument, which the pipeline always passes from its `weights_dir` setting; else `$MCD_WEIGHTS_DIR`;
else `resources/weights` in the working directory, never beside the installed package) under the
registered file name, always as a plain torch state dict. `mcd weights fetch NAME` puts it there on a
networked machine; extraction only ever reads local files, so a missing file stops the job with the
command that fixes it instead of a download attempt in the middle of a cluster run.

A source's `url` is either a plain download (`https://`, `http://`, `file://`) or a library hub:
`torchvision:<WeightsEnum.TAG>`, `timm:<model.tag>`, `open_clip:<model-config>/<pretrained-tag>` (the
image tower), `open_clip_text:<model-config>/<pretrained-tag>` (the text tower), in which case the library downloads and builds the model and we save the state dict it holds.

Integrity: the registered `sha256` (when known) is the hash of the downloaded bytes and is checked
by `fetch`; the hash of the stored file is written beside it as `<file>.sha256` and checked on load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from mcd_core.common.atomic import atomic_path, write_text
from mcd_core.common.folders import check_writable
from mcd_core.common.loaderrors import load_error_line
from mcd_core.features.backbones.hubs import HUB_FETCHERS, text_tower_keys

WEIGHT_MODES = ("pretrained", "random-init")
WeightMode = Literal["pretrained", "random-init"]
ENV_WEIGHTS_DIR = "MCD_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("resources") / "weights"  # relative to the working directory


class WeightsError(Exception):
    """Weights are unknown, missing, corrupt or of the wrong kind; the message says which and why."""


@dataclass
class WeightSource:
    name: str                   # registry name, the same as the backbone's (e.g. "resnet18")
    filename: str               # file name inside the weights directory
    url: str                    # plain download URL or library hub reference (module docstring)
    sha256: str | None = None   # hash of the downloaded bytes, when known; checked by fetch
    note: str = ""              # provenance, licence, what the weights were trained on
    # Turns the downloaded file into our state dict (e.g. unwraps a training checkpoint);
    # None: the download already is the state dict and is stored as it is.
    convert: Callable[[Path], Mapping[str, Any]] | None = None


_SOURCES: dict[str, WeightSource] = {}


def register_source(src: WeightSource) -> WeightSource:
    """Add a source to the registry (re-registering an identical source is a no-op)."""
    known = _SOURCES.get(src.name)
    if known is not None and known != src:
        raise WeightsError(f"weight source {src.name!r} is registered twice with different settings")
    _SOURCES[src.name] = src
    return src


def get_source(name: str) -> WeightSource:
    try:
        return _SOURCES[name]
    except KeyError:
        raise WeightsError(f"no weight source named {name!r}; known: {sorted(_SOURCES)}") from None


def list_sources() -> list[WeightSource]:
    return [_SOURCES[k] for k in sorted(_SOURCES)]


def weights_dir_path(weights_dir: str | os.PathLike | None = None) -> Path:
    """The weights directory: the argument, else $MCD_WEIGHTS_DIR, else resources/weights in the
    working directory (where a Snakemake job runs)."""
    if weights_dir is not None:
        return Path(weights_dir)
    if os.environ.get(ENV_WEIGHTS_DIR):
        return Path(os.environ[ENV_WEIGHTS_DIR])
    return DEFAULT_WEIGHTS_DIR


# The weights file of every backbone, known without importing the backbone modules (they import
# torch): the Snakefile checks and fingerprints files at parse time from this table, and
# tests/test_weights.py keeps it equal to the registered sources.
WEIGHT_FILES: dict[str, str] = {
    "resnet18": "resnet18_imagenet1k_v1.pth",
    "resnext101_32x8d": "resnext101_32x8d_imagenet1k_v1.pth",
    "clip_vit_b32": "clip_vit_b32_openai_visual.pth",
    "clip_vit_l14_336": "clip_vit_l14_336_openai_visual.pth",
    "swinv2_large": "swinv2_large_window12to16_192to256_in22k_ft_in1k.pth",
    "vggish": "vggish-10086976.pth",
    "vggish_pca": "vggish_pca_params.pth",
    "panns_cnn14": "panns_cnn14_16k.pth",
    "resnet18_14x14": "resnet18_imagenet1k_v1.pth",   # the resnet18 file, run with a stride-1 layer4
    "tome_vit_l16_384": "vit_large_patch16_384_augreg_in21k_ft_in1k.pth",
    "tome_vit_s16_224": "vit_small_patch16_224_augreg_in21k_ft_in1k.pth",
    "clip_text_b32": "clip_text_b32_openai.pth",
    "clip_text_l14_336": "clip_text_l14_336_openai.pth",
    "resnext101_3d_kinetics": "resnext-101-kinetics.pth",
    "panns_cnn14_32k": "Cnn14_mAP=0.431.pth",
}


def weights_file(name: str, weights_dir: str | os.PathLike | None = None) -> Path:
    filename = _SOURCES[name].filename if name in _SOURCES else WEIGHT_FILES.get(name)
    if filename is None:
        get_source(name)  # the error naming the known sources
    return weights_dir_path(weights_dir) / filename


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str | None:
    side = _sidecar(path)
    if not side.is_file():
        return None
    text = side.read_text(encoding="utf-8").split()
    return text[0].lower() if text else None


def file_fingerprint(name: str, weights_dir: str | os.PathLike | None = None) -> str:
    """A cheap identity of the local weights file of `name`, for Snakemake's parameter tracking: the
    sha256 recorded at fetch time, else size and modification time; "missing" without a file. A new
    weights file under the same name then re-runs the jobs that used the old one."""
    path = weights_file(name, weights_dir)
    if not path.is_file():
        return "missing"
    recorded = _read_sidecar(path)
    if recorded is not None:
        return f"sha256:{recorded}"
    st = path.stat()
    return f"size:{st.st_size},mtime_ns:{st.st_mtime_ns}"


def missing_weights_message(names: list[str], weights_dir: str | os.PathLike | None = None) -> str | None:
    """One message listing every weights file of `names` that is not on disk, with the commands
    that provide them; None when all are there."""
    missing = [(n, weights_file(n, weights_dir)) for n in names]
    missing = [(n, p) for n, p in missing if not p.is_file()]
    if not missing:
        return None
    folder = weights_dir_path(weights_dir)
    lines = [f"{len(missing)} pretrained weights file(s) missing from {folder}:"]
    lines += [f"  {name}: {path}" for name, path in missing]
    names_arg = " ".join(n for n, _ in missing)
    lines.append(f"On a machine with internet access run `mcd weights fetch {names_arg} --weights-dir "
                 f"{folder}` (or `snakemake --cores 1 fetch_weights`) and copy the folder here; or "
                 f"`mcd weights import NAME FILE` a file you downloaded; or set "
                 f"`extraction.weights: random-init` to run without pretrained weights.")
    return "\n".join(lines)


def _is_hub(url: str) -> bool:
    return url.split(":", 1)[0] in HUB_FETCHERS


def verify_file(name: str, weights_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Check that the weights file exists and matches its recorded hashes; returns (path, sha256)."""
    src = get_source(name)
    path = weights_file(name, weights_dir)
    if not path.is_file():
        raise WeightsError(f"weights for {name!r} not found at {path}; run `mcd weights fetch {name}` "
                           f"on a machine with internet access (or set ${ENV_WEIGHTS_DIR} / --weights-dir)")
    digest = sha256_file(path)
    recorded = _read_sidecar(path)
    if recorded is not None and recorded != digest:
        raise WeightsError(f"{path}: sha256 {digest} does not match {_sidecar(path)} ({recorded}); "
                           f"the file changed after it was fetched; re-run `mcd weights fetch {name}`")
    # Only a file stored exactly as downloaded can be compared with the registered download hash.
    stored_as_downloaded = src.convert is None and not _is_hub(src.url)
    if src.sha256 and stored_as_downloaded and src.sha256.lower() != digest:
        raise WeightsError(f"{path}: sha256 {digest} does not match the registered {src.sha256} for "
                           f"{name!r}; re-run `mcd weights fetch {name}`")
    return path, digest


def build_weighted(name: str, build: Callable[[], Any], mode: str, seed: int,
                   weights_dir: str | os.PathLike | None = None) -> tuple[Any, dict[str, Any]]:
    """(network, weights info): `build()` under `seed` (the global RNG untouched), then the weights
    file loaded strictly in pretrained mode; a file that does not fit is one WeightsError."""
    import torch

    state, info = load_weights(name, mode, seed, weights_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build()
    if state is not None:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"weights file {info['file']} does not fit backbone {name!r}: {exc}") from exc
    return net, info


def load_weights(name: str, mode: str, seed: int, weights_dir: str | os.PathLike | None = None,
                 ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(state dict, provenance info) for pretrained mode; (None, {"random_init", "seed"}) otherwise.

    The info dict goes into the feature store's `weights` attribute, so it must not depend on the
    machine: the file is recorded by name, relative to the weights directory.
    """
    if mode not in WEIGHT_MODES:
        raise WeightsError(f"weights mode {mode!r} is not one of {WEIGHT_MODES}")
    if mode == "random-init":
        get_source(name)  # an unknown name is still an error
        return None, {"random_init": True, "seed": int(seed)}
    import torch

    path, digest = verify_file(name, weights_dir)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: cannot be read as a torch state dict ({load_error_line(exc)})") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: is not a state dict (a mapping of names to tensors)")
    return dict(state), {"file": get_source(name).filename, "sha256": digest}


# --- fetching (networked machines only) ----------------------------------------------------------

def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _offline_hint(name: str) -> str:
    return (f"without internet access, run `mcd weights fetch {name}` on a machine that has it and "
            f"copy the weights folder, or `mcd weights import {name} FILE` a file you downloaded")


def _obtain_state_file(src: WeightSource, dest: Path) -> None:
    """Write the state dict of `src` to `dest`: through a library hub, or download and convert.
    Any failure of the hub or the download is one WeightsError line, with the offline routes."""
    import torch

    scheme, _, ref = src.url.partition(":")
    if scheme in HUB_FETCHERS:
        if src.convert is not None:
            raise WeightsError(f"weight source {src.name!r}: convert is not supported for hub URLs")
        try:
            state = dict(HUB_FETCHERS[scheme](ref))
        except Exception as exc:
            raise WeightsError(f"cannot fetch {src.name!r} through {scheme} ({ref}): {_one_line(exc)}; "
                               f"{_offline_hint(src.name)}") from exc
        torch.save(state, dest)
        return
    with tempfile.TemporaryDirectory(prefix=".tmp-download-", dir=dest.parent) as scratch:
        raw = Path(scratch) / "download"
        try:
            _download(src.url, raw)
        except Exception as exc:
            raise WeightsError(f"cannot download {src.url} for {src.name!r}: {_one_line(exc)}; "
                               f"{_offline_hint(src.name)}") from exc
        got = sha256_file(raw)
        if src.sha256 and got != src.sha256.lower():
            raise WeightsError(f"download of {src.url} has sha256 {got}; the registered hash for "
                               f"{src.name!r} is {src.sha256}")
        if src.convert is not None:
            torch.save(dict(src.convert(raw)), dest)
        else:
            shutil.copyfile(raw, dest)


def fetch(name: str, weights_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Obtain, convert, hash and store the weights of `name`; an existing valid file is kept."""
    src = get_source(name)
    target = weights_file(name, weights_dir)
    if target.is_file() and not force:
        verify_file(name, weights_dir)
        return target
    check_writable(target.parent, "weights folder", WeightsError)
    with atomic_path(target) as tmp:
        _obtain_state_file(src, tmp)
        digest = sha256_file(tmp)
    write_text(_sidecar(target), f"{digest}  {target.name}\n")
    return target


# --- importing a file obtained elsewhere (offline clusters) ---------------------------------------

def _state_from_file(src: WeightSource, path: Path) -> Mapping[str, Any]:
    """The state dict held by a downloaded file: the source's own converter, or for hub sources the
    library's checkpoint (torch or safetensors; a `state_dict`/`model` entry is unwrapped, and an
    open_clip model keeps only its image tower, as `fetch` stores it)."""
    import torch

    if src.convert is not None:
        return src.convert(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if src.url.startswith("open_clip:") and isinstance(state, Mapping) and any(
            k.startswith("visual.") for k in state):
        state = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    if src.url.startswith("open_clip_text:") and isinstance(state, Mapping):
        state = text_tower_keys(state)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: holds no state dict (a mapping of names to tensors) for {src.name!r}")
    return state


def import_file(name: str, file: str | os.PathLike, weights_dir: str | os.PathLike | None = None,
                check: Callable[[str, Mapping[str, Any], Path], None] | None = None) -> Path:
    """Store a weights file downloaded by hand as the weights of `name`, as `fetch` would store it:
    the registered download sha256 is checked where there is one, then `check(name, state, file)`
    (`registry.check_fits`: the state fits the network), before anything is written."""
    import torch

    src = get_source(name)
    file = Path(file)
    if not file.is_file():
        raise WeightsError(f"{file}: no such file to import as the weights of {name!r}")
    target = weights_file(name, weights_dir)
    check_writable(target.parent, "weights folder", WeightsError)
    got = sha256_file(file)
    if src.sha256 and not _is_hub(src.url) and got != src.sha256.lower():
        raise WeightsError(f"{file}: sha256 {got} does not match the registered {src.sha256} of "
                           f"{name!r} (downloaded from {src.url}); is it the right file?")
    copy, state = src.convert is None and not _is_hub(src.url), None
    if not copy or check is not None:
        try:
            state = dict(_state_from_file(src, file))
        except (WeightsError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise WeightsError(f"{file}: cannot be read as weights of {name!r} ({load_error_line(exc)})") from None
        if check is not None:
            check(name, state, file)
    with atomic_path(target) as tmp:
        if copy:
            shutil.copyfile(file, tmp)
        else:
            torch.save(state, tmp)
        digest = sha256_file(tmp)
    write_text(_sidecar(target), f"{digest}  {target.name}\n")
    return target
