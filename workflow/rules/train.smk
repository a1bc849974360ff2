# Question vocabulary, MCD training (best on val) and predictions on the test split.


rule vocab:
    input:
        lambda w: annotation(w.dataset, "train"),
    output:
        "results/{dataset}/vocab.json",
    log:
        "results/{dataset}/logs/vocab.log",
    benchmark:
        "results/{dataset}/benchmarks/vocab.tsv"
    params:
        format=dataset_format,
    conda:
        "../../environment.yml"
    shell:
        "mcd vocab --format {params.format} --train {input} --out {output} 2> {log}"


rule train:
    input:
        unpack(run_inputs),
    output:
        best="results/{dataset}/runs/{tag}/{variant}/seed{seed}/best.pt",
        metrics="results/{dataset}/runs/{tag}/{variant}/seed{seed}/metrics.csv",
        curves=report(
            "results/{dataset}/runs/{tag}/{variant}/seed{seed}/curves.png",
            caption="../report/curves.rst",
            category="Training",
            labels={"run": "{tag}/{variant}/seed{seed}", "dataset": "{dataset}"},
        ),
    log:
        "results/{dataset}/logs/train/{tag}/{variant}_seed{seed}.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{tag}/{variant}_seed{seed}.tsv"
    params:
        flags=train_flags,
        format=dataset_format,
        out_dir=lambda w, output: str(Path(output.best).parent),
    resources:
        gpu=1,
    conda:
        "../../environment.yml"
    shell:
        "mcd train --train {input.train} --val {input.val} --test {input.test}"
        " --vocab {input.vocab} --audio {input.audio} --visual {input.visual}"
        " --variant {wildcards.variant} --seed {wildcards.seed} --format {params.format} {params.flags}"
        " --resume --out-dir {params.out_dir} 2> {log}"


rule predict:
    input:
        unpack(run_inputs),
        checkpoint="results/{dataset}/runs/{tag}/{variant}/seed{seed}/best.pt",
    output:
        "results/{dataset}/predictions/{tag}/{variant}_seed{seed}.csv",
    log:
        "results/{dataset}/logs/predict/{tag}/{variant}_seed{seed}.log",
    benchmark:
        "results/{dataset}/benchmarks/predict/{tag}/{variant}_seed{seed}.tsv"
    params:
        format=dataset_format,
    resources:
        gpu=1,
    conda:
        "../../environment.yml"
    shell:
        "mcd predict --format {params.format} --checkpoint {input.checkpoint} --annotations {input.test}"
        " --vocab {input.vocab} --audio {input.audio} --visual {input.visual}"
        " --out {output} 2> {log}"
