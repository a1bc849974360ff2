"""Swapping a peer's backbones per dataset (`training.peer_backbones`): the torch-free stream table
against the registries, the small ToMe backbone, the config check, run tags that name the swapped
backbones, and the plan they give."""

from __future__ import annotations

import copy

import pytest

from mcd_core import workflow as pipeline
from mcd_core.features.backbones import streams
from mcd_core.models import ARCHITECTURES
from mcd_core.scoring import peers

from test_peer_workflow import plan, shell_lines
from test_workflow import REPO, planned_jobs

SCHEMA = pipeline.load_schema(REPO / "workflow/schemas/config.schema.yaml")
SMALL_TSPM = {"visual": "clip_vit_b32", "tome": "tome_vit_s16_224", "question_clip": "clip_text_b32",
              "prompt_clip": "clip_text_b32"}


def test_stream_table_equals_the_backbone_registries():
    from mcd_core.features.backbones.audio import list_audio_backbones
    from mcd_core.features.backbones.text import list_text_backbones
    from mcd_core.features.backbones.tokens import TOKEN_BACKBONES
    from mcd_core.features.backbones.visual import VISUAL_BACKBONES

    want: dict[str, set[str]] = {}
    for name, entry in VISUAL_BACKBONES.items():
        for stream in entry.spec.streams:
            want.setdefault(stream, set()).add(name)
    for name, entry in TOKEN_BACKBONES.items():
        want.setdefault(entry.spec.stream, set()).add(name)
    for stream in streams.TEXT_STREAM_NAMES:
        want[stream] = set(list_text_backbones())
    want["audio"] = set(list_audio_backbones())
    assert {s: set(b) for s, b in streams.STREAM_BACKBONES.items()} == want


def test_small_tome_backbone_gives_fourteen_tokens_per_frame():
    import torch

    from mcd_core.features.backbones.tokens import create_token_backbone

    model, preprocess, spec = create_token_backbone("tome_vit_s16_224", "random-init", seed=0)
    assert (spec.stream, spec.tokens, spec.dim, spec.frames) == ("tome", 14, 384, None)  # every second
    assert preprocess.crop == 224
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))["tome"]
    assert out.shape == (1, 14, 384) and torch.isfinite(out).all()
    assert model.tome.trace[0] == 197 and model.tome.trace[-1] == 14


def config_with(swaps) -> dict:
    return {"run": [], "datasets": {"d": {"format": "music_avqa", "videos": "v", "seconds": 10,
                               "annotations": {s: f"{s}.json" for s in ("train", "val", "test")},
                               "training": {"variants": ["tspm"], "peer_backbones": swaps}}}}


def test_config_accepts_a_valid_swap_and_defaults_to_none():
    config = pipeline.validate_config(config_with({"tspm": SMALL_TSPM}), SCHEMA)
    assert pipeline.dataset_settings(config, "d").training["peer_backbones"] == {"tspm": SMALL_TSPM}
    assert config["training"]["peer_backbones"] == {}


@pytest.mark.parametrize("swaps, message", [
    ({"nope": {"visual": "resnet18"}}, "training.peer_backbones: unknown architecture 'nope'"),
    ({"mcd": {"visual": "clip_vit_b32"}}, "training.peer_backbones.mcd: architecture 'mcd' reads no extra"),
    ({"tspm": {"frames": "clip_vit_b32"}}, "training.peer_backbones.tspm: unknown key 'frames' (choose from "
                                           "visual, tome, question_clip, prompt_clip)"),
    ({"tspm": {"tome": "clip_vit_b32"}}, "training.peer_backbones.tspm.tome: 'clip_vit_b32' writes no 'tome' store"),
    # PSTP-Net reads patch tokens: only a backbone with a patch store will do
    ({"pstp_net": {"visual": "resnet18"}}, "pstp_net.visual: 'resnet18' writes no 'visual_patch' store"),
    ({"avst": {"visual_map": "resnet18"}}, "avst.visual_map: 'resnet18' writes no 'visual_map' store"),
])
def test_config_rejects_a_bad_swap_naming_the_field(swaps, message):
    with pytest.raises(pipeline.ConfigError, match=None) as err:
        pipeline.validate_config(config_with(swaps), SCHEMA)
    assert message in str(err.value)


def test_run_tags_name_swapped_inputs_and_read_back():
    swaps = {"tspm": SMALL_TSPM}
    assert peers.run_tag("mcd", "resnet18", "vggish", swaps) == "resnet18-vggish"
    assert peers.run_tag("pstp_net", "resnet18", "vggish", swaps) == "clip_vit_b32-vggish"
    assert peers.run_tag("tspm", "resnet18", "vggish") == "clip_vit_l14_336-vggish"
    tag = peers.run_tag("tspm_released", "resnet18", "vggish", swaps)
    assert tag == "clip_vit_b32-vggish+tome_vit_s16_224+clip_text_b32+clip_text_b32"
    assert peers.split_tag("tspm", tag) == ("clip_vit_b32", "vggish", {
        "tome": "tome_vit_s16_224", "question_clip": "clip_text_b32", "prompt_clip": "clip_text_b32"})
    assert peers.input_stores("d", "tspm", tag)["prompt_clip"] == "results/d/features/prompt_sentence/clip_text_b32.zarr"
    assert peers.video_input_stores("d", "tspm", tag) == ["results/d/features/tome/tome_vit_s16_224.zarr"]
    # only the visual swapped: the tag's visual says it, the inputs stay the declared ones
    assert peers.run_tag("tspm", "resnet18", "vggish", {"tspm": {"visual": "clip_vit_b32"}}) == "clip_vit_b32-vggish"
    with pytest.raises(peers.TagError, match="declares 3 input"):
        peers.split_tag("tspm", "clip_vit_b32-vggish+tome_vit_s16_224")
    with pytest.raises(peers.TagError, match="expected <visual>-<audio>"):
        peers.split_tag("tspm", "clip_vit_b32")


def test_rules_pass_exactly_each_architectures_declared_input_keys(tmp_path):
    """Every registered variant of an architecture with extra stores: its train command's --input
    keys are the architecture's declared keys, in order, each a store of the declared stream."""
    from mcd_core.models import VARIANTS

    variants = ["mcd", *(v.name for v in VARIANTS.values() if ARCHITECTURES[v.architecture].inputs)]
    assert {"avst", "pstp_net", "pstp_net_released", "tspm", "tspm_released"} <= set(variants)
    proc = plan(tmp_path, variants, "results/real/table3.csv", no_torch=True)
    train = {line.split("--variant ")[1].split()[0]: line for line in shell_lines(proc, "train")
             if "--seed 0" in line}
    for variant in variants:
        declared = ARCHITECTURES[VARIANTS[variant].architecture].inputs
        flags = [item.split("=", 1) for item in train[variant].split("--input ")[1:]]
        assert [k for k, _ in flags] == [i.key for i in declared], variant
        for (_, path), item in zip(flags, declared):
            assert path.split()[0] == f"results/real/features/{item.stream}/{item.backbone}.zarr"


def test_a_swap_plans_the_small_stores_and_names_them_in_the_tag_and_table(tmp_path):
    proc = plan(tmp_path, ["pstp_net", "tspm"], "results/real/table3.csv", no_torch=True,
                training={"peer_backbones": {"tspm": SMALL_TSPM}})
    out = proc.stdout + proc.stderr
    assert "tome_vit_l16_384" not in out and "clip_vit_l14_336" not in out
    jobs = planned_jobs(proc)
    # ToMe tokens of the small ViT per shard; the text stores: PSTP-Net's sentence and words, TSPM's prompts
    assert jobs["extract_tokens"] == 2 and jobs["extract_text"] == 3
    tag = "clip_vit_b32-vggish+tome_vit_s16_224+clip_text_b32+clip_text_b32"
    train = [line for line in shell_lines(proc, "train") if "--variant tspm " in line and "--seed 0" in line][0]
    assert f"--out-dir results/real/runs/{tag}/tspm/seed0" in train
    assert "--visual results/real/features/visual/clip_vit_b32.zarr" in train
    for flag in ("tome=results/real/features/tome/tome_vit_s16_224.zarr",
                 "question_clip=results/real/features/text_sentence/clip_text_b32.zarr",
                 "prompt_clip=results/real/features/prompt_sentence/clip_text_b32.zarr"):
        assert f"--input {flag}" in train
    score = [line for line in shell_lines(proc, "score") if "tspm_seed0" in line][0]
    assert ("--meta 'inputs=tome=tome_vit_s16_224 question_clip=clip_text_b32 prompt_clip=clip_text_b32'"
            in score)
    assert f"results/real/scores/{tag}/tspm_seed0.csv" in shell_lines(proc, "table")[0]


def test_the_demo_peers_entry_is_valid_and_leaves_demo_alone():
    import yaml

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    checked = pipeline.validate_config(copy.deepcopy(config), SCHEMA)
    ds = pipeline.dataset_settings(checked, "demo_peers")
    assert ds.training["variants"] == ["mcd", "mcd_time", "avst", "pstp_net", "tspm"]
    assert ds.extraction["weights"] == "random-init" and ds.generator["videos"] <= 30
    assert ds.training["peer_backbones"] == {"tspm": SMALL_TSPM}
    assert pipeline.dataset_settings(checked, "demo").training["peer_backbones"] == {}
