# The paper's experiment suite (issue 10): Tables II, IV, VI-X and Fig. 5(b) beside the paper's
# numbers, and results/<dataset>/paper.done for all of them. Every row is a (features, variant,
# seed) run of the train rule, so a run several tables list (MCD with the default settings) is
# trained once. The logic is in mcd_core.scoring (experiments, seedtables, figures, cost).

include: "experiments_common.smk"


rule paper_table:
    input:
        suite_inputs,
    output:
        csv="results/{dataset}/{table}.csv",
        md="results/{dataset}/{table}.md",
        html=report(
            "results/{dataset}/{table}.html",
            caption="../report/paper_table.rst",
            category="Paper tables",
            labels={"dataset": "{dataset}", "table": "{table}", "figure": "table"},
        ),
        bars=report(
            "results/{dataset}/{table}_bars.png",
            caption="../report/paper_bars.rst",
            category="Paper tables",
            labels={"dataset": "{dataset}", "table": "{table}", "figure": "bars: ours vs paper"},
        ),
    log:
        "results/{dataset}/logs/{table}.log",
    benchmark:
        "results/{dataset}/benchmarks/{table}.tsv"
    params:
        flags=suite_flags,
        format=dataset_format,
        seconds=lambda w: settings(w.dataset).seconds,
    shell:
        "mcd paper-table --experiment {wildcards.table:q} --dataset {wildcards.dataset:q} {params.flags:q}"
        " --format {params.format:q} --seconds {params.seconds:q} --out {output.csv:q} --md {output.md:q}"
        " --html {output.html:q} --bars {output.bars:q} > {log:q} 2>&1"


rule fig5b:
    input:
        lambda w: [p for _, p in suite_files(w.dataset, "fig5b", "metrics")],
    output:
        report(
            "results/{dataset}/fig5b.png",
            caption="../report/fig5b.rst",
            category="Paper tables",
            labels={"dataset": "{dataset}", "table": "fig5b", "figure": "curves"},
        ),
    log:
        "results/{dataset}/logs/fig5b.log",
    params:
        flags=fig5b_flags,
        title=lambda w: f"Fig. 5(b): {w.dataset}",
    shell:
        "mcd fig5b {params.flags:q} --title {params.title:q} --out {output:q} > {log:q} 2>&1"


# Table III's markdown as an HTML page: the report shows it as a table, not a download.
rule table3_html:
    input:
        "results/{dataset}/table3.md",
    output:
        report(
            "results/{dataset}/table3.html",
            caption="../report/table3.rst",
            category="Paper tables",
            labels={"dataset": "{dataset}", "table": "table3", "figure": "table"},
        ),
    log:
        "results/{dataset}/logs/table3_html.log",
    shell:
        "mcd md-html --md {input:q} --out {output:q} 2> {log:q}"


# Table III as per-group bars (A Avg, V Avg, AV Avg, Overall: ours, the peers, the prior, the
# published rows; 95 % intervals as error bars), beside table3.html and Table IV's page and bars in
# the report's "Paper tables" (`mcd table-bars`; AVQA datasets write table5 and have no table3).
rule table3_bars:
    input:
        "results/{dataset}/table3.csv",
    output:
        report(
            "results/{dataset}/table3_bars.png",
            caption="../report/table3_bars.rst",
            category="Paper tables",
            labels={"dataset": "{dataset}", "table": "table3", "figure": "bars: per group"},
        ),
    log:
        "results/{dataset}/logs/table3_bars.log",
    params:
        title=lambda w: f"Table III: {w.dataset}",
        format=dataset_format,
    shell:
        "mcd table-bars --format {params.format:q} --csv {input:q} --title {params.title:q}"
        " --out {output:q} > {log:q} 2>&1"


# paper.done: the paper's tables the dataset's format has (`paper_outputs`: the suite on MUSIC-AVQA,
# Table V on AVQA).
rule paper:
    input:
        paper_outputs,
    output:
        "results/{dataset}/paper.done",
    log:
        "results/{dataset}/logs/paper.log",
    params:
        plan=suite_plan,
        flags=suite_plan_flags,
    message:
        "{params.plan}"
    shell:
        "mcd paper-plan {params.flags:q} --out {output:q} > {log:q} 2>&1"
