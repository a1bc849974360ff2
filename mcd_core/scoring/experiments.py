"""The paper's experiment suite: which runs each of its tables needs, and the paper's numbers.

Each `Experiment` (Tables II, IV, VI-X and Fig. 5(b)) lists its rows: a registered variant, the
visual backbone when the row fixes one (Table IV), and the paper row it is compared with. A run is
identified by (features, variant, seed) and the dataset's training settings, so a run listed by
several tables (MCD with the default settings is in Tables IV and VI-X) is trained once.

The paper's numbers live in `paper_results.csv` beside this module (table, row, column, value), typed
from the paper's text and checked against it by tests/test_paper_numbers.py. Torch-free: the
Snakefile reads this at parse time.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from mcd_core.models.ablations import ablation_for

PAPER_RESULTS = Path(__file__).with_name("paper_results.csv")
PRIOR = "prior"   # the answer-prior row (not a trained variant)
PUBLISHED = "published"   # a row with the paper's numbers only (a method not trained here: LAViSH)

# The paper's Table III MCD row (76.12) and its ablation tables' MCD rows are the Swin-V2-L model of
# Table IV; its Table IV rows for the other backbones give the number to compare with.
PAPER_BACKBONE = "swinv2_large"
TABLE_IV_ROWS = {"resnet18": "Ours ResNet-18", "clip_vit_b32": "Ours CLIP-ViT-B/32",
                 "swinv2_large": "Ours Swin-V2-L"}


@dataclass(frozen=True)
class ExperimentRow:
    label: str                      # our row's method label
    variant: str                    # registered variant, or PRIOR
    paper_row: str | None = None    # the row of the paper's table it is compared with
    visual: str | None = None       # visual backbone; None = the dataset's configured one
    note: str = ""
    optional: bool = False          # a peer's row: in the table when the dataset's training.variants names it
    card_only: bool = False         # not trained: the model card of our `variant` built at its released
                                    # config (untrained), beside the paper's numbers (Table VIII's peers)

    @property
    def trained(self) -> bool:
        return self.variant not in (PRIOR, PUBLISHED) and not self.card_only

    @property
    def key(self) -> str:
        """Unique within an experiment: the variant, plus the backbone when the row fixes one."""
        return self.variant if self.visual is None else f"{self.variant}@{self.visual}"


@dataclass(frozen=True)
class Experiment:
    name: str                       # target stem: results/<dataset>/<name>.csv
    paper_table: str                # the paper's table (roman numeral) or figure
    title: str
    rows: tuple[ExperimentRow, ...]
    model_card: bool = False        # add parameters and MACs of each run (Table VIII)
    note: str = ""

    def rows_for(self, variants=()) -> tuple[ExperimentRow, ...]:
        """The rows a dataset gets: every fixed row, and the optional (peer) rows whose variant it trains."""
        return tuple(r for r in self.rows if not r.optional or r.variant in set(variants))


def _rows(*items) -> tuple[ExperimentRow, ...]:
    return tuple(ExperimentRow(*item) if isinstance(item, tuple) else item for item in items)


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("table2", "II", "Table II: input modality combinations (multimodal MLP)", _rows(
        ("Q", "q_only", "Q"), ("A", "a_only", "A"), ("V", "v_only", "V"), ("Q+A", "qa", "Q+A"),
        ("Q+V", "qv", "Q+V"), ("Q+A+V", "qav", "Q+A+V"),
        ExperimentRow("prior", PRIOR, note="most frequent training answer per question template "
                                           "(no training, no seed): what a question-only model can reach"),
    ), note="The paper does not say which backbones Table II used."),
    Experiment("table4", "IV", "Table IV: visual backbones (MCD beside the peers on the same backbone)", _rows(
        ("MCD ResNet-18", "mcd", TABLE_IV_ROWS["resnet18"], "resnet18"),
        ExperimentRow("AVST ResNet-18", "avst", "AVST ResNet-18", "resnet18", optional=True),
        ("MCD CLIP ViT-B/32", "mcd", TABLE_IV_ROWS["clip_vit_b32"], "clip_vit_b32"),
        ExperimentRow("PSTP-Net CLIP ViT-B/32", "pstp_net", "PSTP-Net CLIP-ViT-B/32", "clip_vit_b32", optional=True),
        ("MCD Swin-V2-L", "mcd", TABLE_IV_ROWS["swinv2_large"], "swinv2_large"),
        ExperimentRow("LAViSH Swin-V2-L (published)", PUBLISHED, "LAViSH Swin-V2-L", "swinv2_large",
                      note="the paper's numbers only: LAViSH is not trained here"),
    ), note="AVST and PSTP-Net rows are trained when the dataset's training.variants names avst / pstp_net."),
    Experiment("table6", "VI", "Table VI: text encoder and text objects (T)", _rows(
        ("LSTM, w/o T", "mcd_no_text_objects", "LSTM, w/o T"), ("LSTM, w/ T (MCD)", "mcd", "LSTM, w/ T"),
        ("Bi-LSTM, w/o T", "mcd_bilstm_no_text_objects", "Bi-LSTM, w/o T"),
        ("Bi-LSTM, w/ T", "mcd_bilstm", "Bi-LSTM, w/ T"),
    )),
    Experiment("table7", "VII", "Table VII: attention in the association blocks", _rows(
        ("w/o attention", "mcd_attn_none", "w/o attention"),
        ("self-attention: audio", "mcd_attn_self_a", "Self-attention: Audio"),
        ("self-attention: visual", "mcd_attn_self_v", "Self-attention: Visual"),
        ("self-attention: audio + visual", "mcd_attn_self_av", "Self-attention: Audio + Visual"),
        ("cross-attention: A-query", "mcd_attn_cross_aq", "Cross-attention: A-query"),
        ("cross-attention: V-query", "mcd_attn_cross_vq", "Cross-attention: V-query"),
        ("cross-attention: A- + V-query", "mcd_attn_cross_avq", "Cross-attention: A-query + V-query"),
        ("bidirectional: A-query", "mcd_attn_bi_aq", "Bidirectional Inter-attention: A-query"),
        ("bidirectional: V-query", "mcd_attn_bi_vq", "Bidirectional Inter-attention: V-query"),
        ("bidirectional inter-attention (MCD)", "mcd", "Bidirectional Inter-attention: A-query + V-query"),
    ), note="Table VII's printed rows merge cells; the paper rows are our reading of them "
            "(paper_results.csv notes which)."),
    Experiment("table8", "VIII", "Table VIII: number of association blocks", _rows(
        ExperimentRow("AVST (model card)", "avst", "AVST", card_only=True, note=(
            "the paper's 18.480 M counts the ResNet-18 (11.69 M): every count of the released code "
            "without it is at most 10.61 M, with it 16.94 M (thop, ResNet-18 run) to 22.30 M (all), "
            "none exactly 18.48")),
        ExperimentRow("PSTP-Net (model card)", "pstp_net", "PSTP-Net", card_only=True, note=(
            "thop on the released code and on ours gives exactly the paper's 4.297 M (plain sum 10.60 M)")),
        ("AB (N=1)", "mcd_n1", "AB (N=1)"), ("AB (N=2) (MCD)", "mcd", "AB (N=2)"),
        ("AB (N=3)", "mcd_n3", "AB (N=3)"),
    ), model_card=True, note="Parameters and MACs of the AB rows are of our trained models (plain sum "
                             "and the thop convention, reference-facts §4); the paper's are for "
                             "Swin-V2-L inputs, their fixed part about 3 M smaller than ours "
                             "(docs/table8.md). The AVST and PSTP-Net rows are our peer models at their "
                             "released config, untrained (`mcd modelcard --peers`), beside the paper's "
                             "numbers; their accuracy is the paper's only."),
    Experiment("table9", "IX", "Table IX: local element fusion (Eq. 10)", _rows(
        ("w/o F_v", "mcd_lef_no_fv", "w/o F_v"), ("w/o F_a", "mcd_lef_no_fa", "w/o F_a"),
        ("w/o f_t", "mcd_no_text_objects", "w/o f_t"),
        ("only element-wise add", "mcd_lef_add_only", "Only element-wise add"),
        ("w/ dot-product (MCD)", "mcd", "w/ dot-product"),
    ), note="'w/o f_t' is the run of Table VI's 'LSTM, w/o T' (the paper prints the same numbers)."),
    Experiment("table10", "X", "Table X: contrastive and distillation losses", _rows(
        ("MCD w/o L_c^qv", "mcd_no_l_qv", "MCD w/o L_c^qv"), ("MCD w/o L_c^qa", "mcd_no_l_qa", "MCD w/o L_c^qa"),
        ("MCD w/o L_c^av", "mcd_no_l_av", "MCD w/o L_c^av"), ("MCD", "mcd", "MCD"),
        ExperimentRow("MCM w/o SA", "mcd_no_sa", None, note="the paper reports it on AVQA only "
                                                            "(Table V: 89.5 vs 90.8)"),
    )),
    Experiment("fig5b", "Fig. 5(b)", "Fig. 5(b): late fusion against MCD, validation and test accuracy", _rows(
        ("MCD (no late fusion)", "mcd"),
        ("concat: audio", "mcd_late_concat_a"), ("concat: visual", "mcd_late_concat_v"),
        ("concat: audio + visual", "mcd_late_concat"),
        ("add: audio", "mcd_late_add_a"), ("add: visual", "mcd_late_add_v"),
        ("add: audio + visual", "mcd_late_add"),
    )),
)}



def _with_ablation_notes(experiment: Experiment) -> Experiment:
    """Each ablation row's note starts with what its variant switches and every consequence
    (models/ablations.py)."""
    rows = []
    for row in experiment.rows:
        ablation = ablation_for(experiment.paper_table, row.variant) if row.trained else None
        note = "; ".join(n for n in (ablation.note() if ablation else "", row.note) if n)
        rows.append(dataclasses.replace(row, note=note))
    return dataclasses.replace(experiment, rows=tuple(rows))


EXPERIMENTS = {name: _with_ablation_notes(e) for name, e in EXPERIMENTS.items()}
TABLES = tuple(name for name in EXPERIMENTS if name.startswith("table"))


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


@dataclass(frozen=True)
class RunKey:
    visual: str
    variant: str
    seed: int


# The score tables a dataset format writes (mcd table): one row per variant of training.variants.
SCORE_TABLES = ("table3", "table5")


def _trained_rows(name: str, variants) -> list[ExperimentRow]:
    if name in SCORE_TABLES:
        return [ExperimentRow(v, v) for v in variants]
    return [row for row in get_experiment(name).rows_for(variants) if row.trained]


def needed_runs(names, configured_visual: str, seeds, variants=()) -> list[RunKey]:
    """The distinct training runs the experiments `names` need (the prior and published rows need
    none; a peer's row only when `variants`, the dataset's training.variants, names it). A score
    table (table3, table5) needs one run per variant of `variants`, counted on the configured
    backbone (a peer's runs use its own)."""
    runs = {RunKey(row.visual or configured_visual, row.variant, int(seed))
            for name in names for row in _trained_rows(name, variants) for seed in seeds}
    return sorted(runs, key=lambda r: (r.visual, r.variant, r.seed))


# -- the paper's numbers ---------------------------------------------------------------------------
def read_paper_results(path: str | Path = PAPER_RESULTS) -> dict[tuple[str, str], dict[str, str]]:
    """(table, row) -> {column: value as printed}; notes under the key "note"."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    out: dict[tuple[str, str], dict[str, str]] = {}
    for record in csv.DictReader(lines):
        entry = out.setdefault((record["table"], record["row"]), {})
        if record["column"] in entry:
            raise ValueError(f"{path}: table {record['table']} row {record['row']!r} gives column "
                             f"{record['column']!r} twice")
        entry[record["column"]] = record["value"]
        if record["note"]:
            entry["note"] = record["note"]
    return out


def paper_columns(table: str, results: dict | None = None) -> list[str]:
    """The columns the paper's table reports, in the order of the data file."""
    results = results if results is not None else read_paper_results()
    columns: list[str] = []
    for (t, _), values in results.items():
        if t == table:
            columns += [c for c in values if c != "note" and c not in columns]
    return columns


# -- which paper row to compare with ---------------------------------------------------------------
def backbone_note(visual: str, weights: str) -> str:
    """What the paper's numbers mean for rows computed with `visual` features and `weights`."""
    if weights != "pretrained":
        return ("backbones are randomly initialised: the rows show what the pipeline learns, "
                "not numbers comparable with the paper's")
    if visual == PAPER_BACKBONE:
        return "Swin-V2-L features, as the paper's MCD (Table III 76.12 = Table IV's Swin-V2-L row)"
    if visual in TABLE_IV_ROWS:
        row = TABLE_IV_ROWS[visual]
        overall = read_paper_results()[("IV", row)]["overall"]
        return (f"the paper's ablation rows use its Swin-V2-L model (its MCD row is 76.12); ours use "
                f"{visual}: compare our MCD with Table IV '{row}' ({overall}) and the paper's other "
                f"rows as differences from its MCD row")
    return f"the paper reports no MCD row with {visual} features"


def table3_note(visual: str, weights: str) -> str:
    """Which paper row Table III's MCD row compares with, for these features."""
    if weights != "pretrained":
        return backbone_note(visual, weights)
    if visual == PAPER_BACKBONE:
        return "compare MCD with the paper's Table III MCD row (76.12): the Swin-V2-L model of Table IV"
    if visual in TABLE_IV_ROWS:
        row = TABLE_IV_ROWS[visual]
        return (f"the paper's Table III MCD row (76.12) is its Swin-V2-L model; with {visual} compare "
                f"with Table IV '{row}' ({read_paper_results()[('IV', row)]['overall']} overall)")
    return f"the paper reports no MCD row with {visual} features"
