# Backbone features per shard, then one merged Zarr store per stream and backbone.


rule extract_visual:
    input:
        "results/{dataset}/frames/{shard}",
    output:
        directory("results/{dataset}/features/visual/{backbone}/{shard}.zarr"),
    log:
        "results/{dataset}/logs/visual/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/visual/{backbone}/{shard}.tsv"
    params:
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
        batch_size=lambda w: extraction(w.dataset, "batch_size"),
    resources:
        gpu=1,
    threads: 2
    shell:
        "mcd extract-visual --frames {input} --backbone {wildcards.backbone} {params.weights}"
        " --device {params.device} --precision {params.precision} --batch-size {params.batch_size}"
        " --workers {threads} --out {output} 2> {log}"


rule extract_audio:
    input:
        audio_backbone_input,
    output:
        directory("results/{dataset}/features/audio/{backbone}/{shard}.zarr"),
    log:
        "results/{dataset}/logs/audio_features/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/audio_features/{backbone}/{shard}.tsv"
    params:
        source=lambda w: "--logmel" if w.backbone == "vggish" else "--audio",
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
    resources:
        gpu=1,
    shell:
        "mcd extract-audio {params.source} {input} --backbone {wildcards.backbone} {params.weights}"
        " --device {params.device} --precision {params.precision} --out {output} 2> {log}"


rule merge_features:
    input:
        lambda w: expand(
            "results/{dataset}/features/{stream}/{backbone}/{shard}.zarr",
            shard=shards(w.dataset),
            allow_missing=True,
        ),
    output:
        store=directory("results/{dataset}/features/{stream}/{backbone}.zarr"),
        failures="results/{dataset}/features/{stream}/{backbone}.failures.json",
    log:
        "results/{dataset}/logs/merge/{stream}/{backbone}.log",
    benchmark:
        "results/{dataset}/benchmarks/merge/{stream}/{backbone}.tsv"
    shell:
        "mcd merge --parts {input} --out {output.store} 2> {log}"
