"""Weights on a machine without internet access: every source fails with one line, and the
offline routes work (copy a fetched folder, `mcd weights import`, an existing torch hub cache)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import torch
from torch import nn

from mcd_core.features.backbones.weights import (WeightSource, WeightsError, fetch, import_file,
                                                 load_weights, register_source, sha256_file,
                                                 weights_file)

# Every route to the network fails at once: a proxy on a closed port, and the Hugging Face hub's
# own offline switch (timm and open_clip go through it).
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "HF_HUB_OFFLINE": "1"}


def offline_env(tmp_path: Path) -> dict[str, str]:
    """No proxy exceptions, empty torch hub and Hugging Face caches."""
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    return {**env, **OFFLINE, "TORCH_HOME": str(tmp_path / "torch"), "HF_HOME": str(tmp_path / "hf")}


def fetch_each(tmp_path: Path, names: list[str]) -> subprocess.CompletedProcess:
    """`mcd weights fetch NAME` for each name in one process (imports paid once)."""
    code = ("import sys; from mcd_core.cli import main\n"
            "for name in sys.argv[2:]:\n"
            "    print(name, main(['weights', 'fetch', name, '--weights-dir', sys.argv[1]]), flush=True)\n")
    return subprocess.run([sys.executable, "-c", code, str(tmp_path / "weights"), *names],
                          capture_output=True, text=True, env=offline_env(tmp_path), timeout=300)


def exit_codes(proc: subprocess.CompletedProcess) -> list[str]:
    """The `NAME STATUS` lines of fetch_each (the hubs print their own progress lines too)."""
    return re.findall(r"^(\S+ \d+)$", proc.stdout, re.M)


def assert_one_line_each(proc: subprocess.CompletedProcess, names: list[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert exit_codes(proc) == [f"{n} 2" for n in names], proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("mcd weights: error:")]
    assert len(errors) == len(names), proc.stderr
    for name, line in zip(names, errors):
        assert f"{name!r}" in line and f"mcd weights import {name} FILE" in line


def test_torchvision_open_clip_and_url_sources_fail_offline_with_one_line(tmp_path):
    names = ["resnet18", "clip_vit_b32", "vggish"]
    assert_one_line_each(fetch_each(tmp_path, names), names)


@pytest.mark.slow
def test_timm_source_fails_offline_with_one_line(tmp_path):
    assert_one_line_each(fetch_each(tmp_path, ["swinv2_large"]), ["swinv2_large"])


def test_an_existing_torch_hub_cache_is_reused_offline(tmp_path):
    """torchvision finds its own download in $TORCH_HOME/hub/checkpoints and needs no network."""
    from torchvision.models import resnet18

    from mcd_core.features.backbones.registry import load_all_registries

    load_all_registries()
    torch.manual_seed(5)
    state = resnet18(weights=None).state_dict()
    cache = tmp_path / "torch/hub/checkpoints/resnet18-f37072fd.pth"
    cache.parent.mkdir(parents=True)
    torch.save(state, cache)
    proc = fetch_each(tmp_path, ["resnet18"])
    assert exit_codes(proc) == ["resnet18 0"], proc.stdout + proc.stderr
    loaded, _ = load_weights("resnet18", "pretrained", 0, tmp_path / "weights")
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def _source(tmp_path: Path, url_of=lambda f: f.as_uri(), **kw) -> tuple[str, Path]:
    release = tmp_path / "release" / "net.pth"
    release.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    torch.save(nn.Linear(4, 3).state_dict(), release)
    name = f"offline-{uuid.uuid4().hex[:8]}"
    register_source(WeightSource(name, f"{name}.pth", url_of(release), **kw))
    return name, release


def test_a_folder_fetched_elsewhere_and_copied_loads(tmp_path):
    name, release = _source(tmp_path, sha256=None)
    fetch(name, tmp_path / "networked/weights")
    shutil.copytree(tmp_path / "networked/weights", tmp_path / "cluster/weights")
    state, info = load_weights(name, "pretrained", 0, tmp_path / "cluster/weights")
    assert info["sha256"] == sha256_file(release)


def test_import_checks_the_registered_sha256(tmp_path):
    name, release = _source(tmp_path, sha256=None)
    good = sha256_file(release)
    register_source(WeightSource(name + "-h", f"{name}-h.pth", release.as_uri(), sha256=good))
    path = import_file(name + "-h", release, tmp_path / "weights")
    assert path.read_bytes() == release.read_bytes()
    assert load_weights(name + "-h", "pretrained", 0, tmp_path / "weights")[1]["sha256"] == good

    other = tmp_path / "other.pth"
    torch.save({"w": torch.zeros(1)}, other)
    with pytest.raises(WeightsError, match=f"does not match the registered {good}"):
        import_file(name + "-h", other, tmp_path / "weights2")
    assert not (tmp_path / "weights2" / f"{name}-h.pth").exists()


def test_import_of_a_library_checkpoint_stores_what_fetch_stores(tmp_path):
    """A hub source's file (here an open_clip model checkpoint) keeps the image tower only."""
    name = f"offline-clip-{uuid.uuid4().hex[:8]}"
    register_source(WeightSource(name, f"{name}.pth", "open_clip:Fake-B-32/openai"))
    checkpoint = tmp_path / "open_clip_pytorch_model.bin"
    torch.save({"visual.proj": torch.ones(2, 2), "visual.conv1.weight": torch.zeros(3),
                "token_embedding.weight": torch.ones(5)}, checkpoint)
    import_file(name, checkpoint, tmp_path / "weights")
    state, _ = load_weights(name, "pretrained", 0, tmp_path / "weights")
    assert sorted(state) == ["conv1.weight", "proj"]


def test_import_cli_errors_are_one_line(tmp_path):
    from mcd_core.cli import main

    not_weights = tmp_path / "notes.txt"
    not_weights.write_text("hello")
    code = ("import sys; from mcd_core.cli import main; "
            "raise SystemExit(main(['weights', 'import', sys.argv[1], sys.argv[2], '--weights-dir', sys.argv[3]]))")
    for name, file, message in (("resnet18", not_weights, "cannot be read as weights of 'resnet18'"),
                                ("resnet18", tmp_path / "absent.pth", "no such file"),
                                ("no_such_net", not_weights, "no weight source named 'no_such_net'")):
        proc = subprocess.run([sys.executable, "-c", code, name, str(file), str(tmp_path / "w")],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert main is not None
