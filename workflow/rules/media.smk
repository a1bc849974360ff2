# Videos -> shard lists -> frames at 1 fps, and mono audio (16 kHz, or 32 kHz for AVQA's PANNs) ->
# VGGish log-mel patches. AVQA: the validation split carved from train_qa.json.


rule carve:
    input:
        lambda w: settings(w.dataset).carve["source"],
    output:
        train="results/{dataset}/annotations/train.carve.json",
        val="results/{dataset}/annotations/val.carve.json",
    log:
        "results/{dataset}/logs/carve.log",
    params:
        format=dataset_format,
        val_questions=lambda w: settings(w.dataset).carve["val_questions"],
        seed=lambda w: settings(w.dataset).carve["seed"],
    shell:
        "mcd carve --format {params.format:q} --source {input:q} --train-out {output.train:q}"
        " --val-out {output.val:q} --val-questions {params.val_questions:q} --seed {params.seed:q} 2> {log:q}"


rule shard_ids:
    output:
        "results/{dataset}/shards/{shard}.txt",
    log:
        "results/{dataset}/logs/shards/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/shards/{shard}.tsv"
    params:
        ids=lambda w: shard_video_ids(w.dataset, w.shard),
    # Ids come from annotation files: they are written from Python, never through a shell.
    run:
        write_shard_list(output[0], params.ids, log[0])


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
        format=dataset_format,
    shell:
        "mcd missing-videos --format {params.format:q} --videos {params.videos:q} --annotations {input:q}"
        " --out {output:q} > {log:q} 2>&1"


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
        "mcd frames --videos {params.videos:q} --ids-file {input.ids:q} --seconds {params.seconds:q}"
        " --frame-short-side {params.short_side:q} --on-error {params.on_error:q}"
        " --workers {threads} --out {output:q} 2> {log:q}"


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
        rate=lambda w: pipeline.audio_sample_rate(settings(w.dataset).extraction),
        on_error=lambda w: extraction(w.dataset, "on_error"),
    threads: 2
    shell:
        "mcd audio --videos {params.videos:q} --ids-file {input.ids:q} --seconds {params.seconds:q}"
        " --sample-rate {params.rate:q} --on-error {params.on_error:q} --workers {threads}"
        " --out {output:q} 2> {log:q}"


rule logmel:
    input:
        "results/{dataset}/audio/{shard}",
    output:
        store=directory("results/{dataset}/logmel/{shard}.zarr"),
        failures="results/{dataset}/logmel/{shard}.failures.json",
    log:
        "results/{dataset}/logs/logmel/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/logmel/{shard}.tsv"
    shell:
        "mcd logmel --audio {input:q} --out {output.store:q} 2> {log:q}"
