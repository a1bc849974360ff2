# Helpers of experiments.smk (the paper's experiment suite): which score tables, predictions (for
# intervals and paired tests), metrics and checkpoints each table reads, question counts and the plan of training runs.

from mcd_core.scoring import experiments as paper_suite
from mcd_core.scoring.cost import plan_text
from mcd_core.workflow.datasets import load_split

PAPER_TABLES = paper_suite.TABLES


wildcard_constraints:
    table="|".join(PAPER_TABLES),


def suite_tag(dataset, row):
    visual = row.visual or extraction(dataset, "visual_backbone")
    return f"{visual}-{audio_store(dataset)}"


def suite_files(dataset, name, kind):
    """(row key, file) of every row and seed of experiment `name`: score tables, predictions,
    metrics or checkpoints. The answer prior has one score table and predictions file and no run."""
    pairs = []
    for row in paper_suite.get_experiment(name).rows_for(training(dataset, "variants")):
        if row.variant == paper_suite.PRIOR:
            if kind in ("scores", "predictions"):
                pairs.append((row.key, f"results/{dataset}/{kind}/prior.csv"))
            continue
        if not row.trained:  # published numbers only (LAViSH)
            continue
        tag = suite_tag(dataset, row)
        run = f"results/{dataset}/runs/{tag}/{row.variant}"
        for seed in training(dataset, "seeds"):
            pairs.append((row.key, {"scores": f"results/{dataset}/scores/{tag}/{row.variant}_seed{seed}.csv",
                                    "predictions": f"results/{dataset}/predictions/{tag}/{row.variant}_seed{seed}.csv",
                                    "metrics": f"{run}/seed{seed}/metrics.csv",
                                    "checkpoint": f"{run}/seed{seed}/best.pt"}[kind]))
            if kind == "checkpoint":
                break  # parameters and MACs do not depend on the seed
    return pairs


def suite_kinds(table):
    kinds = ("scores", "predictions")
    return (*kinds, "checkpoint") if paper_suite.get_experiment(table).model_card else kinds


def suite_inputs(wildcards):
    return [path for kind in suite_kinds(wildcards.table)
            for _, path in suite_files(wildcards.dataset, wildcards.table, kind)]


def suite_flags(wildcards):
    """As a list: the shell command quotes each item (`{params.flags:q}`)."""
    return [item for kind in suite_kinds(wildcards.table)
            for key, path in suite_files(wildcards.dataset, wildcards.table, kind)
            for item in (f"--{kind}", f"{key}={path}")]


def fig5b_flags(wildcards):
    return [item for key, path in suite_files(wildcards.dataset, "fig5b", "metrics")
            for item in ("--metrics", f"{key}={path}")]


def question_counts(dataset):
    """Questions of the train, val and test files, or None while a file does not exist yet."""
    counts = []
    for split in ("train", "val", "test"):
        path = Path(annotation(dataset, split))
        if not path.is_file():
            return None
        # read once per file version and checked record by record (cached by the workflow package)
        counts.append(len(load_split(settings(dataset).format, path).questions))
    return counts


def planned_question_counts(dataset):
    """(counts, note) for the dry run's cost lines: the files' counts, or while rule `carve` has not
    run yet, its source's count split as the carve will split it (val: `val_questions`, the carve
    takes whole videos until it has at least that many)."""
    counts = question_counts(dataset)
    ds = settings(dataset)
    if counts is not None or ds.carve is None:
        return counts, ""
    source, test = Path(ds.carve["source"]), Path(annotation(dataset, "test"))
    if not (source.is_file() and test.is_file()):
        return None, ""
    total = len(load_split(ds.format, source).questions)
    val = min(total, int(ds.carve["val_questions"]))
    return [total - val, val, len(load_split(ds.format, test).questions)], \
        f" (train and val: {source} as rule carve will split it, not run yet)"


def suite_epochs(dataset):
    from mcd_core.training.config import TrainConfig

    return settings(dataset).training.get("epochs") or TrainConfig().epochs


def suite_names(dataset):
    """What results/<dataset>/paper.done stands for, by the dataset's format: on MUSIC-AVQA the
    paper's suite (Tables II-IV, VI-X, Fig. 5(b)); on AVQA its Table V, the paper's only AVQA result
    (the suite's tables compare with MUSIC-AVQA numbers and question types)."""
    return [*PAPER_TABLES, "fig5b"] if score_table(dataset) == "table3" else [score_table(dataset)]


def paper_outputs(wildcards):
    ds = wildcards.dataset
    if score_table(ds) != "table3":
        return [f"results/{ds}/{score_table(ds)}.csv", f"results/{ds}/{score_table(ds)}.md"]
    return [*expand("results/{dataset}/{table}.csv", dataset=ds, table=PAPER_TABLES),
            f"results/{ds}/table3.html", f"results/{ds}/table3_bars.png", f"results/{ds}/fig5b.png"]


def finished_runs(dataset):
    from mcd_core.scoring.cost import with_stage_one

    runs = with_stage_one(paper_suite.needed_runs(suite_names(dataset), extraction(dataset, "visual_backbone"),
                                                  training(dataset, "seeds"), training(dataset, "variants")))
    audio = audio_store(dataset)
    return sum(Path(f"results/{dataset}/runs/{r.visual}-{audio}/{r.variant}/seed{r.seed}/final.json").is_file()
               for r in runs)


def suite_plan(wildcards):
    ds = wildcards.dataset
    counts, note = planned_question_counts(ds)
    return plan_text(suite_names(ds), extraction(ds, "visual_backbone"), training(ds, "seeds"),
                     counts, suite_epochs(ds), finished_runs(ds), training(ds, "variants"),
                     videos=len(video_ids(ds)), seconds=settings(ds).seconds, audio=extraction(ds, "audio_backbone"),
                     counts_note=note)


def suite_plan_flags(wildcards):
    ds = wildcards.dataset
    counts = question_counts(ds)
    flags = ["--experiments", *suite_names(ds), "--visual", extraction(ds, "visual_backbone"),
             "--seeds", *map(str, training(ds, "seeds")), "--epochs", str(suite_epochs(ds)),
             "--finished", str(finished_runs(ds)), "--variants", *training(ds, "variants"),
             "--videos", str(len(video_ids(ds))), "--seconds", str(settings(ds).seconds),
             "--audio", extraction(ds, "audio_backbone")]
    if counts is not None:
        flags += ["--questions", *map(str, counts)]
    return flags
