# Helpers shared by the rules: validated config, per-dataset settings, shards, paths.

import os
import sys
from pathlib import Path


from mcd_core import workflow as pipeline
from mcd_core.media.shardrun import write_shard_list
from mcd_core.scoring import peers
from mcd_core.workflow.signals import forward_interrupts

# A SIGINT to Snakemake alone (not only a terminal's Ctrl-C) stops the running jobs within seconds.
forward_interrupts()

# Duplicated question ids are reported here, once per dataset (warn_once): jobs' `mcd` commands
# then log them at debug level only. Set before `envvars`, which passes it to cluster jobs.
os.environ[pipeline.DUPLICATES_REPORTED_ENV] = "1"


envvars:
    "PATH",
    pipeline.DUPLICATES_REPORTED_ENV,


def stop(message):
    """End the run showing `message` alone. A WorkflowError would add file lines, and one raised in
    an input function becomes an InputFunctionException with a traceback; Snakemake ends quietly
    on SystemExit, at parse time and while building the DAG (before it locks the folder)."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    CONFIG = pipeline.validate_config(
        config, pipeline.load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
    )
except pipeline.ConfigError as exc:
    stop(exc)

# Rules call `mcd`, the console script installed beside the Python that runs Snakemake: put that
# folder first on PATH so that jobs find it even when the environment is not activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

DATASETS = sorted(CONFIG["datasets"])
# Pretrained weights: one folder for every job, passed explicitly (config `weights_dir`).
WEIGHTS_DIR = pipeline.weights_dir(CONFIG)


wildcard_constraints:
    dataset="|".join(DATASETS),
    shard=r"shard_\d{5}",
    seed=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    stream="visual|visual_patch|audio|visual_map|tome|text_sentence|text_words|prompt_sentence",
    backbone=r"[A-Za-z0-9_]+",
    tag=r"[A-Za-z0-9_]+-[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*",


# Extracted stores' backbones: any name but an imported store's (imported_<layout>, rule import_features).
EXTRACTED_BACKBONE = r"(?!imported_)[A-Za-z0-9_]+"

# Visual backbones read from 1-fps frames (rule extract_visual), not clip backbones (extract_clips).
NOT_CLIP_BACKBONE = "".join(f"(?!{b}(?![A-Za-z0-9_]))" for b in pipeline.CLIP_BACKBONES) + EXTRACTED_BACKBONE


def generated_pattern(fmt):
    """Generated datasets of format `fmt`, as a wildcard pattern (one that matches none if none)."""
    names = [n for n in DATASETS if CONFIG["datasets"][n].get("generator") is not None
             and CONFIG["datasets"][n]["format"] == fmt]
    return "|".join(names) if names else "(?!)"


def settings(dataset):
    return pipeline.dataset_settings(CONFIG, dataset)


INPUT_ERRORS = (pipeline.DatasetNotReadyError, pipeline.AnnotationError, pipeline.ConfigError)
WARNED = set()  # datasets whose warnings (shared or duplicated question ids) were printed


def warn_once(dataset, warnings):
    if dataset not in WARNED:
        WARNED.add(dataset)
        for warning in warnings:
            print(f"Warning: {warning}", file=sys.stderr)


def report_once(dataset):
    """The warnings of a dataset's annotation files, printed when the run first reads them."""
    if dataset in WARNED or not workflow.is_main_process:
        return
    try:
        warnings = pipeline.dataset_warnings(settings(dataset))
    except INPUT_ERRORS as exc:
        stop(exc)
    warn_once(dataset, warnings)


def video_ids(dataset):
    try:
        ids = pipeline.dataset_video_ids(settings(dataset))
    except INPUT_ERRORS as exc:
        stop(exc)
    report_once(dataset)
    return ids


# Every record of every split, read now, before any job: for the datasets built by default and
# those with results on disk (where Snakemake would otherwise keep an existing output when an
# input function fails). Other datasets are read when the DAG first asks for their video ids.
if workflow.is_main_process:
    try:
        for _name in pipeline.datasets_to_check(CONFIG):
            warn_once(_name, pipeline.check_annotations(settings(_name), Path("results", _name).is_dir()))
        for _name in CONFIG["run"]:  # built by default: a videos folder holding none of their videos
            pipeline.check_videos_found(settings(_name))
    except INPUT_ERRORS as exc:
        stop(exc)


def shards(dataset):
    ids = video_ids(dataset)
    return pipeline.shard_names(len(ids), settings(dataset).extraction["shard_size"])


def shard_video_ids(dataset, shard):
    ids = video_ids(dataset)
    size = settings(dataset).extraction["shard_size"]
    return pipeline.make_shards(ids, size)[int(shard.split("_")[1])]


def videos_input(wildcards):
    """The generated demo videos are a rule's output; real videos are checked at parse time."""
    ds = settings(wildcards.dataset)
    return [ds.videos] if ds.generator is not None else []


def annotation(dataset, split):
    report_once(dataset)
    return settings(dataset).annotations[split]


def extraction(dataset, key):
    return settings(dataset).extraction[key]


def training(dataset, key):
    return settings(dataset).training[key]


def feature_tag(dataset):
    return settings(dataset).feature_tag


def audio_store(dataset):
    """The audio store's name (the backbone's; `_per_second` for that reading of a clip-level one)."""
    return settings(dataset).audio_store


def merged_store(dataset, stream):
    backbone = audio_store(dataset) if stream == "audio" else extraction(dataset, "visual_backbone")
    return f"results/{dataset}/features/{stream}/{backbone}.zarr"


def weights_flags(dataset):
    """As a list: shell commands quote each item (`{params.weights:q}`)."""
    ex = settings(dataset).extraction
    return ["--weights", ex["weights"], "--seed", str(ex["seed"]), "--weights-dir", WEIGHTS_DIR]


def both_imported(dataset):
    """The visual and the audio stream are both imported (a peer's streams may be too)."""
    return {"visual", "audio"} <= set(settings(dataset).features or {})


def weights_label(dataset):
    """The weights setting as the table shows it: `pretrained` or `random-init(seed S)`."""
    ds = settings(dataset)
    ex = ds.extraction
    if both_imported(dataset):  # no weights of ours (the stores record theirs)
        return "imported"
    return ex["weights"] if ex["weights"] == "pretrained" else f"random-init(seed {ex['seed']})"


def weights_fingerprint(wildcards):
    """Identity of the weights a job reads: a changed weights file re-runs the jobs that used it.
    Only pretrained runs look at files (and import the backbone registries)."""
    if extraction(wildcards.dataset, "weights") != "pretrained":
        return weights_label(wildcards.dataset)
    from mcd_core.features.backbones.weights import file_fingerprint

    check_weights(wildcards.dataset)
    return file_fingerprint(pipeline.audio_store_backbone(wildcards.backbone)[0], WEIGHTS_DIR)


def peer_backbones(dataset):
    """Per peer architecture, the backbones replacing its own: the dataset's
    `training.peer_backbones`, and the stores of the streams it imports (`features`)."""
    return settings(dataset).peer_swaps


def dataset_backbones(dataset):
    """Every backbone whose weights a dataset's runs read: the configured pair, and for each variant
    of training.variants its own visual backbone (a peer's) and the backbones of its declared inputs
    (with the dataset's `peer_backbones` swaps)."""
    ds = settings(dataset)
    names = {ds.extraction["visual_backbone"], ds.extraction["audio_backbone"]}
    swaps = peer_backbones(dataset)
    for variant in ds.training["variants"]:
        names.add(peers.run_visual(variant, ds.extraction["visual_backbone"], swaps))
        names.update(peers.input_backbones(variant, swaps))
    return sorted(n for n in names if not n.startswith(IMPORTED))  # imported stores need no weights


def check_weights(dataset):
    """Before any job: every weights file a pretrained dataset needs is on disk, or one error
    lists all of them with the command that fetches them."""
    ex = settings(dataset).extraction
    if ex["weights"] != "pretrained":
        return
    from mcd_core.features.backbones.weights import missing_weights_message  # torch-free

    message = missing_weights_message(dataset_backbones(dataset), WEIGHTS_DIR)
    if message:
        stop(message)


def missing_videos(dataset):
    """Annotated videos without a file, left out under `missing_videos: skip` (else the run has
    stopped at parse time)."""
    try:
        return pipeline.missing_video_ids(settings(dataset))
    except INPUT_ERRORS as exc:
        stop(exc)


def method_name(variant, seed, seeds):
    name = peers.method_label(variant)  # MCD, MCD[variant], AVST, PSTP-Net, TSPM, ...
    return name if len(seeds) == 1 else f"{name} seed={seed}"


def run_tag(dataset, variant):
    """`<visual>-<audio>[+<input backbone>...]` of a variant's runs: a peer runs on its own visual
    backbone, and a dataset's `peer_backbones` swaps are named in the tag (scoring/peers.py)."""
    return peers.run_tag(variant, extraction(dataset, "visual_backbone"), audio_store(dataset),
                         peer_backbones(dataset))


def tag_parts(wildcards):
    """(visual, audio, {KEY: backbone}) of a run's tag; a tag that does not fit the variant stops."""
    try:
        return peers.split_tag(wildcards.variant, wildcards.tag)
    except peers.TagError as exc:
        stop(exc)

# --- used by features.smk ---
def token_frames_input(wildcards):
    """The frames shard of a token store; the stream must be the one its backbone writes."""
    want = peers.TOKEN_STREAMS.get(wildcards.backbone)
    if want != wildcards.stream:
        stop(f"no token store {wildcards.stream}/{wildcards.backbone}: token backbones and "
             f"their streams are {peers.TOKEN_STREAMS}")
    return f"results/{wildcards.dataset}/frames/{wildcards.shard}"


def audio_backbone_input(wildcards):
    if wildcards.backbone == "vggish":
        return f"results/{wildcards.dataset}/logmel/{wildcards.shard}.zarr"
    return f"results/{wildcards.dataset}/audio/{wildcards.shard}"


IMPORTED = "imported_"


def imported_spec(wildcards):
    """The dataset's import settings of this stream, which must name this layout."""
    spec = settings(wildcards.dataset).imported(wildcards.stream)
    layout = spec and spec.get("layout", "store")
    if layout != wildcards.layout:
        stop(f"results/{wildcards.dataset}/features/{wildcards.stream}/imported_{wildcards.layout}.zarr: "
             f"datasets.{wildcards.dataset}.features.{wildcards.stream} does not import layout "
             f"{wildcards.layout!r} (it imports {layout!r})")
    return spec


def import_inputs(wildcards):
    """The feature file (or store) and the annotation files that name its videos (AVQA: video_id ints)."""
    spec = imported_spec(wildcards)
    report_once(wildcards.dataset)
    paths = settings(wildcards.dataset).read_paths
    files = {"source": spec.get("import") or spec["store"],
             "annotations": list(dict.fromkeys(paths[s] for s in ("train", "val", "test")))}
    if spec.get("video_map"):
        files["video_map"] = spec["video_map"]
    return files


def import_flags(wildcards):
    spec = imported_spec(wildcards)
    flags = ["--layout", spec.get("layout", "store")]
    if spec.get("video_map"):
        flags += ["--video-map", spec["video_map"]]
    if spec.get("shape"):
        flags += ["--shape", spec["shape"]]
    return flags


def stream_flags(dataset):
    """`--store STREAM=PATH` of the dataset's visual and audio stores, and of the peer streams it
    imports (AVST's maps, PSTP-Net's patches, TSPM's text), for the table's notes."""
    stores = {s: merged_store(dataset, s) for s in ("visual", "audio")}
    for stream, spec in sorted((settings(dataset).features or {}).items()):
        if stream not in stores:
            stores[stream] = f"results/{dataset}/features/{stream}/{pipeline.imported_backbone(spec)}.zarr"
    return [item for s, path in stores.items() for item in ("--store", f"{s}={path}")]


# --- used by train.smk ---
def run_inputs(wildcards):
    """Annotations, vocabulary, the run's audio and visual stores (a peer may read the patch store)
    and one `input_<KEY>` per store its architecture declares (`Architecture.inputs`)."""
    visual, audio, _ = tag_parts(wildcards)
    ds = wildcards.dataset
    files = {
        "train": annotation(ds, "train"),
        "val": annotation(ds, "val"),
        "test": annotation(ds, "test"),
        "vocab": f"results/{ds}/vocab.json",
        "audio": f"results/{ds}/features/audio/{audio}.zarr",
        "visual": peers.visual_store(ds, wildcards.variant, visual),
    }
    tag_parts(wildcards)
    stores = peers.input_stores(ds, wildcards.variant, wildcards.tag)
    files.update({f"input_{key}": path for key, path in stores.items()})
    return files


def init_checkpoint(wildcards):
    """The best.pt a two-stage variant starts from (AVST: its grounding run on the same features and
    seed), as a list: empty for a variant trained from scratch."""
    first = peers.init_variant(wildcards.variant)
    return [f"results/{wildcards.dataset}/runs/{wildcards.tag}/{first}/seed{wildcards.seed}/best.pt"] if first else []


def input_flags(wildcards):
    """`--input KEY=PATH` for each declared input of the variant's architecture, as a list."""
    tag_parts(wildcards)
    stores = peers.input_stores(wildcards.dataset, wildcards.variant, wildcards.tag)
    return [item for key, path in stores.items() for item in ("--input", f"{key}={path}")]


def train_flags(wildcards):
    """Recipe keys the config sets (unset ones keep the variant's recipe), run settings, and the
    `extra` overrides that apply to this variant's architecture; a list, quoted item by item."""
    tr = settings(wildcards.dataset).training
    flags = []
    for key in pipeline.RECIPE_KEYS:
        if key in tr:
            flags += [f"--{key.replace('_', '-')}", str(tr[key])]
    flags += ["--device", tr["device"], "--workers", str(tr["workers"])]
    if train_gpu_share(wildcards) > 1:
        flags += ["--gpu-share", str(train_gpu_share(wildcards))]
    for path in init_checkpoint(wildcards):
        flags += ["--init-from", path]
    for item in pipeline.extra_for_variant(tr["extra"], wildcards.variant):
        flags += ["--set", item]
    return flags


def train_gpu_share(wildcards):
    """`training.gpu_share`: how many training jobs share one GPU (1: each has a GPU of its own)."""
    return int(settings(wildcards.dataset).training.get("gpu_share", 1))


def train_gpu(wildcards):
    """The train job's `gpu` resource: a whole GPU, or none when it takes a GPU slot instead."""
    return 1 if train_gpu_share(wildcards) == 1 else 0


def train_gpu_slot(wildcards):
    """The train job's `gpu_slot` resource: one of a GPU's `training.gpu_share` slots
    (`snakemake --resources gpu_slot=GPUS*SHARE`), none when it takes a whole GPU."""
    return 0 if train_gpu_share(wildcards) == 1 else 1


def dataset_format(wildcards):
    return settings(wildcards.dataset).format


# --- used by tables.smk ---
def failure_manifests(dataset):
    stores = [merged_store(dataset, s).replace(".zarr", ".failures.json") for s in ("visual", "audio")]
    if video_ids(dataset) and missing_videos(dataset):
        stores.append(f"results/{dataset}/missing_videos.failures.json")
    return stores


def run_failure_manifests(wildcards):
    """The failure lists of every per-video store a run read: its audio and visual stores and the
    per-video stores its architecture declares (a video lost by any of them is left out of scoring)."""
    ds, variant = wildcards.dataset, wildcards.variant
    visual, audio, _ = tag_parts(wildcards)
    stores = [f"results/{ds}/features/audio/{audio}.zarr", peers.visual_store(ds, variant, visual),
              *peers.video_input_stores(ds, variant, wildcards.tag)]
    lists = [path.replace(".zarr", ".failures.json") for path in stores]
    if video_ids(ds) and missing_videos(ds):
        lists.append(f"results/{ds}/missing_videos.failures.json")
    return lists


def score_meta(wildcards):
    """Extra table columns: what produced this row (backbones and weights only for models)."""
    meta = {"annotations": annotation(wildcards.dataset, "test")}
    if "tag" in wildcards.keys():  # the run's own backbones (Table IV trains on several)
        visual, audio, _ = tag_parts(wildcards)
        meta.update(visual_backbone=visual, audio_backbone=audio,
                    weights=weights_label(wildcards.dataset), seed=wildcards.seed)
        inputs = peers.inputs_label(wildcards.variant, wildcards.tag)
        if inputs:  # the extra stores' backbones (a peer's, or the dataset's peer_backbones swaps)
            meta["inputs"] = inputs
    return [item for k, v in meta.items() for item in ("--meta", f"{k}={v}")]


def score_table(dataset):
    """The table file a dataset's format writes: table3 (MUSIC-AVQA's Table III) or table5 (AVQA)."""
    from mcd_core.data.formats import get_format

    return get_format(settings(dataset).format).table


def table_rows(wildcards, table="table3"):
    if score_table(wildcards.dataset) != table:
        stop(f"dataset {wildcards.dataset!r} (format {settings(wildcards.dataset).format!r}) "
             f"writes results/{wildcards.dataset}/{score_table(wildcards.dataset)}.csv, not {table}.csv")
    video_ids(wildcards.dataset)  # the dataset is in place (videos, annotations)
    check_weights(wildcards.dataset)
    ds = settings(wildcards.dataset)
    rows = [
        f"results/{wildcards.dataset}/scores/{run_tag(wildcards.dataset, variant)}/{variant}_seed{seed}.csv"
        for variant in ds.training["variants"]
        for seed in ds.training["seeds"]
    ]
    if ds.table["prior"]:
        rows.append(f"results/{wildcards.dataset}/scores/prior.csv")
    return rows


def table_predictions(wildcards, table="table3"):
    """The predictions CSV of each of `table_rows`' score tables, in the same order (intervals and
    paired tests)."""
    def predictions(score_path):  # results/<dataset>/scores/... -> results/<dataset>/predictions/...
        parts = Path(score_path).parts
        at = parts.index("scores")
        return str(Path(*parts[:at], "predictions", *parts[at + 1:]))

    return [predictions(path) for path in table_rows(wildcards, table)]


def paper_rows_flags(dataset):
    """Published rows beside ours: the format's (AVQA's Table V always; MUSIC-AVQA's Table III only
    with pretrained backbones: a randomly initialised table shows that the pipeline learns)."""
    from mcd_core.data.formats import get_format

    rows = get_format(settings(dataset).format).paper_rows
    if rows == "music_avqa" and settings(dataset).extraction["weights"] != "pretrained":
        return []
    return ["--paper-rows", rows] if rows else []


def audio_reading_note(per_second, seconds):
    """Which audio shape MCD received on AVQA (docs/design.md, 'AVQA audio: one vector per clip or
    per second'): Section III writes f_a in R^{L_a x 2048}, AVQA's release holds one vector a clip."""
    if per_second:
        return (f"audio: PANNs Cnn14 (32 kHz) embeddings of each second, L_a = {seconds} x 2048"
                " (extraction.audio_per_second = true; as Section III writes f_a in R^(L_a x 2048)),"
                " not the clip-level features of the AVQA release")
    return ("audio: PANNs Cnn14 (32 kHz), one clip-level 2048-d vector a video as in the AVQA"
            " release (L_a = 1); Section III writes f_a in R^(L_a x 2048), possibly one a second"
            " (extraction.audio_per_second = true)")


def table_notes(wildcards):
    ex = settings(wildcards.dataset).extraction
    notes = [f"annotations: {annotation(wildcards.dataset, 'test')}"]
    imported = settings(wildcards.dataset).features or {}
    if both_imported(wildcards.dataset):  # no backbone of ours ran (the stores' notes say what did)
        pass
    elif ex["weights"] == "random-init":
        notes.append(
            f"backbones are randomly initialised (extraction.weights = random-init, seed {ex['seed']}):"
            " the numbers show that the pipeline learns, not pretrained accuracy"
        )
    elif score_table(wildcards.dataset) == "table3":  # which paper row to compare with (Swin-V2-L's)
        from mcd_core.scoring.experiments import table3_note

        notes.append(table3_note(ex["visual_backbone"], ex["weights"]))
    if score_table(wildcards.dataset) == "table5" and ex["audio_backbone"] == "panns_cnn14_32k":
        notes.append(audio_reading_note(ex["audio_per_second"], settings(wildcards.dataset).seconds))
    extra = settings(wildcards.dataset).training["extra"]
    if extra:  # e.g. the demo's smaller MCD: every row of this table was trained with them
        notes.append(f"training.extra overrides for this dataset's runs: {', '.join(extra)}")
    missing = missing_videos(wildcards.dataset)
    if missing and settings(wildcards.dataset).videos is not None:
        notes.append(
            f"{len(missing)} annotated videos have no file in {settings(wildcards.dataset).videos} and"
            f" were left out with their questions (missing_videos: skip; list in"
            f" results/{wildcards.dataset}/missing_videos.failures.json)"
        )
    return [item for n in notes for item in ("--note", n)]


# --- used by weights.smk ---
def configured_backbones():
    """Backbones of every dataset that asks for pretrained weights."""
    names = set()
    for name in DATASETS:
        if settings(name).extraction["weights"] == "pretrained":
            names.update(dataset_backbones(name))
    return sorted(names)


def check_output_folders():
    """Before any job: the results folder can be written, and so can `weights_dir` where a file that
    a dataset checked at parse time needs is still missing (a fetch or import writes it there; a
    complete read-only weights folder is fine)."""
    from mcd_core.common.folders import check_writable
    from mcd_core.features.backbones.weights import missing_weights_message  # torch-free

    try:
        check_writable("results", "the results folder", pipeline.ConfigError)
        for name in pipeline.datasets_to_check(CONFIG):
            if (extraction(name, "weights") == "pretrained"
                    and missing_weights_message(dataset_backbones(name), WEIGHTS_DIR)):
                check_writable(WEIGHTS_DIR, "weights_dir", pipeline.ConfigError)
    except pipeline.ConfigError as exc:
        stop(exc)


if workflow.is_main_process:
    check_output_folders()
