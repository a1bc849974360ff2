# Pretrained weights, on a machine with internet access: `snakemake --cores 1 fetch_weights`.
# Extraction reads only local files; a missing one stops it with the path and this command.


rule fetch_weights:
    input:
        lambda w: expand("resources/weights/.fetched/{backbone}", backbone=configured_backbones()),


rule fetch_one_weights:
    output:
        touch("resources/weights/.fetched/{backbone}"),
    log:
        "resources/weights/.fetched/{backbone}.log",
    benchmark:
        "resources/weights/.fetched/{backbone}.benchmark.tsv"
    shell:
        "mcd weights fetch {wildcards.backbone} 2> {log}"
