# The built-in synthetic dataset: MP4 videos and MUSIC-AVQA-format annotations from a seed.


rule demo_data:
    wildcard_constraints:
        dataset=generated_pattern("music_avqa"),
    output:
        videos=directory("resources/{dataset}/videos"),
        train="resources/{dataset}/annotations/avqa-train.json",
        val="resources/{dataset}/annotations/avqa-val.json",
        test="resources/{dataset}/annotations/avqa-test.json",
        scenes="resources/{dataset}/scenes.json",
    log:
        "results/{dataset}/logs/demo_data.log",
    benchmark:
        "results/{dataset}/benchmarks/demo_data.tsv"
    params:
        out_dir=lambda w: f"resources/{w.dataset}",
        seed=lambda w: settings(w.dataset).generator["seed"],
        videos=lambda w: settings(w.dataset).generator["videos"],
        questions=lambda w: settings(w.dataset).generator["questions_per_video"],
        seconds=lambda w: settings(w.dataset).seconds,
    shell:
        "mcd demo-data --out-dir {params.out_dir:q} --seed {params.seed:q}"
        " --videos {params.videos:q} --questions-per-video {params.questions:q}"
        " --seconds {params.seconds:q} 2> {log:q}"


# The AVQA-format demo: train_qa.json and val_qa.json (the test split); validation is carved (rule carve).
rule demo_avqa_data:
    wildcard_constraints:
        dataset=generated_pattern("avqa"),
    output:
        videos=directory("resources/{dataset}/videos"),
        train="resources/{dataset}/annotations/train_qa.json",
        test="resources/{dataset}/annotations/val_qa.json",
        scenes="resources/{dataset}/scenes.json",
    log:
        "results/{dataset}/logs/demo_data.log",
    benchmark:
        "results/{dataset}/benchmarks/demo_data.tsv"
    params:
        out_dir=lambda w: f"resources/{w.dataset}",
        seed=lambda w: settings(w.dataset).generator["seed"],
        videos=lambda w: settings(w.dataset).generator["videos"],
        questions=lambda w: settings(w.dataset).generator["questions_per_video"],
        seconds=lambda w: settings(w.dataset).seconds,
    shell:
        "mcd demo-data --format avqa --out-dir {params.out_dir:q} --seed {params.seed:q}"
        " --videos {params.videos:q} --questions-per-video {params.questions:q}"
        " --seconds {params.seconds:q} 2> {log:q}"
