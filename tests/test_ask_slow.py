"""`mcd ask` end to end (slow): a demo run built by the pipeline answers a demo video's test question
as it did in its predictions, from the same features; the HTML page renders in headless Chromium."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ask_tiny_run import SECONDS, build_tiny_run
from mcd_core.cli import main

pytestmark = pytest.mark.slow

@pytest.fixture
def demo(shared_run):
    """The shared run's `demo` (tests/shared_pipeline.py), built by the pipeline."""
    return shared_run


def test_a_demo_video_gets_the_runs_right_answer_from_the_pipelines_features(demo, capsys):
    from mcd_core.ask.session import ask
    from mcd_core.data.formats import get_format
    from mcd_core.features.store import open_store
    from mcd_core.media.audio import read_wav

    with (demo / "results/demo/predictions/resnet18-vggish/mcd_seed0.csv").open() as f:
        right = [row for row in csv.DictReader(f) if row["correct"] == "1"]
    assert right, "the demo run got no test question right; nothing to compare"
    questions = {q.question_id: q for q in
                 get_format("music_avqa").load(demo / "resources/demo/annotations/avqa-test.json").questions}
    row = right[0]
    q = questions[int(row["question_id"])]
    run = demo / "results/demo/runs/resnet18-vggish/mcd/seed0"
    video = next((demo / "resources/demo/videos").glob(f"{q.video_id}.*"))

    result = ask(run, video, [q.text], device="cpu")
    # same preprocessing path: the pipeline's frames and WAV byte for byte, its features to float32
    # rounding (the pipeline's backbones ran on batches of several videos)
    shard = next(p for p in (demo / "results/demo/frames").iterdir() if (p / q.video_id).is_dir())
    assert result.inputs.frames == [p.read_bytes() for p in sorted((shard / q.video_id).glob("*.jpg"))]
    wav = read_wav(demo / "results/demo/audio" / shard.name / f"{q.video_id}.wav")
    np.testing.assert_array_equal(result.inputs.samples, wav)
    for stream, name in (("visual", "visual/resnet18.zarr"), ("audio", "audio/vggish.zarr")):
        store = open_store(demo / "results/demo/features" / name)
        expected = store.features[store.row(q.video_id)]  # float32 rounding relative to the vector's scale
        np.testing.assert_allclose(result.inputs.store_rows[stream], expected,
                                   rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))
    answer = result.answers[0]
    assert answer.asked.type_key == q.type_key          # the template it was generated from
    assert answer.asked.keywords == q.templ_values
    assert answer.top[0][0] == row["prediction"] == q.answer

    # and through the command line, as the README shows it
    rc = main(["ask", "--run", str(run), "--video", str(video), "--question", q.text, "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    assert re.search(rf"answers: {re.escape(q.answer)} \d\.\d{{3}}", out), out


def _screenshot(page: Path, out: Path, size: tuple[int, int]):
    from PIL import Image

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("Debian's chromium is needed for this test: apt-get install -y chromium "
                    "(.ci/run installs it)")
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    with Image.open(out) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def _changed_box(a: np.ndarray, b: np.ndarray):
    """(top, bottom, left, right) of the pixels that differ between two screenshots."""
    rows, cols = np.nonzero(np.abs(a - b).sum(-1) > 30)
    assert len(rows), "hiding the images changed nothing: they were not drawn"
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def test_the_html_page_renders_filmstrip_and_plot_in_chromium(tmp_path):
    from mcd_core.ask.report import COLOURS, PLOT_SIZE, THUMB_HEIGHT

    run = build_tiny_run(tmp_path / "tiny")
    page = tmp_path / "page.html"
    assert main(["ask", "--run", str(run), "--video", str(tmp_path / "tiny/resources/toy/videos/00000001.mp4"),
                 "--question", "How many instruments are sounding in the video?", "--html", str(page),
                 "--device", "cpu"]) == 0
    size = (1200, 1400)  # the whole page: the time, weights and answer-set lines come before the plot
    shown = _screenshot(page, tmp_path / "page.png", size)
    assert shown.shape == (size[1], size[0], 3)

    # Each image's region: what changes when only that image is hidden.
    text = page.read_text()
    thumb_widths = [int(w) for w in re.findall(r"class='thumb' src='data:image/jpeg;base64,[^']+' width='(\d+)'", text)]
    assert len(thumb_widths) == SECONDS
    for css, what in (("img.thumb", "filmstrip"), ("img.plot", "plot")):
        hidden = tmp_path / f"no_{what}.html"
        hidden.write_text(text.replace("</style>", f"{css}{{visibility:hidden}}</style>", 1))
        top, bottom, left, right = _changed_box(shown, _screenshot(hidden, tmp_path / f"no_{what}.png", size))
        region = shown[top:bottom, left:right]
        if what == "filmstrip":   # frames of 80 px with a 3 px border, 4 px apart
            assert THUMB_HEIGHT <= bottom - top <= THUMB_HEIGHT + 6
            expected = sum(thumb_widths) + 6 * SECONDS + 4 * (SECONDS - 1)
            assert abs((right - left) - expected) <= 6, (right - left, expected)
            assert region.std() > 20                       # a picture, not a flat box
        else:                     # the plot's axes span nearly all of its 800 x 300 px
            assert 0.85 * PLOT_SIZE[0] <= right - left <= PLOT_SIZE[0]
            assert 0.85 * PLOT_SIZE[1] <= bottom - top <= PLOT_SIZE[1]
            for colour in (COLOURS["audio"], COLOURS["visual"]):  # both streams' curves are drawn
                rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
                assert (np.abs(region - rgb).sum(-1) < 40).sum() > 100, colour
