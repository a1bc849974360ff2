"""The peer models (AVST, PSTP-Net, TSPM): released-bug switches, AVST's in-batch negatives, the
extra stores through the dataset and `--input`, and the model card's parameter counts."""

import csv
import json

import pytest
import torch

from avqa_synthetic import make_task, write_task_stores
from peer_stores import peer_inputs, write_peer_stores
from mcd_core.cli import main
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.inputs import InputError, open_inputs, parse_input_flags
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import StoreError, open_store
from mcd_core.models import architecture_inputs, build_model, variant_config
from mcd_core.models.avst.negatives import draw_negatives, video_codes
from mcd_core.models.tspm.modules import SpatialPerception
from mcd_core.scoring.peercard import peer_card

torch.set_num_threads(1)

SMALL = dict(d_model=16, ffn_hidden=16, audio_dim=5, visual_dim=7, text_dim=12, vocab_size=30, n_answers=6)


def pstp_batch(b=4, t=6, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"audio": torch.randn(b, t, 5, generator=g), "visual": torch.randn(b, t, n, 7, generator=g),
            "question_clip": torch.randn(b, 1, 12, generator=g), "question_words": torch.randn(b, 5, 12, generator=g),
            "visual_cls": torch.randn(b, t, 7, generator=g)}


PSTP_SMALL = dict(segments=3, top_k=1, top_m=2, patches=6, frame_dim=7, **SMALL)


def test_pstp_released_reads_the_cls_frames_and_the_fixed_one_the_patch_mean():
    """pstp_net_released's frame feature is the CLS store (`visual_cls`), as the released loader's
    token 0; pstp_net's is the mean of the patch tokens, and it never looks at `visual_cls`."""
    torch.manual_seed(0)
    released = build_model(variant_config("pstp_net_released", **PSTP_SMALL)).eval()
    fixed = build_model(variant_config("pstp_net", **PSTP_SMALL)).eval()
    assert (released.cfg.frame_source, fixed.cfg.frame_source) == ("cls", "patch_mean")
    b = pstp_batch()
    new_cls = dict(b, visual_cls=torch.randn_like(b["visual_cls"]))
    # other patch tokens (their mean moved): the released frames do not come from the patches
    new_patches = dict(b, visual=torch.randn_like(b["visual"]))
    without_cls = {k: v for k, v in b.items() if k != "visual_cls"}
    with torch.no_grad():
        assert not torch.allclose(released(b).logits, released(new_cls).logits, atol=1e-5)
        assert torch.equal(fixed(b).logits, fixed(new_cls).logits)
        assert torch.equal(fixed(b).logits, fixed(without_cls).logits)
        # released: the fusion reads only (audio, CLS frames, words), so the patches change nothing;
        # fixed: its frames are the patch mean
        assert torch.allclose(released(b).logits, released(new_patches).logits, atol=1e-6)
        assert not torch.allclose(fixed(b).logits, fixed(new_patches).logits, atol=1e-5)
        with pytest.raises(KeyError, match="visual_cls"):
            released(without_cls)


@pytest.mark.parametrize("released", [False, True])
def test_pstp_top_m_gather_is_per_sample_unless_released(released):
    torch.manual_seed(0)
    cfg = variant_config("pstp_net", segments=3, top_k=1, top_m=2, patches=6, top_m_released=released, **SMALL)
    model = build_model(cfg).eval()
    b = pstp_batch()
    other = dict(b, visual=b["visual"].clone())
    other["visual"][0] = torch.randn_like(other["visual"][0]) * 3  # change sample 0 only
    with torch.no_grad():
        same = torch.allclose(model(b).logits[1:], model(other).logits[1:], atol=1e-5)
    # fixed: the other samples' answers do not depend on sample 0; released: its indices leak into all
    assert same != released


def test_pstp_released_fusion_ignores_the_selections():
    torch.manual_seed(0)
    cfg = variant_config("pstp_net_released", **PSTP_SMALL)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for module in (model.patch_proj, model.audio_guided.query.ffn.linear2):
            module.weight.mul_(5)  # only feeds selections: no effect as released
        b = pstp_batch()
        base = model(b).logits
        fixed = build_model(variant_config("pstp_net", frame_source="cls", **PSTP_SMALL)).eval()
        fixed.load_state_dict(model.state_dict())
        assert not torch.allclose(fixed(b).logits, base, atol=1e-4)
    torch.manual_seed(0)
    again = build_model(cfg).eval()
    with torch.no_grad():
        assert torch.allclose(again(b).logits, base, atol=1e-5)  # patch_proj/audio_guided scaled: same


def test_tspm_spatial_perception_reads_the_selected_seconds_unless_released():
    tome = torch.arange(4.0).reshape(1, 4, 1, 1).expand(1, 4, 2, 3)     # frame f holds value f
    steps = torch.tensor([[4, 5, 6]])                                   # seconds 4..6 of 7
    fixed = SpatialPerception(3, 1, 4, 0.0, released=False).select(tome, steps, 7)
    released = SpatialPerception(3, 1, 4, 0.0, released=True).select(tome, steps, 7)
    assert fixed[0, :, 0, 0].tolist() == [2.0, 2.0, 3.0]   # nearest of frames at seconds 0, 2, 4, 6
    assert released[0, :, 0, 0].tolist() == [0.0, 1.0, 2.0]  # frames 0..k-1 whatever was selected
    # a store of one frame per second (20): the fixed model reads the selected seconds themselves, the
    # released one the first k of the 10 evenly spaced frames its files held (seconds 0, 2, 4, 6, 8, 11, ...)
    per_second = torch.arange(20.0).reshape(1, 20, 1, 1).expand(1, 20, 2, 3)
    fixed = SpatialPerception(3, 1, 4, 0.0, released=False).select(per_second, steps, 20)
    released = SpatialPerception(3, 1, 4, 0.0, released=True).select(per_second, steps, 20)
    assert fixed[0, :, 0, 0].tolist() == [4.0, 5.0, 6.0] and released[0, :, 0, 0].tolist() == [0.0, 2.0, 4.0]


def test_avst_negatives_come_from_other_videos_of_the_batch():
    torch.manual_seed(0)
    maps = torch.arange(4.0)[:, None, None, None].expand(4, 5, 3, 2).clone()  # sample i holds value i
    codes = video_codes(["a", "a", "b", "c"], 4, "cpu")
    negatives, usable = draw_negatives(maps, codes)
    assert negatives.shape == maps.shape and usable.all()
    source = negatives[:, :, 0, 0]
    assert (source[:2] >= 2).all() and (source[2] != 2).all() and (source[3] != 3).all()
    _, usable = draw_negatives(maps, video_codes(["a"] * 4, 4, "cpu"))
    assert not usable.any()  # one video only: no negative, the match loss leaves those rows out


def test_avst_match_loss_only_in_training():
    torch.manual_seed(0)
    cfg = variant_config("avst", d_model=16, ffn_hidden=16, audio_dim=5, map_dim=7, vocab_size=30, n_answers=6)
    model = build_model(cfg)
    batch = {"question": torch.randint(1, 30, (3, 8)), "audio": torch.randn(3, 4, 5),
             "visual_map": torch.randn(3, 4, 9, 7), "video_id": ["a", "b", "b"]}
    out = model(batch)
    assert [(t.name, t.weight) for t in out.losses] == [("match", 0.5)] and torch.isfinite(out.losses[0].value)
    assert model.eval()(batch).losses == []


def test_model_card_counts_match_the_released_code():
    rows = {r.variant: r for r in peer_card()}
    assert abs(rows["pstp_net"].params_thop_m - 4.297) / 4.297 < 0.01
    assert abs(rows["tspm"].params_thop_m - 6.0) / 6.0 < 0.05
    assert round(rows["avst"].params_thop_m * 1e6) == 5_767_852      # peer-facts §3
    assert round(rows["avst"].params_plain_m * 1e6) == 7_916_716     # modules its forward uses
    assert "18.48" in rows["avst"].note


def test_docs_model_card_table_is_the_measured_one():
    """docs/peers.md shows what `mcd modelcard --peers` measures (plain, thop, released, paper, MACs)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs/peers.md").read_text().split("## Model card", 1)[1]
    shown = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in ("avst", "pstp_net", "tspm"):
            shown[cells[0]] = cells[1:]
    assert set(shown) == {"avst", "pstp_net", "tspm"}
    for row in peer_card():
        want = [f"{row.params_plain_m:.3f}", f"{row.params_thop_m:.3f}", f"{row.released_thop_m:.3f}",
                f"{row.paper_params_m:g}", f"{row.macs_g:.3f}", f"{row.paper_flops_g:g}"]
        assert shown[row.variant] == want, row.variant


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("peers")
    questions, audio, visual, ids = make_task(6, seconds=6, audio_dim=5, visual_dim=7)
    a, v = write_task_stores(tmp, audio, visual, ids)
    return tmp, questions, a, v, write_peer_stores(tmp, questions[:-1], visual, ids)  # last question: no text


def test_dataset_hands_each_peer_its_inputs(stores):
    _, questions, a, v, extra = stores
    vocab = Vocab.from_questions(questions)
    inputs = open_inputs(architecture_inputs("tspm"), peer_inputs(extra, "tspm"), "tspm")
    ds = AVQADataset(questions, vocab, open_store(a), open_store(v), stride=2, inputs=inputs)
    assert len(ds) == len(questions) - 1 and ds.dropped == 1  # a question missing from the text stores
    item = ds[0]
    assert item["visual"].shape == (3, 7) and item["tome"].shape == (4, 3, 7)  # ToMe frames: no stride
    assert item["question_clip"].shape == (1, 12) and item["prompt_clip"].shape == (1, 12)
    avst = open_inputs(architecture_inputs("avst"), peer_inputs(extra, "avst"), "avst")
    item = AVQADataset(questions, vocab, open_store(a), None, stride=2, inputs=avst)[0]
    assert item["visual_map"].shape == (3, 4, 7)  # the maps follow the run's stride
    pstp = AVQADataset(questions, vocab, open_store(a), open_store(extra["visual_patch"]), keep_patches=True,
                       inputs=open_inputs(architecture_inputs("pstp_net"), peer_inputs(extra, "pstp_net"), "p"))
    first = pstp[0]
    assert first["visual"].shape == (6, 4, 7) and first["question_words"].shape == (16, 12)
    assert first["visual_cls"].shape == (6, 7)  # the CLS frame store, one row a second
    resident = next(ResidentBatches(pstp).batches(len(pstp)))
    loaded = pstp.__getitems__(list(range(len(pstp))))
    for key in ("visual", "visual_cls", "question_words", "question_clip", "question_words_len"):
        assert torch.equal(resident[key], torch.stack([x[key] for x in loaded])), key


def test_input_declaration_errors_name_the_key(stores):
    _, _, _, _, extra = stores
    with pytest.raises(InputError, match="prompt_clip"):
        open_inputs(architecture_inputs("tspm"), {"tome": extra["tome"], "question_clip": extra["text_sentence"]}, "t")
    with pytest.raises(InputError, match="--input bogus"):
        open_inputs(architecture_inputs("avst"), {"visual_map": extra["visual_map"], "bogus": extra["tome"]}, "a")
    with pytest.raises(StoreError, match="needs a .text_sentence. store"):
        open_inputs(architecture_inputs("pstp_net"), {"question_clip": extra["tome"],
                                                      "question_words": extra["text_words"],
                                                      "visual_cls": extra["visual_cls"]}, "p")
    with pytest.raises(InputError, match="KEY=PATH"):
        parse_input_flags(["visual_map"])
    with pytest.raises(InputError, match="twice"):
        parse_input_flags(["a=x", "a=y"])


def _write_annotations(path, questions):
    records = [{"video_id": q.video_id, "question_id": q.question_id,
                "type": json.dumps([q.modality, q.qtype]), "question_content": q.template,
                "templ_values": json.dumps(list(q.templ_values)), "question_deleted": 0, "anser": q.answer}
               for q in questions]
    path.write_text(json.dumps(records))
    return str(path)


def test_cli_train_and_predict_with_inputs(stores, tmp_path, capsys):
    tmp, questions, a, v, extra = stores
    Vocab.from_questions(questions).save(tmp_path / "vocab.json")
    ann = _write_annotations(tmp_path / "q.json", questions[:-1])
    common = ["--vocab", str(tmp_path / "vocab.json"), "--audio", str(a)]
    train = ["train", "--train", ann, "--val", ann, *common, "--visual", str(v), "--variant", "avst",
             "--out-dir", str(tmp_path / "run"), "--epochs", "1", "--device", "cpu",
             "--set", "d_model=16", "--set", "ffn_hidden=16"]
    assert main(train) == 2                       # the QA stage needs its grounding stage's weights
    assert "--init-from" in capsys.readouterr().err
    grounding = [*train, "--input", f"visual_map={extra['visual_map']}", "--variant", "avst_grounding",
                 "--out-dir", str(tmp_path / "grounding"), "--epochs", "2"]
    assert main(grounding) == 0
    assert json.loads((tmp_path / "grounding" / "final.json").read_text())["best_epoch"] == 2  # the last
    with (tmp_path / "grounding" / "metrics.csv").open(newline="") as f:
        row = next(csv.DictReader(f))
    assert float(row["loss_match"]) > 0 and row["loss_answer"] == ""   # the match loss alone
    train += ["--init-from", str(tmp_path / "grounding" / "best.pt")]
    assert main(train) == 2
    assert "--input visual_map=PATH" in capsys.readouterr().err
    assert main(train + ["--input", f"visual_map={extra['visual_map']}", "--input", f"tome={extra['tome']}"]) == 2
    assert "--input tome" in capsys.readouterr().err
    assert main(train + ["--input", f"visual_map={extra['visual_map']}"]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["inputs"]["inputs"]["visual_map"]["path"] == str(extra["visual_map"])
    assert config["inputs"]["input_stores"]["visual_map"]["stream"] == "visual_map"
    assert config["inputs"]["init_from"]["path"] == str(tmp_path / "grounding" / "best.pt")
    predict = ["predict", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--annotations", ann, *common,
               "--out", str(tmp_path / "pred.csv"), "--device", "cpu"]
    assert main(predict) == 2 and "visual_map" in capsys.readouterr().err
    assert main(predict + ["--input", f"visual_map={extra['visual_map']}"]) == 0
    assert len((tmp_path / "pred.csv").read_text().splitlines()) == len(questions)  # header + all but one
