# Pretrained weights, on a machine with internet access: `snakemake --cores 1 fetch_weights`.
# They go to the config's `weights_dir`; a missing file stops the run before any job, naming it.


rule fetch_weights:
    input:
        lambda w: expand(f"{WEIGHTS_DIR}/.fetched/{{backbone}}", backbone=configured_backbones()),


rule fetch_one_weights:
    output:
        touch(f"{WEIGHTS_DIR}/.fetched/{{backbone}}"),
    log:
        f"{WEIGHTS_DIR}/.fetched/{{backbone}}.log",
    benchmark:
        f"{WEIGHTS_DIR}/.fetched/{{backbone}}.benchmark.tsv"
    params:
        weights_dir=lambda w, output: str(Path(output[0]).parent.parent),  # {WEIGHTS_DIR}
    shell:
        "mcd weights fetch {wildcards.backbone:q} --weights-dir {params.weights_dir:q} 2> {log:q}"
