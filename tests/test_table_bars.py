"""Issue 23 item 3: Table III as per-group bars with the 95 % intervals (`mcd table-bars`, rule
`table3_bars`), shown in the report beside table3.html and Table IV's page and bars."""

from __future__ import annotations

import csv
import re

import pytest

from mcd_core.cli import main
from mcd_core.scoring.figures import score_table_bars, score_table_groups
from mcd_core.scoring.metrics import COLUMNS, MUSIC_AVQA_TAXONOMY
from mcd_core.scoring.tables import read_score_table, uncertainty_columns

GROUPS = ("audio_avg", "visual_avg", "av_avg", "overall")


def handmade_table3(path):
    """A table3.csv as `mcd table` writes it: our MCD row and a peer with intervals, the prior with
    intervals, a published row without (and without a V Avg value), then the N row."""
    columns = ["method", *COLUMNS, *uncertainty_columns(), "seed", "notes", "source"]

    def row(method, base, intervals=True, source="", skip=()):
        cells = {"method": method, "source": source}
        for i, c in enumerate(COLUMNS):
            cells[c] = "" if c in skip else f"{base + i * 0.5:.2f}"
        if intervals:
            for c in GROUPS:
                if c not in skip:
                    value = float(cells[c])
                    cells[f"{c}_lo"], cells[f"{c}_hi"] = f"{value - 4.25:.2f}", f"{value + 3.5:.2f}"
        return cells

    rows = [row("MCD", 61.0), row("MCD + time encoding (ours)", 62.0), row("AVST", 52.0), row("prior", 35.0),
            row("MCD (MCD paper)", 70.0, intervals=False, source="MCD paper Table III", skip=("visual_avg",)),
            {"method": "N", **{c: "40" for c in COLUMNS}}]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_groups_are_the_columns_with_intervals():
    assert [c for c, _ in score_table_groups(MUSIC_AVQA_TAXONOMY)] == list(GROUPS)


def test_table3_bars_plot_every_rows_group_values_and_intervals_from_the_csv(tmp_path):
    path = handmade_table3(tmp_path / "table3.csv")
    png = tmp_path / "table3_bars.png"
    plotted = score_table_bars(read_score_table(path), png, "Table III: hand-made")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size < 200_000
    rows = {r["method"]: r for r in csv.DictReader(path.open()) if r["method"] != "N"}
    assert list(plotted) == list(GROUPS)
    # one bar per row and group, except the published row's missing V Avg: 5 * 4 - 1
    assert sum(len(bars) for bars in plotted.values()) == 19
    assert [b.method for b in plotted["visual_avg"]] == ["MCD", "MCD + time encoding (ours)", "AVST", "prior"]
    for col, bars in plotted.items():
        for bar in bars:
            row = rows[bar.method]
            assert bar.value == float(row[col])
            if row[f"{col}_lo"]:
                assert bar.interval == (float(row[f"{col}_lo"]), float(row[f"{col}_hi"]))
            else:
                assert bar.interval is None
    kinds = {b.method: b.kind for b in plotted["overall"]}
    assert kinds == {"MCD": "ours", "MCD + time encoding (ours)": "ours", "AVST": "peer", "prior": "prior",
                     "MCD (MCD paper)": "published"}
    assert plotted["overall"][0].interval == pytest.approx((float(rows["MCD"]["overall"]) - 4.25,
                                                            float(rows["MCD"]["overall"]) + 3.5))


def test_table_bars_verb_writes_the_png(tmp_path):
    path = handmade_table3(tmp_path / "table3.csv")
    out = tmp_path / "bars.png"
    assert main(["table-bars", "--csv", str(path), "--title", "Table III: demo", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["table-bars", "--csv", str(tmp_path / "missing.csv"), "--out", str(out)]) != 0


def handmade_results(work):
    """results/demo of a hand-made run: table3.csv (our rows, the prior, every published row) and
    its markdown, and the score and predictions files Table IV's rows read (three backbones)."""
    from test_paper_tables import write_scores
    from test_uncertainty import MCD, OTHER, write_predictions

    from mcd_core.scoring.paperrows import add_paper_rows
    from mcd_core.scoring.tables import add_columns, table_csv, table_markdown

    results = work / "results/demo"
    results.mkdir(parents=True)
    path = handmade_table3(results / "table3.csv")
    table = read_score_table(path)
    table.rows = [r for r in table.rows if r["method"] != "MCD (MCD paper)"]
    add_columns(table, add_paper_rows(table.rows, "music_avqa", MUSIC_AVQA_TAXONOMY))
    path.write_text(table_csv(table))
    (results / "table3.md").write_text(table_markdown(table, "Table III: demo (hand-made)"))
    for i, (visual, correct) in enumerate((("resnet18", MCD), ("swinv2_large", OTHER), ("clip_vit_b32", MCD))):
        (results / f"scores/{visual}-vggish").mkdir(parents=True)
        (results / f"predictions/{visual}-vggish").mkdir(parents=True)
        write_scores(results / f"scores/{visual}-vggish/mcd_seed0.csv", 60.0 + 3 * i, "0", visual=visual)
        write_predictions(results / f"predictions/{visual}-vggish/mcd_seed0.csv", correct)
    return path


HANDMADE_RULES = ("--allowed-rules", "table3_html", "table3_bars", "paper_table")
HANDMADE_TARGETS = ("results/demo/table3.html", "results/demo/table3_bars.png", "results/demo/table4.html")


@pytest.mark.slow
def test_report_shows_table3_and_table4_pages_and_bars_with_the_csvs_numbers_in_chromium(tmp_path):
    """A hand-made results/demo (no extraction or training): the real rules draw Table III's page
    and bars and Table IV's, the report lists them as neighbours, and Chromium renders the numbers."""
    from test_paper_workflow import (assert_score_table_shown, chromium, rendered_tables, report_categories,
                                     report_results)
    from test_workflow import TINY_DEMO, snakemake, write_config

    browser = chromium()
    if browser is None:
        pytest.skip("no chromium (apt-get install -y chromium; .ci/run installs it)")
    write_config(tmp_path, TINY_DEMO)
    table3 = handmade_results(tmp_path)
    snakemake(tmp_path, "--cores", "1", *HANDMADE_TARGETS, *HANDMADE_RULES)   # the rules last: nargs="+"
    report = tmp_path / "report.html"
    snakemake(tmp_path, "--report", str(report), *HANDMADE_TARGETS, *HANDMADE_RULES)
    results = report_results(report)
    entries = {k: v for k, v in results.items() if re.fullmatch(r"results/demo/table[34](\.html|_bars\.png)", k)}
    assert {k: v["mime_type"] for k, v in entries.items()} == {
        "results/demo/table3.html": "text/html", "results/demo/table3_bars.png": "image/png",
        "results/demo/table4.html": "text/html", "results/demo/table4_bars.png": "image/png"}
    # neighbours in one menu entry: Table III's page and bars, then Table IV's
    assert report_categories(report) == {"Paper tables": {"Other": sorted(entries)}}
    assert {v["labels"]["table"] for v in entries.values()} == {"table3", "table4"}

    tables = rendered_tables(browser, report, "results/demo/table3.html", tmp_path)
    assert assert_score_table_shown(tables, table3) == 13 * (4 + 13 + 1)      # ours, prior, published, N
    tables = rendered_tables(browser, report, "results/demo/table4.html", tmp_path)
    with (tmp_path / "results/demo/table4.csv").open(newline="") as fh:
        table4 = [r for r in csv.DictReader(fh) if r["overall"] and r["method"] != "N"]
    assert len(table4) == 3
    cells = [cell for table in tables for row in table for cell in row]
    for row in table4:
        assert any(c.startswith(row["overall"]) for c in cells), (row["method"], row["overall"])
