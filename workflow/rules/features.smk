# Backbone features per shard, then one merged Zarr store per stream and backbone. Image backbones
# read the 1-fps frames; clip (3D) backbones (AVQA's 3D ResNeXt-101) decode the shard's videos at
# their native frame rate themselves (rule extract_clips; no frames are stored for them).


rule extract_visual:
    wildcard_constraints:
        backbone=NOT_CLIP_BACKBONE,
    input:
        "results/{dataset}/frames/{shard}",
    output:
        store=directory("results/{dataset}/features/visual/{backbone}/{shard}.zarr"),
        failures="results/{dataset}/features/visual/{backbone}/{shard}.failures.json",
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
        on_error=lambda w: extraction(w.dataset, "on_error"),
    resources:
        gpu=1,
    threads: 2
    shell:
        "mcd extract-visual --frames {input:q} --backbone {wildcards.backbone:q} {params.weights:q}"
        " --device {params.device:q} --precision {params.precision:q} --batch-size {params.batch_size:q}"
        " --on-error {params.on_error:q} --workers {threads} --out {output.store:q} 2> {log:q}"


rule extract_clips:
    wildcard_constraints:
        backbone="|".join(pipeline.CLIP_BACKBONES),
    input:
        ids="results/{dataset}/shards/{shard}.txt",
        videos=videos_input,
    output:
        store=directory("results/{dataset}/features/visual/{backbone}/{shard}.zarr"),
        failures="results/{dataset}/features/visual/{backbone}/{shard}.failures.json",
    log:
        "results/{dataset}/logs/visual/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/visual/{backbone}/{shard}.tsv"
    params:
        videos=lambda w: settings(w.dataset).videos,
        seconds=lambda w: settings(w.dataset).seconds,
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
        on_error=lambda w: extraction(w.dataset, "on_error"),
    resources:
        gpu=1,
    threads: 2
    shell:
        "mcd extract-visual --videos {params.videos:q} --ids-file {input.ids:q} --seconds {params.seconds:q}"
        " --backbone {wildcards.backbone:q} {params.weights:q} --device {params.device:q}"
        " --precision {params.precision:q} --batch-size 8 --on-error {params.on_error:q}"
        " --workers {threads} --out {output.store:q} 2> {log:q}"


rule extract_audio:
    input:
        audio_backbone_input,
    output:
        store=directory("results/{dataset}/features/audio/{backbone}/{shard}.zarr"),
        failures="results/{dataset}/features/audio/{backbone}/{shard}.failures.json",
    log:
        "results/{dataset}/logs/audio_features/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/audio_features/{backbone}/{shard}.tsv"
    params:
        source=lambda w: "--logmel" if w.backbone == "vggish" else "--audio",
        # the store's name says which reading it holds (panns_cnn14_32k_per_second: one a second)
        backbone=lambda w: pipeline.audio_store_backbone(w.backbone)[0],
        window=lambda w: ["--per-second"] if pipeline.audio_store_backbone(w.backbone)[1] else [],
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
    resources:
        gpu=1,
    shell:
        "mcd extract-audio {params.source:q} {input:q} --backbone {params.backbone:q} {params.window:q} {params.weights:q}"
        " --device {params.device:q} --precision {params.precision:q} --out {output.store:q} 2> {log:q}"


rule extract_visual_patch:
    input:
        "results/{dataset}/frames/{shard}",
    output:
        store=directory("results/{dataset}/features/visual_patch/{backbone}/{shard}.zarr"),
        failures="results/{dataset}/features/visual_patch/{backbone}/{shard}.failures.json",
        pooled=temp(directory("results/{dataset}/features/visual_patch/{backbone}/{shard}.pooled.zarr")),
        pooled_failures=temp("results/{dataset}/features/visual_patch/{backbone}/{shard}.pooled.failures.json"),
    log:
        "results/{dataset}/logs/visual_patch/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/visual_patch/{backbone}/{shard}.tsv"
    params:
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
        batch_size=lambda w: extraction(w.dataset, "batch_size"),
        on_error=lambda w: extraction(w.dataset, "on_error"),
    resources:
        gpu=1,
    threads: 2
    shell:
        "mcd extract-visual --frames {input:q} --backbone {wildcards.backbone:q} {params.weights:q}"
        " --device {params.device:q} --precision {params.precision:q} --batch-size {params.batch_size:q}"
        " --on-error {params.on_error:q} --workers {threads} --out {output.pooled:q}"
        " --patch-out {output.store:q} 2> {log:q}"


# The peers' per-video token stores: AVST's 14x14 maps (visual_map) and TSPM's ToMe tokens (tome).
rule extract_tokens:
    input:
        token_frames_input,
    output:
        store=directory("results/{dataset}/features/{stream}/{backbone}/{shard}.zarr"),
        failures="results/{dataset}/features/{stream}/{backbone}/{shard}.failures.json",
    log:
        "results/{dataset}/logs/{stream}/{backbone}/{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/{stream}/{backbone}/{shard}.tsv"
    wildcard_constraints:
        stream="visual_map|tome",
    params:
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        precision=lambda w: extraction(w.dataset, "precision"),
        on_error=lambda w: extraction(w.dataset, "on_error"),
    resources:
        gpu=1,
    threads: 2
    shell:
        "mcd extract-tokens --frames {input:q} --backbone {wildcards.backbone:q} {params.weights:q}"
        " --device {params.device:q} --precision {params.precision:q} --on-error {params.on_error:q}"
        " --workers {threads} --out {output.store:q} 2> {log:q}"


# A stream the dataset imports (`features` in its config entry, docs/features.md): the feature file
# (or finished store) -> results/<dataset>/features/<stream>/imported_<layout>.zarr; no video is read.
rule import_features:
    input:
        unpack(import_inputs),
    output:
        store=directory("results/{dataset}/features/{stream}/imported_{layout}.zarr"),
        failures="results/{dataset}/features/{stream}/imported_{layout}.failures.json",
    log:
        "results/{dataset}/logs/import/{stream}/{layout}.log",
    benchmark:
        "results/{dataset}/benchmarks/import/{stream}/{layout}.tsv"
    wildcard_constraints:
        stream="visual|audio|visual_patch|visual_map|text_sentence|prompt_sentence",
        layout=r"[A-Za-z0-9_]+",
    params:
        flags=import_flags,
        format=dataset_format,
        seconds=lambda w: settings(w.dataset).seconds,
        on_error=lambda w: extraction(w.dataset, "on_error"),
    shell:
        "mcd import-features --source {input.source:q} {params.flags:q} --annotations {input.annotations:q}"
        " --format {params.format:q} --seconds {params.seconds:q} --on-error {params.on_error:q}"
        " --out {output.store:q} 2> {log:q}"


# Per-question CLIP text features of every split (questions, or TSPM's prompts): one store each.
rule extract_text:
    input:
        lambda w: [annotation(w.dataset, split) for split in ("train", "val", "test")],
    output:
        directory("results/{dataset}/features/{stream}/{backbone}.zarr"),
    log:
        "results/{dataset}/logs/{stream}/{backbone}.log",
    benchmark:
        "results/{dataset}/benchmarks/{stream}/{backbone}.tsv"
    wildcard_constraints:
        stream="text_sentence|text_words|prompt_sentence",
        backbone=EXTRACTED_BACKBONE,
    params:
        out=lambda w, output: f"{w.stream}={output[0]}",
        weights=lambda w: weights_flags(w.dataset),
        weights_id=weights_fingerprint,  # tracked only: a new weights file re-runs this job
        device=lambda w: extraction(w.dataset, "device"),
        format=dataset_format,
    resources:
        gpu=1,
    shell:
        "mcd extract-text --annotations {input:q} --format {params.format:q} --backbone {wildcards.backbone:q}"
        " {params.weights:q} --device {params.device:q} --out {params.out:q} 2> {log:q}"


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
    wildcard_constraints:
        stream="visual|visual_patch|audio|visual_map|tome",
        backbone=EXTRACTED_BACKBONE,
    benchmark:
        "results/{dataset}/benchmarks/merge/{stream}/{backbone}.tsv"
    shell:
        "mcd merge --parts {input:q} --out {output.store:q} 2> {log:q}"
