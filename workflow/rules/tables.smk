# Per-question-type accuracy rows (MCD, optional answer prior) and the assembled Table III.


rule score_model:
    input:
        test=lambda w: annotation(w.dataset, "test"),
        predictions="results/{dataset}/predictions/{tag}/{variant}_seed{seed}.csv",
        failures=lambda w: failure_manifests(w.dataset),
    output:
        "results/{dataset}/scores/{tag}/{variant}_seed{seed}.csv",
    log:
        "results/{dataset}/logs/score/{tag}/{variant}_seed{seed}.log",
    benchmark:
        "results/{dataset}/benchmarks/score/{tag}/{variant}_seed{seed}.tsv"
    params:
        name=lambda w: method_name(w.variant, w.seed, training(w.dataset, "seeds")),
        meta=score_meta,
        format=dataset_format,
    shell:
        "mcd score --format {params.format} --annotations {input.test} --predictions {input.predictions}"
        " --name {params.name:q} {params.meta} --exclude-videos {input.failures}"
        " --out {output} > {log} 2>&1"


rule prior_predictions:
    input:
        train=lambda w: annotation(w.dataset, "train"),
        test=lambda w: annotation(w.dataset, "test"),
    output:
        "results/{dataset}/predictions/prior.csv",
    log:
        "results/{dataset}/logs/prior.log",
    benchmark:
        "results/{dataset}/benchmarks/prior.tsv"
    params:
        format=dataset_format,
    shell:
        "mcd prior --format {params.format} --train {input.train} --test {input.test} --out {output} 2> {log}"


rule score_prior:
    input:
        test=lambda w: annotation(w.dataset, "test"),
        predictions="results/{dataset}/predictions/prior.csv",
    output:
        "results/{dataset}/scores/prior.csv",
    log:
        "results/{dataset}/logs/score/prior.log",
    benchmark:
        "results/{dataset}/benchmarks/score/prior.tsv"
    params:
        meta=score_meta,
        format=dataset_format,
    shell:
        "mcd score --format {params.format} --annotations {input.test} --predictions {input.predictions}"
        " --name prior {params.meta} --out {output} > {log} 2>&1"


rule table3:
    input:
        table_rows,
    output:
        csv="results/{dataset}/table3.csv",
        md=report("results/{dataset}/table3.md", caption="../report/table3.rst", category="Tables"),
    log:
        "results/{dataset}/logs/table3.log",
    benchmark:
        "results/{dataset}/benchmarks/table3.tsv"
    params:
        notes=table_notes,
        format=dataset_format,
    shell:
        "mcd table --format {params.format} --rows {input} --title 'Table III: {wildcards.dataset}' {params.notes}"
        " --out {output.csv} --md {output.md} > {log} 2>&1"


# Table VIII's model card: parameters (plain and thop convention) and MACs for N = 1, 2, 3.
rule modelcard:
    output:
        "results/modelcard.csv",
    log:
        "results/logs/modelcard.log",
    benchmark:
        "results/benchmarks/modelcard.tsv"
    shell:
        "mcd modelcard --out {output} 2> {log}"
