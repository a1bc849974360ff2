"""Trainer: determinism, bit-exact resume, best-on-val, skip of finished runs, CLI train/predict."""

import csv
import json

import pytest
import torch

from avqa_synthetic import make_task, write_task_stores
from mcd_core.cli import main
from mcd_core.data.vocab import Vocab
from mcd_core.models import ConfigError
from mcd_core.training.config import TrainConfig, split_overrides
from mcd_core.training.files import RunFiles, train_from_files

torch.set_num_threads(1)

TINY_SET = ["d_model=16", "word_dim=16", "ffn_hidden=24", "proj_dim=8"]


def _write_annotations(path, questions):
    records = [{"video_id": q.video_id, "question_id": q.question_id,
                "type": json.dumps([q.modality, q.qtype]), "question_content": q.template,
                "templ_values": json.dumps(list(q.templ_values)), "question_deleted": 0, "anser": q.answer}
               for q in questions]
    path.write_text(json.dumps(records))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    questions, audio, visual, ids = make_task(16, seconds=6, audio_dim=5, visual_dim=7)
    lengths = [6] * 12 + [3] * 4  # some short videos: padding must be masked
    a, v = write_task_stores(tmp, audio, visual, ids, lengths=lengths)
    train_q = [q for q in questions if int(q.video_id) < 12]
    val_q = [q for q in questions if int(q.video_id) >= 12]
    Vocab.from_questions(train_q).save(tmp / "vocab.json")
    return RunFiles(train=_write_annotations(tmp / "train.json", train_q),
                    val=_write_annotations(tmp / "val.json", val_q),
                    vocab=tmp / "vocab.json", audio=a, visual=v, test=None)


def _train(files, out, epochs=3, resume=False, **kw):
    model_overrides, _ = split_overrides(TINY_SET, "mcd")
    cfg = TrainConfig(epochs=epochs, batch_size=8, lr_step=2, seed=0, device="cpu")
    return train_from_files(files, "mcd", out, cfg, model_overrides, resume=resume, **kw)


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_same_seed_same_weights_and_artifacts(files, tmp_path):
    r1 = _train(files, tmp_path / "a")
    r2 = _train(files, tmp_path / "b")
    w1, w2 = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert [r["train_loss"] for r in r1.history] == [r["train_loss"] for r in r2.history]
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png", "config.json", "final.json"):
        assert (tmp_path / "a" / name).is_file()
    rows = list(csv.DictReader((tmp_path / "a" / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[2]["lr"]) == pytest.approx(1e-4)  # StepLR x0.1 after 2 epochs
    assert r1.best_val_acc == max(r["val_acc"] for r in r1.history)
    assert _weights(tmp_path / "a" / "best.pt") is not None
    assert not list((tmp_path / "a").glob(".tmp-*"))
    final = json.loads((tmp_path / "a" / "final.json").read_text())
    assert final["runtime"]["optimizer"] == "adam/foreach"   # fused on CUDA (tests/test_train_speed.py)
    assert torch.load(tmp_path / "a" / "best.pt", weights_only=True)["runtime"] == final["runtime"]


def test_resume_after_kill_matches_uninterrupted_run(files, tmp_path):
    _train(files, tmp_path / "full")

    def kill(epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(files, tmp_path / "killed", on_epoch_end=kill)
    assert not (tmp_path / "killed" / "final.json").exists()
    resumed = _train(files, tmp_path / "killed", resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    w_full, w_res = _weights(tmp_path / "full" / "last.pt"), _weights(tmp_path / "killed" / "last.pt")
    assert all(torch.equal(w_full[k], w_res[k]) for k in w_full)
    full_hist = json.loads((tmp_path / "full" / "final.json").read_text())["history"]
    assert [r["val_acc"] for r in full_hist] == [r["val_acc"] for r in resumed.history]


def test_finished_run_is_not_trained_again(files, tmp_path):
    _train(files, tmp_path / "r", epochs=1)
    stamp = (tmp_path / "r" / "last.pt").stat().st_mtime_ns
    again = _train(files, tmp_path / "r", epochs=1)
    assert again.skipped and (tmp_path / "r" / "last.pt").stat().st_mtime_ns == stamp
    other = _train(files, tmp_path / "r", epochs=2)  # another config: trains
    assert not other.skipped and len(other.history) == 2


def test_set_overrides_are_validated():
    assert split_overrides(["n_blocks=1", "lr=0.5"], "mcd") == ({"n_blocks": "1"}, {"lr": "0.5"})
    with pytest.raises(ConfigError, match="n_blockz"):
        split_overrides(["n_blockz=1"], "mcd")
    with pytest.raises(ConfigError, match="field=value"):
        split_overrides(["n_blocks"], "mcd")


def test_cli_train_then_predict(files, tmp_path, capsys):
    out = tmp_path / "cli"
    common = ["--train", str(files.train), "--val", str(files.val), "--vocab", str(files.vocab),
              "--audio", str(files.audio), "--visual", str(files.visual), "--out-dir", str(out),
              "--epochs", "1", "--batch-size", "8", "--device", "cpu"]
    assert main(["train", *common, "--set", "in_memory=true", *sum((["--set", s] for s in TINY_SET), [])]) == 0
    pred = tmp_path / "p.csv"
    assert main(["predict", "--checkpoint", str(out / "best.pt"), "--annotations", str(files.val),
                 "--vocab", str(files.vocab), "--audio", str(files.audio), "--visual", str(files.visual),
                 "--out", str(pred), "--batch-size", "3", "--device", "cpu"]) == 0
    rows = list(csv.DictReader(pred.open()))
    assert list(rows[0]) == ["question_id", "video_id", "type", "answer", "prediction", "correct"]
    assert len(rows) == 16 and all(r["correct"] == str(int(r["answer"] == r["prediction"])) for r in rows)
    best_acc = torch.load(out / "best.pt", weights_only=True)["val_acc"]
    assert 100.0 * sum(r["correct"] == "1" for r in rows) / len(rows) == pytest.approx(best_acc)
    # bad input: one line naming the field
    assert main(["train", *common, "--set", "n_blockz=2"]) == 2
    assert "n_blockz" in capsys.readouterr().err
    assert main(["train", *common, "--set", "bilstm=perhaps"]) == 2
    assert "bilstm" in capsys.readouterr().err
