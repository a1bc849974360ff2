# MCD audio-visual question answering: from raw videos and annotations to the score tables.
#   snakemake --cores 2                              # the datasets listed under `run` (demo)
#   snakemake --cores 8 results/music_avqa/table3.csv
#   snakemake --cores 8 results/avqa/table5.csv      # AVQA (multiple choice, Table V)
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/media.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/weights.smk"
include: "workflow/rules/experiments.smk"


# Cheap rules and weight downloads run on the submitting host when a cluster profile is used
# (profiles/slurm): each would otherwise wait for a cluster slot, and compute nodes may be offline.
localrules:
    all,
    shard_ids,
    missing_videos,
    vocab,
    prior_predictions,
    score_model,
    score_prior,
    table3,
    table5,
    carve,
    fetch_weights,
    fetch_one_weights,


rule all:
    input:
        [f"results/{name}/{score_table(name)}.csv" for name in CONFIG["run"]],
    default_target: True
