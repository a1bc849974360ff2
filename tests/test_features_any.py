"""`mcd features`: feature stores of any videos (mcd_core/features/anyvideos.py), with random-init
ResNet-18 and VGGish on three tiny videos, a truncated file and a file without picture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mcd_core.cli import main
from mcd_core.media.ffmpeg import ffmpeg_executable
from videos import make_truncated, make_video

T = 3
ARGS = ["--backbone", "resnet18", "--audio", "vggish", "--weights", "random-init", "--seed", "3",
        "--seconds", str(T), "--device", "cpu", "--workers", "0"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("anyvideos") / "videos"
    make_video(root / "a.mp4", seconds=3, audio="sine")
    make_video(root / "sub" / "b.mp4", seconds=2, audio="none", pattern="testsrc")   # no sound
    make_video(root / "c.mkv", seconds=5, audio="tones")                              # longer than T
    make_truncated(root / "a.mp4", root / "broken.mp4")                               # corrupt
    subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=2", "-c:a", "aac", str(root / "soundonly.mp4")], check=True)
    (root / "notes.txt.bak").write_text("not a video\n")                              # not picked up
    return root


def _run(capsys, *args):
    rc = main(["features", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


def test_a_folder_gives_both_stores_skips_bad_files_and_says_the_weights_are_random(folder, capsys, tmp_path):
    from mcd_core.features.store import open_store

    out = tmp_path / "feats.zarr"
    rc, stdout, err = _run(capsys, folder, *ARGS, "--out", out)
    assert rc == 0, err
    visual, audio = open_store(out), open_store(tmp_path / "feats.audio.zarr")
    assert visual.video_ids == audio.video_ids == ["a", "c", "b"]      # sorted paths: a.mp4, c.mkv, sub/b.mp4
    assert visual.features.shape == (3, T, 512) and audio.features.shape == (3, T, 128)
    assert visual.lengths.tolist() == [3, 3, 2] and audio.lengths.tolist() == [3, 3, 2]
    assert audio.flags["no_audio"].tolist() == [False, False, True]
    assert visual.attrs["weights"] == {"random_init": True, "seed": 3}
    assert audio.attrs["weights"]["random_init"] is True and audio.attrs["weights"]["seed"] == 3
    assert np.isfinite(np.asarray(visual.features[...])).all()
    # The bad files are listed beside both stores and reported at the end.
    for store in ("feats", "feats.audio"):
        failed = {f["video_id"]: f for f in json.loads((tmp_path / f"{store}.failures.json").read_text())}
        assert sorted(failed) == ["broken", "soundonly"]
        assert str(folder / "broken.mp4") in failed["broken"]["error"]      # the user's file, not a link
        assert "no video stream" in failed["soundonly"]["error"]
    assert "skipped 2 video(s)" in stdout and "  broken: frames: " in stdout
    assert "random-init (seed 3) for the visual and audio backbones" in stdout
    assert "without sound, kept with silence (flag no_audio): b" in stdout
    assert "extract-visual resnet18: 9/9 frame" in err                   # the progress lines
    assert _leftovers(tmp_path) == []

    # A rerun from a list file (relative paths) replaces the stores; nothing partial is left.
    listing = folder / "list.txt"
    listing.write_text("# two of them\nc.mkv\n\nsub/b.mp4\n")
    rc, stdout, err = _run(capsys, listing, *ARGS, "--out", out)
    assert rc == 0, err
    assert open_store(out).video_ids == open_store(tmp_path / "feats.audio.zarr").video_ids == ["c", "b"]
    assert json.loads((tmp_path / "feats.failures.json").read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feats.audio.failures.json", "feats.audio.zarr",
                                                          "feats.failures.json", "feats.zarr"]
    listing.unlink()


def _one_line(capsys, *args, match):
    rc, stdout, err = _run(capsys, *args)
    lines = err.strip().splitlines()
    assert rc == 2 and lines[-1].startswith("mcd features: error: ") and match in lines[-1], err
    return lines[-1]


def test_no_usable_input_and_ids_that_clash_are_one_line_errors(folder, capsys, tmp_path):
    out = tmp_path / "x.zarr"
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line(capsys, empty, *ARGS, "--out", out, match="no video file among the inputs")
    _one_line(capsys, tmp_path / "nope", *ARGS, "--out", out, match="nope does not exist")
    make_video(tmp_path / "a.mkv", seconds=1)
    line = _one_line(capsys, folder / "a.mp4", empty, folder / "sub" / "b.mp4", tmp_path / "a.mkv",
                     *ARGS, "--out", out, match="two videos have the id 'a'")
    assert str(folder / "a.mp4") in line and str(tmp_path / "a.mkv") in line
    _one_line(capsys, folder / "broken.mp4", folder / "soundonly.mp4", *ARGS, "--out", out,
              match="no usable video: all 2 failed (broken: frames: ffmpeg cannot read")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_killed_run_leaves_nothing_under_the_final_names_and_the_next_run_cleans_up(folder, capsys, tmp_path):
    out = tmp_path / "feats.zarr"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", "from mcd_core.cli import entry; entry()", "features",
                             str(folder), *ARGS, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            work = list(tmp_path.glob(".tmp-feats.work-*/frames")) + list(tmp_path.glob(".tmp-feats.work-*/.tmp-frames-*"))
            if work:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    names = [p.name for p in tmp_path.iterdir()]
    assert names and all(n.startswith(".tmp-") for n in names), names     # only the work folder
    rc, _, err = _run(capsys, folder, *ARGS, "--out", out)
    assert rc == 0, err
    assert _leftovers(tmp_path) == [] and out.is_dir()
