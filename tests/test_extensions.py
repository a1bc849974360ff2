"""A new architecture and a new dataset format are one module each (tests/plugins/), with no edit of
mcd_core: the registries, training, checkpoints, scoring and tables take them as they are."""

import json

import pytest
import torch

from mcd_core.data.formats import get_format, list_formats
from mcd_core.data.vocab import Vocab
from mcd_core.models import build_model, list_variants, variant_config
from mcd_core.scoring.metrics import score
from mcd_core.scoring.tables import read_score_table, score_predictions, stack_tables, table_csv, table_markdown
from mcd_core.training.config import resolve_train_config, split_overrides

from plugins import toy_architecture, toy_format  # noqa: F401  (register themselves)


def test_toy_architecture_is_a_variant_like_any_other():
    assert {"toy_bow", "toy_bow_wide"} <= set(list_variants())
    cfg = variant_config("toy_bow_wide", vocab_size=10, n_answers=3)
    assert cfg.width == 64 and cfg.architecture == "toy_bow"
    model = build_model(cfg)
    out = model({"question": torch.tensor([[2, 3, 0], [4, 0, 0]])})
    assert out.logits.shape == (2, 3)
    # its own training defaults sit between TrainConfig's and the user's flags
    assert resolve_train_config("toy_bow", {}, {}).lr == 0.01
    assert resolve_train_config("toy_bow", {}, {}).epochs == 3
    assert resolve_train_config("toy_bow", {"lr": 0.5}, {}).lr == 0.5
    assert resolve_train_config("mcd", {}, {}).lr == 0.001
    assert split_overrides(["width=8", "epochs=2"], "toy_bow") == ({"width": "8"}, {"epochs": "2"})


def test_toy_architecture_trains_and_its_checkpoint_reloads(tmp_path):
    from mcd_core.data.dataset import AVQADataset
    from mcd_core.scoring.predict import load_checkpoint, predict_answers
    from mcd_core.training.config import TrainConfig
    from mcd_core.training.loop import train

    fmt = get_format("toy")
    records = [{"qid": i, "video": f"v{i}", "kind": ["Sound", "Sight"][i % 2],
                "text": f"is it {['loud', 'bright'][i % 2]}?", "answer": ["yes", "no"][i % 2]}
               for i in range(40)]
    (tmp_path / "q.json").write_text(json.dumps(records))
    questions = fmt.load(tmp_path / "q.json").questions
    vocab = Vocab.from_questions(questions, fmt.type_words)
    data = AVQADataset(questions, vocab)
    cfg = variant_config("toy_bow", vocab_size=len(vocab.words), n_answers=len(vocab.answers))
    result = train(cfg, TrainConfig(epochs=3, batch_size=8, lr=0.05, device="cpu"), data, data, vocab,
                   tmp_path / "run")
    assert result.best_val_acc == 100.0  # the word decides the answer
    model, loaded, ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["architecture"] == "toy_bow" and loaded == cfg
    assert predict_answers(model, data, vocab.answers, 16, torch.device("cpu")) == [q.answer for q in questions]


def test_toy_format_scores_into_its_own_columns(tmp_path):
    assert "toy" in list_formats() and "music_avqa" in list_formats()
    fmt = get_format("toy")
    records = [{"qid": 1, "video": "a", "kind": "Sound", "text": "loud?", "answer": "yes"},
               {"qid": 2, "video": "a", "kind": "Sound", "text": "quiet?", "answer": "no"},
               {"qid": 3, "video": "b", "kind": "Sight", "text": "red?", "answer": "yes"}]
    (tmp_path / "t.json").write_text(json.dumps(records))
    annotations = fmt.load(tmp_path / "t.json")
    result = score(annotations.questions, {1: "yes", 2: "yes", 3: "yes"}, taxonomy=fmt.taxonomy)
    assert result.accuracy == {"sound": 50.0, "sight": 100.0, "total": pytest.approx(200 / 3)}
    (tmp_path / "p.csv").write_text("question_id,prediction\n1,yes\n2,yes\n3,yes\n")
    table = score_predictions(annotations, tmp_path / "p.csv", "Toy", {}, taxonomy=fmt.taxonomy)
    (tmp_path / "row.csv").write_text(table_csv(table))
    stacked = stack_tables([("row.csv", read_score_table(tmp_path / "row.csv", fmt.taxonomy))],
                           taxonomy=fmt.taxonomy)
    header = table_csv(stacked).splitlines()[0].split(",")
    assert header[:4] == ["method", "sound", "sight", "total"]
    md = table_markdown(stacked, "toy", fmt.taxonomy)
    # the total with its 95 % bootstrap interval: 3 questions, 2 right (all wrong in 3.7 % of resamples)
    assert "| Method | Sound | Sight | Total |" in md and "| Toy | 50.00 | 100.00 | 66.67 [0.0, 100.0] |" in md


def test_a_question_outside_the_taxonomy_is_an_error_not_a_dropped_row():
    from mcd_core.data.questions import Question

    q = Question(question_id=1, video_id="v", modality="Toy", qtype="Smell", template="t", templ_values=(),
                 answer="a", tokens=("t",))
    with pytest.raises(ValueError, match="Toy/Smell"):
        score([q], {1: "a"}, taxonomy=get_format("toy").taxonomy)
