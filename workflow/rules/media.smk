# Videos -> shard lists -> frames at 1 fps, and 16 kHz mono audio -> VGGish log-mel patches.


rule shard_ids:
    output:
        "results/{dataset}/shards/{shard}.txt",
    log:
        "results/{dataset}/logs/shards/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/shards/{shard}.tsv"
    params:
        ids=lambda w: " ".join(shard_video_ids(w.dataset, w.shard)),
    shell:
        "mcd shard-ids --out {output} {params.ids} 2> {log}"


rule missing_videos:
    input:
        lambda w: [annotation(w.dataset, s) for s in ("train", "val", "test")],
    output:
        "results/{dataset}/missing_videos.failures.json",
    log:
        "results/{dataset}/logs/missing_videos.log",
    benchmark:
        "results/{dataset}/benchmarks/missing_videos.tsv"
    params:
        videos=lambda w: settings(w.dataset).videos,
    shell:
        "mcd missing-videos --videos {params.videos:q} --annotations {input} --out {output} > {log} 2>&1"


rule frames:
    input:
        ids="results/{dataset}/shards/{shard}.txt",
        videos=videos_input,
    output:
        directory("results/{dataset}/frames/{shard}"),
    log:
        "results/{dataset}/logs/frames/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/frames/{shard}.tsv"
    params:
        videos=lambda w: settings(w.dataset).videos,
        seconds=lambda w: settings(w.dataset).seconds,
        short_side=lambda w: extraction(w.dataset, "frame_short_side"),
        on_error=lambda w: extraction(w.dataset, "on_error"),
    threads: 2
    shell:
        "mcd frames --videos {params.videos:q} --ids-file {input.ids} --seconds {params.seconds}"
        " --frame-short-side {params.short_side} --on-error {params.on_error}"
        " --workers {threads} --out {output} 2> {log}"


rule audio:
    input:
        ids="results/{dataset}/shards/{shard}.txt",
        videos=videos_input,
    output:
        directory("results/{dataset}/audio/{shard}"),
    log:
        "results/{dataset}/logs/audio/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/audio/{shard}.tsv"
    params:
        videos=lambda w: settings(w.dataset).videos,
        seconds=lambda w: settings(w.dataset).seconds,
        on_error=lambda w: extraction(w.dataset, "on_error"),
    threads: 2
    shell:
        "mcd audio --videos {params.videos:q} --ids-file {input.ids} --seconds {params.seconds}"
        " --on-error {params.on_error} --workers {threads} --out {output} 2> {log}"


rule logmel:
    input:
        "results/{dataset}/audio/{shard}",
    output:
        directory("results/{dataset}/logmel/{shard}.zarr"),
    log:
        "results/{dataset}/logs/logmel/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/logmel/{shard}.tsv"
    shell:
        "mcd logmel --audio {input} --out {output} 2> {log}"
