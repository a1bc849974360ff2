"""Progress output: lines every ~10 % when stderr is a log file, never tqdm's `\\r` redraws."""

import ast
import io
from pathlib import Path

from mcd_core.common.progress import LineProgress, progress

PKG = Path(__file__).resolve().parents[1] / "mcd_core"


def test_iteration_without_a_terminal_writes_about_ten_lines():
    stream = io.StringIO()
    assert sum(progress(range(1000), desc="frames", unit="video", stream=stream)) == sum(range(1000))
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("frames: 100/1000 video (10%)")
    assert lines[-1].startswith("frames: 1000/1000 video (100%)")


def test_updates_in_uneven_steps_and_an_early_end_report_where_they_stopped():
    stream = io.StringIO()
    with progress(total=100, desc="extract", unit="frame", stream=stream) as bar:
        assert isinstance(bar, LineProgress)
        for n in (3, 3, 40, 30):
            bar.update(n)
    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "extract: 46/100 frame (46%)", "extract: 76/100 frame (76%)"]
    stream = io.StringIO()
    with progress(total=100, desc="extract", unit="frame", stream=stream) as bar:
        bar.update(15)
        bar.update(2)  # ends between two steps: the last line says where
    assert [line.split(",")[0] for line in stream.getvalue().splitlines()] == [
        "extract: 15/100 frame (15%)", "extract: 17/100 frame (17%)"]


def test_a_terminal_gets_a_tqdm_bar():
    from tqdm import tqdm

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    bar = progress(range(3), desc="x", stream=Terminal())
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]


def test_no_module_writes_tqdm_bars_itself():
    users = []
    for path in PKG.rglob("*.py"):
        if path.name == "progress.py" and path.parent.name == "common":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "tqdm" for n in names):
                users.append(str(path.relative_to(PKG)))
    assert not users, users
