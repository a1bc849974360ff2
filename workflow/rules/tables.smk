# Per-question-type accuracy rows (MCD, optional answer prior) and the assembled score table: the
# dataset's format says which (Table III for music_avqa, Table V for avqa: `score_table`).


rule score_model:
    input:
        test=lambda w: annotation(w.dataset, "test"),
        predictions="results/{dataset}/predictions/{tag}/{variant}_seed{seed}.csv",
        failures=run_failure_manifests,
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
        "mcd score --format {params.format:q} --annotations {input.test:q}"
        " --predictions {input.predictions:q} --name {params.name:q} {params.meta:q}"
        " --exclude-videos {input.failures:q} --out {output:q} > {log:q} 2>&1"


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
        "mcd prior --format {params.format:q} --train {input.train:q} --test {input.test:q}"
        " --out {output:q} 2> {log:q}"


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
        "mcd score --format {params.format:q} --annotations {input.test:q}"
        " --predictions {input.predictions:q} --name prior {params.meta:q} --out {output:q} > {log:q} 2>&1"


rule table3:
    input:
        rows=table_rows,
        predictions=table_predictions,
        train=lambda w: annotation(w.dataset, "train"),
        val=lambda w: annotation(w.dataset, "val"),
        test=lambda w: annotation(w.dataset, "test"),
    output:
        csv="results/{dataset}/table3.csv",
        md=report("results/{dataset}/table3.md", caption="../report/table3.rst", category="Tables"),
    log:
        "results/{dataset}/logs/table3.log",
    benchmark:
        "results/{dataset}/benchmarks/table3.tsv"
    params:
        notes=table_notes,
        stores=lambda w: stream_flags(w.dataset),
        title=lambda w: f"Table III: {w.dataset}",
        format=dataset_format,
        paper_rows=lambda w: paper_rows_flags(w.dataset),
    shell:
        "mcd table --format {params.format:q} --rows {input.rows:q} --predictions {input.predictions:q}"
        " --title {params.title:q} {params.notes:q} {params.stores:q} {params.paper_rows:q} --train {input.train:q}"
        " --val {input.val:q} --test {input.test:q} --out {output.csv:q} --md {output.md:q} > {log:q} 2>&1"


rule table5:
    input:
        rows=lambda w: table_rows(w, "table5"),
        predictions=lambda w: table_predictions(w, "table5"),
        train=lambda w: annotation(w.dataset, "train"),
        val=lambda w: annotation(w.dataset, "val"),
        test=lambda w: annotation(w.dataset, "test"),
    output:
        csv="results/{dataset}/table5.csv",
        md=report("results/{dataset}/table5.md", caption="../report/table5.rst", category="Tables"),
    log:
        "results/{dataset}/logs/table5.log",
    benchmark:
        "results/{dataset}/benchmarks/table5.tsv"
    params:
        notes=table_notes,
        stores=lambda w: stream_flags(w.dataset),
        title=lambda w: f"Table V: {w.dataset}",
        format=dataset_format,
        paper_rows=lambda w: paper_rows_flags(w.dataset),
    shell:
        "mcd table --format {params.format:q} --rows {input.rows:q} --predictions {input.predictions:q}"
        " --title {params.title:q} {params.notes:q} {params.stores:q} {params.paper_rows:q} --train {input.train:q} --val {input.val:q}"
        " --test {input.test:q} --out {output.csv:q} --md {output.md:q} > {log:q} 2>&1"


# Table VIII's model card: parameters (plain and thop convention) and MACs for N = 1, 2, 3, and the
# parameters per part of the model under each counting convention (docs/table8.md).
rule modelcard:
    output:
        card="results/modelcard.csv",
        parts="results/modelcard_parts.csv",
    log:
        "results/logs/modelcard.log",
    benchmark:
        "results/benchmarks/modelcard.tsv"
    shell:
        "mcd modelcard --out {output.card:q} --parts {output.parts:q} > {log:q} 2>&1"
