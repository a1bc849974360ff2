"""The paper's experiment suite as Snakemake targets: every target plans on music_avqa (dry run,
dummy annotation files), the aggregate prints its run count and cost, and (slow) Tables II and VII
build end to end on a small demo with the expected ordering."""

from __future__ import annotations

import base64
import csv
import html
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from mcd_core.scoring.experiments import TABLES, needed_runs
from test_workflow import TINY_DEMO, planned_jobs, snakemake, write_config

TARGETS = [*(f"{t}.csv" for t in TABLES), "fig5b.png", "paper.done"]


def music_avqa_config(tmp: Path, seeds=(0, 1, 2)) -> dict:
    """music_avqa as config/config.yaml defines it, over dummy annotation files, placeholder video
    files and placeholder weights files (planning checks that they exist; nothing reads them)."""
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import list_sources, weights_file

    (tmp / "videos").mkdir(parents=True)
    for i in range(5):
        (tmp / "videos" / f"{i:08d}.mp4").touch()
    load_all_registries()
    (tmp / "weights").mkdir()
    for source in list_sources():
        weights_file(source.name, tmp / "weights").touch()
    qid = 0
    for split, n in (("train", 30), ("val", 8), ("test", 9)):
        records = []
        for i in range(n):
            qid += 1
            records.append({"video_id": f"{i % 5:08d}", "question_id": qid, "type": '["Audio", "Counting"]',
                            "question_content": "How many <Object> are there?", "templ_values": '["piano"]',
                            "question_deleted": 0, "anser": "two"})
        (tmp / f"avqa-{split}.json").write_text(json.dumps(records))
    import yaml

    real = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    entry = real["datasets"]["music_avqa"]
    entry.update(videos="videos", annotations={s: f"avqa-{s}.json" for s in ("train", "val", "test")})
    return {"run": [], "datasets": {"music_avqa": entry}, "training": {"seeds": list(seeds)},
            "weights_dir": str(tmp / "weights")}


def test_every_paper_target_plans_on_music_avqa_with_shared_runs_and_a_cost(tmp_path):
    write_config(tmp_path, music_avqa_config(tmp_path))
    proc = snakemake(tmp_path, "-n", *(f"results/music_avqa/{t}" for t in TARGETS))
    jobs = planned_jobs(proc)
    runs = needed_runs([*TABLES, "fig5b"], "swinv2_large", [0, 1, 2])
    assert jobs["train"] == len(runs)                         # one run per (features, variant, seed)
    assert jobs["paper_table"] == len(TABLES) and jobs["fig5b"] == 1 and jobs["paper"] == 1
    assert jobs["table3_html"] == 1 and jobs["table3_bars"] == 1
    assert jobs["extract_visual"] == 3                        # Table IV: three visual backbones
    late = {r for r in runs if r.variant.startswith("mcd_late")}
    assert jobs["predict"] == len(runs) - len(late)           # Fig. 5(b) reads curves, not predictions
    out = proc.stdout + proc.stderr
    assert f"{len(runs)} training runs" in out and "0 already finished" in out
    assert "estimated training time" in out and "NVIDIA H200" in out
    for target in TARGETS:
        assert f"results/music_avqa/{target}" in out


def test_music_avqa_table3_follows_the_papers_swin_v2_l_model(tmp_path):
    write_config(tmp_path, music_avqa_config(tmp_path, seeds=(0,)))
    proc = snakemake(tmp_path, "-n", "-p", "results/music_avqa/table3.csv")
    out = proc.stdout + proc.stderr
    assert "runs/swinv2_large-vggish/mcd/seed0/best.pt" in out
    assert "Table III MCD row (76.12)" in out                  # the note, in the planned command


def test_every_paper_target_plans_on_the_demo(tmp_path):
    write_config(tmp_path, TINY_DEMO)
    jobs = planned_jobs(snakemake(tmp_path, "-n", *(f"results/demo/{t}" for t in TARGETS)))
    assert jobs["train"] == len(needed_runs([*TABLES, "fig5b"], "resnet18", [0]))
    assert jobs["paper"] == 1


@pytest.mark.parametrize("name", [*TABLES, "fig5b"])
def test_each_target_trains_only_what_it_needs(tmp_path, name):
    write_config(tmp_path, TINY_DEMO)
    target = f"results/demo/{name}.{'png' if name == 'fig5b' else 'csv'}"
    jobs = planned_jobs(snakemake(tmp_path, "-n", target))
    assert jobs["train"] == len(needed_runs([name], "resnet18", [0]))
    assert jobs.get("extract_visual", 0) == (6 if name == "table4" else 2)   # 2 shards x backbones


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {row["method"]: row for row in csv.DictReader(fh)}


@pytest.fixture
def built_demo(shared_run):
    """The shared run's `demo` (tests/shared_pipeline.py): 120 videos, D = 128, 10 epochs."""
    return shared_run


@pytest.mark.slow
def test_table2_builds_on_the_demo_with_q_only_at_the_prior(built_demo):
    rows = read_rows(built_demo / "results/demo/table2.csv")
    assert list(rows) == ["Q", "A", "V", "Q+A", "Q+V", "Q+A+V", "prior", "N"]
    overall = {m: float(r["overall"]) for m, r in rows.items() if m != "N"}
    # Measured (2026-12-01, 24 questions a video): Q 41.30, prior 36.86, Q+A 48.12, Q+A+V 47.44 of 293
    # test questions. The question alone stays near the prior; the demo's answers need the audio.
    assert abs(overall["Q"] - overall["prior"]) <= 10.0, overall
    assert overall["Q+A+V"] > overall["prior"] + 5.0, overall
    assert overall["Q+A+V"] > overall["Q"] + 3.0, overall
    assert rows["Q"]["paper_overall"] == "51.24" and rows["Q"]["n_seeds"] == "1"
    assert "1 seed: no spread" in rows["Q"]["notes"]
    assert rows["prior"]["notes"].startswith("most frequent training answer")
    md = (built_demo / "results/demo/table2.md").read_text()
    assert "randomly initialised" in md and "| Q+A+V | 1 |" in md
    assert (built_demo / "results/demo/table2_bars.png").stat().st_size > 0


@pytest.mark.slow
def test_table7_builds_on_the_demo_with_every_attention_variant(built_demo):
    rows = read_rows(built_demo / "results/demo/table7.csv")
    assert len(rows) == 11 and rows["N"]["overall"]
    mcd = rows["bidirectional inter-attention (MCD)"]
    assert mcd["paper_overall"] == "76.12" and mcd["variant"] == "mcd"
    assert float(mcd["diff_overall"]) == pytest.approx(float(mcd["overall"]) - 76.12, abs=0.011)
    prior = read_rows(built_demo / "results/demo/table2.csv")["prior"]
    assert float(mcd["overall"]) > float(prior["overall"]) + 5.0, (mcd["overall"], prior["overall"])
    # MCD is one run shared by the tables that list it
    assert len(list((built_demo / "results/demo/runs/resnet18-vggish/mcd").iterdir())) == 1


def chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def report_results(report: Path) -> dict:
    """The `results` object the report embeds: path -> {mime_type, labels, data_uri, ...}."""
    text = report.read_text(encoding="utf-8")
    start = text.index("var results = {") + len("var results = ")
    return json.loads(text[start: text.index("};", start) + 1])


def report_categories(report: Path) -> dict[str, dict[str, list[str]]]:
    """The report's menu: category -> subcategory -> result paths, in the order it lists them."""
    text = report.read_text(encoding="utf-8")
    start = text.index("var categories = {") + len("var categories = ")
    return json.loads(text[start: text.index("};", start) + 1])


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                  "--virtual-time-budget=10000"]


def showing_page(report: Path, key: str, page: Path) -> Path:
    """A copy of the report that lets the report's own code show result `key` once loaded, then
    marks the body `data-shown="yes"`."""
    text = report.read_text(encoding="utf-8")
    show = ("<script>window.addEventListener('load', function () { setTimeout(function () {"
            f"app.setView({{content: 'html', contentPath: results['{key}'].data_uri, resultPath: '{key}'}});"
            "setTimeout(function () { document.body.setAttribute('data-shown', 'yes'); }, 300);"
            "}, 300); });</script>")
    cut = text.rindex("</body>")
    page.write_text(text[:cut] + show + text[cut:], encoding="utf-8")
    return page


def dump_dom(browser: str, url: str) -> str:
    """The DOM Chromium rendered for `url` (headless, after the page's scripts ran)."""
    return subprocess.run([browser, *CHROMIUM_FLAGS, "--dump-dom", url], capture_output=True, text=True,
                          timeout=180).stdout


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (<th> and <td>)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rendered_tables(browser: str, report: Path, key: str, tmp_path: Path) -> list[list[list[str]]]:
    """The tables of result `key` as the report shows them: open the report in headless Chromium,
    let it show the page (an <iframe> on the page's data URI), take that frame's address from the
    rendered DOM, render it in Chromium and read the cells of the DOM it dumps."""
    dom = dump_dom(browser, showing_page(report, key, tmp_path / "showing.html").as_uri())
    assert 'data-shown="yes"' in dom, dom[-2000:]
    frame = re.search(r'<iframe src="(data:text/html[^"]*)"', dom)
    assert frame, "the report shows no HTML frame"
    src = html.unescape(frame[1])
    if len(src) > 100_000:   # too long for one command-line argument: the same bytes as a file
        header, _, data = src.partition(",")
        page = tmp_path / "frame.html"
        page.write_bytes(base64.b64decode(data) if header.endswith(";base64") else unquote(data).encode())
        src = page.as_uri()
    parser = _Tables()
    parser.feed(dump_dom(browser, src))
    return parser.tables


CELL = re.compile(r"(?P<value>-?\d+(?:\.\d+)?)?(?: ± (?P<sd>\d+(?:\.\d+)?))?"
                  r"(?: \[(?P<lo>-?\d+(?:\.\d+)?), (?P<hi>-?\d+(?:\.\d+)?)\])?")


def assert_score_table_shown(tables: list[list[list[str]]], csv_path: Path) -> int:
    """The first rendered table holds table3.csv's numbers: per row (method, † aside) and column
    the accuracy, and the 95 % interval (1 decimal) where the CSV has one; returns the cells checked."""
    from mcd_core.scoring.metrics import COLUMNS, MUSIC_AVQA_TAXONOMY

    head, *body = tables[0]
    assert head == ["Method", *MUSIC_AVQA_TAXONOMY.headers]
    shown = {row[0].removesuffix(" †"): row[1:] for row in body}
    checked = 0
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(shown) == {r["method"] for r in rows}
    for row in rows:
        for column, cell in zip(COLUMNS, shown[row["method"]], strict=True):
            match = CELL.fullmatch(cell)
            assert match, (row["method"], column, cell)
            assert (float(match["value"]) if match["value"] else None) == \
                (float(row[column]) if row[column] else None), (row["method"], column, cell)
            lo, hi = row.get(f"{column}_lo"), row.get(f"{column}_hi")
            if lo and hi:
                assert abs(float(match["lo"]) - float(lo)) <= 0.051 and abs(float(match["hi"]) - float(hi)) <= 0.051, \
                    (row["method"], column, cell, lo, hi)
            else:
                assert match["lo"] is None, (row["method"], column, cell)
            checked += 1
    return checked


@pytest.mark.slow
def test_report_shows_tables_as_tables_bars_and_labelled_curves_in_chromium(built_demo, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium (apt-get install -y chromium; .ci/run installs it)")
    report = built_demo / "report.html"
    snakemake(built_demo, "--report", str(report), "results/demo/table2.csv", "results/demo/table7.csv",
              "results/demo/table3.html", "results/demo/table3_bars.png")
    results = report_results(report)
    for table in ("table2", "table7", "table3"):
        assert results[f"results/demo/{table}.html"]["mime_type"] == "text/html"   # shown, not downloaded
    for table in ("table7", "table3"):
        assert results[f"results/demo/{table}_bars.png"]["mime_type"] == "image/png"
    # Table III's page beside its bars in the paper tables' menu (Table IV's would be there too)
    paper = [p for sub in report_categories(report)["Paper tables"].values() for p in sub]
    assert {"results/demo/table3.html", "results/demo/table3_bars.png"} <= set(paper)
    curves = {k: v for k, v in results.items() if k.endswith("curves.png")}
    assert len(curves) == 16                                        # one per run of Tables II and VII
    assert {v["labels"]["run"] for v in curves.values()} == {k.split("runs/")[1].rsplit("/", 1)[0]
                                                              for k in curves}

    # Open the report in headless Chromium, let the report's own code show Table VII's page, and
    # take a screenshot: the table must be drawn (ink in the content area, ruled table lines).
    page = showing_page(report, "results/demo/table7.html", tmp_path / "report_table7.html")
    dom = dump_dom(browser, page.as_uri())
    assert 'data-shown="yes"' in dom and '<iframe src="data:text/html' in dom
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=180)
    from PIL import Image

    image = Image.open(shot).convert("L")
    width, height = image.size
    content = image.crop((int(width * 0.22), 0, width, int(height * 0.7)))   # right of the menu
    w, pixels = content.size[0], content.tobytes()
    ink = sum(p < 128 for p in pixels) / len(pixels)
    assert ink > 0.01, f"Table VII's page looks blank in the report ({ink:.3%} dark pixels)"
    rows = [sum(p < 200 for p in pixels[y * w:(y + 1) * w]) for y in range(content.size[1])]
    assert sum(r > 0.3 * w for r in rows) >= 10                    # horizontal rules of the tables

    # Table III's page as the report renders it: every number of table3.csv in its cells
    tables = rendered_tables(browser, report, "results/demo/table3.html", tmp_path)
    assert assert_score_table_shown(tables, built_demo / "results/demo/table3.csv") >= 13 * 3
