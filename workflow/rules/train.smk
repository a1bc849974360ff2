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
    shell:
        "mcd vocab --format {params.format:q} --train {input:q} --out {output:q} 2> {log:q}"


rule train:
    input:
        unpack(run_inputs),
        init=init_checkpoint,  # a two-stage variant's first stage (AVST: avst_grounding)
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
        inputs=input_flags,
        flags=train_flags,
        format=dataset_format,
        out_dir=lambda w, output: str(Path(output.best).parent),
    resources:
        # a whole GPU, or with training.gpu_share: N > 1 one of a GPU's N slots (docs/cluster.md,
        # "Several runs on one GPU"): `snakemake --resources gpu=G gpu_slot=G*N`
        gpu=train_gpu,
        gpu_slot=train_gpu_slot,
    shell:
        "mcd train --train {input.train:q} --val {input.val:q} --test {input.test:q}"
        " --vocab {input.vocab:q} --audio {input.audio:q} --visual {input.visual:q}"
        " --variant {wildcards.variant:q} --seed {wildcards.seed:q} --format {params.format:q}"
        " {params.inputs:q} {params.flags:q} --resume --out-dir {params.out_dir:q} 2> {log:q}"


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
        inputs=input_flags,
        format=dataset_format,
    resources:
        gpu=1,
    shell:
        "mcd predict --format {params.format:q} --checkpoint {input.checkpoint:q}"
        " --annotations {input.test:q} --vocab {input.vocab:q} --audio {input.audio:q}"
        " --visual {input.visual:q} {params.inputs:q} --out {output:q} 2> {log:q}"
