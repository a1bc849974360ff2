"""`mcd ask`: the aggregator's selection leaves the model's outputs unchanged, free-form questions
(templates, unknown words, text objects), and a tiny real run asked end to end through the CLI:
features equal to the pipeline's, answers, the HTML page, and one-line errors for bad input."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

from ask_tiny_run import RUN, SECONDS, build_tiny_run
from mcd_core.ask.errors import AskError
from mcd_core.ask.question import collect_templates, encode, parse_question
from mcd_core.cli import main
from mcd_core.data.formats.music_avqa import Question, tokenize
from mcd_core.data.vocab import Vocab
from mcd_core.models import build_model, variant_config

torch.set_num_threads(1)


# --- the model's key clues ----------------------------------------------------------------------

def _batch(lengths, T=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    B = len(lengths)
    return {"question": torch.randint(2, 30, (B, 14), generator=g) * (torch.arange(14) < 9),
            "qtype": torch.randint(1, 10, (B, 2), generator=g), "keywords": torch.randint(0, 10, (B, 4), generator=g),
            "audio": torch.randn(B, T, 6, generator=g), "visual": torch.randn(B, T, 7, generator=g),
            "audio_len": torch.tensor(lengths), "visual_len": torch.tensor(lengths)}


@pytest.mark.parametrize("levels", ["both", "low", "high"])
def test_clues_leave_outputs_unchanged_and_are_the_top_scored_real_seconds(levels):
    cfg = variant_config("mcd", vocab_size=30, n_object_words=10, n_answers=5, audio_dim=6, visual_dim=7,
                         d_model=16, word_dim=16, ffn_hidden=24, proj_dim=8, aggregator_levels=levels)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    batch = _batch([8, 5, 1])
    with torch.no_grad():
        plain = model(batch)
        with_clues = model(batch, return_clues=True)
    assert plain.clues is None
    assert torch.equal(plain.logits, with_clues.logits)
    for a, b in zip(plain.contrast, with_clues.contrast):
        assert torch.equal(a.anchor, b.anchor) and torch.equal(a.positive, b.positive)
    names = {"both": ["low", "high"], "low": ["low"], "high": ["high"]}[levels]
    assert set(with_clues.clues) == {f"{s}/{n}" for s in ("audio", "visual") for n in names}
    for sel in with_clues.clues.values():
        for row, length in enumerate([8, 5, 1]):
            n = int(sel.n_kept[row])
            assert n == max(1, math.ceil(0.5 * length))
            kept = sel.kept[row, :n].tolist()
            assert all(k < length for k in kept)                     # padding is never a clue
            order = sel.score[row, :length].argsort(descending=True)[:n].tolist()
            assert kept == order
            assert float(sel.alpha[row, :length].sum()) == pytest.approx(1.0, abs=1e-5)
            assert float(sel.alpha[row, length:].abs().sum()) == 0.0


# --- free-form questions -------------------------------------------------------------------------

TRAIN = [("How many instruments are sounding in the video?", ("Audio-Visual", "Counting"), ()),
         ("Is there a <Object> sound?", ("Audio", "Counting"), ("cello",)),
         ("Is the <Object> louder than the <Object>?", ("Audio", "Comparative"), ("piano", "violin")),
         ("What is the <LR> instrument of the <FL> sounding instrument?", ("Audio-Visual", "Location"),
          ("left", "first"))]


@pytest.fixture(scope="module")
def vocab_templates():
    qs = [Question(i, "v", m, t, tpl, vals, "yes", tokenize(tpl, vals)) for i, (tpl, (m, t), vals) in enumerate(TRAIN)]
    return Vocab.from_questions(qs), collect_templates(qs)


def test_a_template_question_gets_its_type_and_slot_words_as_keywords(vocab_templates):
    vocab, templates = vocab_templates
    a = parse_question("is the violin louder than the PIANO?", vocab, templates)
    assert a.type_key == "Audio/Comparative"
    assert a.keywords == ("violin", "piano")
    assert a.words == ("is", "the", "violin", "louder", "than", "the", "piano")  # vocabulary spelling
    assert a.unknown == ()
    text = encode(a, vocab)
    assert text["qtype"] == [vocab.object_words.index("audio"), vocab.object_words.index("comparative")]
    assert text["keywords"][:2] == [vocab.object_words.index("violin"), vocab.object_words.index("piano")]
    # written as in the annotations, the same encoding as the annotated question gets in training
    text = encode(parse_question("Is the violin louder than the piano?", vocab, templates), vocab)
    q = Question(0, "v", "Audio", "Comparative", "Is the <Object> louder than the <Object>?", ("violin", "piano"),
                 "yes", tokenize("Is the <Object> louder than the <Object>?", ("violin", "piano")))
    assert text == {"question": vocab.encode_question(q), "qtype": vocab.encode_type(q),
                    "keywords": vocab.encode_keywords(q)}


def test_unknown_words_are_reported_and_read_as_unk(vocab_templates):
    vocab, templates = vocab_templates
    a = parse_question("Is there a banjo sound？", vocab, templates)
    assert a.unknown == ("banjo",)
    assert a.type_key == "Audio/Counting"               # a slot takes any one word
    assert encode(a, vocab)["question"][3] == 1           # <unk>
    assert encode(a, vocab)["keywords"][0] == 1


def test_free_form_question_fits_no_template_and_follows_the_text_object_rule(vocab_templates):
    vocab, templates = vocab_templates
    a = parse_question("Is the cello on the left sounding before the cello and the piano and violin?",
                       vocab, templates)
    assert a.template is None and a.type_key is None
    assert a.keywords == ("cello", "left", "piano", "violin")  # text-object words, in order, no repeats
    assert encode(a, vocab)["qtype"] == [0, 0]
    assert a.ignored == ("violin",)                       # the 15th word is not read
    assert "before" in a.unknown and "and" in a.unknown


def test_a_question_without_a_known_word_is_refused(vocab_templates):
    vocab, templates = vocab_templates
    with pytest.raises(AskError, match="no word of the question"):
        parse_question("Quelle heure est-il?", vocab, templates)
    with pytest.raises(AskError, match="empty"):
        parse_question("  ?", vocab, templates)


# --- a tiny real run, end to end -----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ask")
    build_tiny_run(root)
    return root


def _ask(capsys, *args):
    rc = main(["ask", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_ask_reproduces_the_pipelines_features_and_answers_like_predict(tiny, monkeypatch, tmp_path):
    from mcd_core.ask.session import ask
    from mcd_core.features.store import open_store
    from mcd_core.media.audio import read_wav

    # Asked from another project, which holds files under the run's relative paths: the run's own
    # files are found from its folder, not from the current one.
    decoy = tmp_path / "results/toy/vocab.json"
    decoy.parent.mkdir(parents=True)
    Vocab(["<pad>", "<unk>", "How"], ["<pad>", "<unk>"], ["elsewhere"]).save(decoy)
    monkeypatch.chdir(tmp_path)
    video = tiny / "resources/toy/videos/00000001.mp4"
    result = ask(tiny / RUN, video, ["How many instruments are sounding in the video?",
                                     "Is there a piano sound?"], device="cpu")
    # The decoded inputs are the pipeline's, byte for byte: the JPEG frames and the 16 kHz WAV.
    frames = sorted((tiny / "results/toy/frames/shard_00000/00000001").glob("*.jpg"))
    assert result.inputs.frames == [p.read_bytes() for p in frames]
    wav = read_wav(tiny / "results/toy/audio/shard_00000/00000001.wav")
    np.testing.assert_array_equal(result.inputs.samples, wav)
    # The features equal the stores' rows. Not bit for bit: the pipeline ran the backbones on
    # batches of frames of 4 videos, ask on 1 video, and CPU convolutions sum in a batch-dependent
    # order (float32 rounding: a few 1e-7 of the vector's largest value).
    for stream, path in (("visual", "features/visual/resnet18.zarr"), ("audio", "features/audio/vggish.zarr")):
        store = open_store(tiny / "results/toy" / path)
        expected = store.features[store.row("00000001")]
        np.testing.assert_allclose(result.inputs.store_rows[stream], expected,
                                   rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))
    assert result.inputs.seconds == SECONDS and result.inputs.length == SECONDS

    # The answer is the arg-max of the model on the stored features (what `mcd predict` computes).
    from mcd_core.scoring.predict import load_checkpoint
    model, _, ckpt = load_checkpoint(tiny / RUN / "best.pt")
    vocab = result.run.vocab
    q = Question(0, "00000001", "Audio", "Counting", "Is there a <Object> sound?", ("piano",), "",
                 tokenize("Is there a <Object> sound?", ("piano",)))
    batch = {"question": torch.tensor([vocab.encode_question(q)]), "qtype": torch.tensor([vocab.encode_type(q)]),
             "keywords": torch.tensor([vocab.encode_keywords(q)])}
    for stream, path in (("visual", "features/visual/resnet18.zarr"), ("audio", "features/audio/vggish.zarr")):
        store = open_store(tiny / "results/toy" / path)
        batch[stream] = torch.from_numpy(np.asarray(store.features[store.row("00000001")]))[None]
        batch[f"{stream}_len"] = torch.tensor([int(store.lengths[store.row("00000001")])])
    with torch.no_grad():
        probs = model(batch).logits.softmax(-1)[0]
    answer = result.answers[1]
    assert answer.asked.type_key == "Audio/Counting"
    # ... among the answers of the question's type in training (Audio/Counting: two, yes, no here).
    assert result.run.type_answers["Audio/Counting"] == ("no", "two", "yes")
    allowed = [i for i, a in enumerate(ckpt["answers"]) if a in ("no", "two", "yes")]
    best = max(allowed, key=lambda i: float(probs[i]))
    assert answer.top[0][0] == ckpt["answers"][best]
    assert answer.top[0][1] == pytest.approx(float(probs[best]), abs=1e-5)
    assert {a for a, _ in answer.top} <= {"no", "two", "yes"}
    assert [p for _, p in answer.top] == sorted((p for _, p in answer.top), reverse=True)
    assert {(c.stream, c.level) for c in answer.clues} == {(s, l) for s in ("audio", "visual") for l in ("low", "high")}
    for c in answer.clues:
        assert len(c.kept) == 2 and all(0 <= s < SECONDS for s in c.kept)   # ceil(3 / 2) seconds
        assert c.weights == [pytest.approx(c.attention[s]) for s in c.kept]


def test_cli_prints_answers_clues_and_writes_a_self_contained_page(tiny, capsys, tmp_path, monkeypatch):
    import mcd_core.ask.features as features

    decodes = []

    def counted(name):
        real = getattr(features, name)
        return lambda *args, **kwargs: decodes.append(name) or real(*args, **kwargs)

    for name in ("frames_shard", "audio_shard"):
        monkeypatch.setattr(features, name, counted(name))
    questions = tmp_path / "q.txt"
    questions.write_text("# two questions, one decode\nHow many instruments are sounding in the video?\n"
                         "Is the cello on the left sounding before the banjo?\n")
    page = tmp_path / "out" / "page.html"
    page.parent.mkdir()
    rc, out, err = _ask(capsys, "--run", tiny / RUN, "--video", tiny / "resources/toy/videos/00000000.mp4",
                        "--questions", questions, "--html", page, "--device", "cpu")
    assert rc == 0, err
    assert decodes == ["frames_shard", "audio_shard"]              # one decode for both questions
    assert "Q1: How many instruments are sounding in the video?" in out
    assert "type: Audio-Visual/Counting" in out
    assert "type: fits no template (text objects: no type, keywords: cello, left)" in out
    assert "unknown words (read as <unk>): before, banjo" in out
    assert out.count("answers: ") == 2
    assert "audio (encoder features)" in out and "visual (association-block features)" in out
    # What it did: the seconds read, the random-init backbones, the answers ranked.
    assert f"time:  video is {SECONDS} s; the run reads T = {SECONDS}: used seconds 0-{SECONDS - 1}\n" in out
    warning = ("the backbones are randomly initialised (visual resnet18, seed 0, audio vggish, seed 0): "
               "these answers carry no meaning")
    assert f"NOTE:  {warning}" in out
    assert "ranked among: the 3 answers of Audio-Visual/Counting questions in training (together" in out
    assert "ranked among: all 4 answers of the run: the question fits no training template" in out
    text = page.read_text()
    assert f"<p class='warn' id='random-init'>{warning}</p>" in text
    assert f"time: video is {SECONDS} s; the run reads T = {SECONDS}" in text
    assert text.count("ranked among: ") == 2
    assert text.count("class='thumb'") == 2 * SECONDS and text.count("class='plot'") == 2
    assert "<audio controls src='data:audio/wav;base64," in text
    assert "src='http" not in text and "src=\"http" not in text  # nothing fetched from elsewhere
    assert list(page.parent.iterdir()) == [page]                 # written atomically, no leftovers


def _one_line_error(capsys, *args, match):
    rc, out, err = _ask(capsys, *args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcd ask: error: "), err
    assert match in lines[0], lines[0]


def test_bad_input_gets_one_clear_line(tiny, capsys, tmp_path):
    run, video = tiny / RUN, tiny / "resources/toy/videos/00000000.mp4"
    q = ["--question", "How many instruments are sounding in the video?"]
    _one_line_error(capsys, "--run", run, "--video", tmp_path / "nope.mp4", *q, match="does not exist")
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video at all\n")
    _one_line_error(capsys, "--run", run, "--video", broken, *q, match=f"cannot read video {broken}")
    no_ckpt = tmp_path / "run_without_checkpoint"
    shutil.copytree(run, no_ckpt, ignore=shutil.ignore_patterns("*.pt"))
    _one_line_error(capsys, "--run", no_ckpt, "--video", video, *q, match="holds no checkpoint (best.pt)")
    _one_line_error(capsys, "--run", run, "--video", video, "--question", "Quelle heure est-il?",
                    match="no word of the question")


def test_a_multiple_choice_run_is_refused_in_one_line(tiny, capsys, tmp_path):
    moved = tmp_path / "avqa_run"
    shutil.copytree(tiny / RUN, moved)
    config = json.loads((moved / "config.json").read_text())
    config["inputs"]["format"] = "avqa"
    (moved / "config.json").write_text(json.dumps(config))
    _one_line_error(capsys, "--run", moved, "--video", tiny / "resources/toy/videos/00000000.mp4",
                    "--question", "Which instrument is on the left?",
                    match="a run of the 'avqa' format picks one of each question's answer options")


def test_store_settings_that_differ_from_the_run_are_an_error(tiny, capsys, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(tiny / RUN, moved)
    config = json.loads((moved / "config.json").read_text())
    for role in ("audio", "visual", "vocab", "train"):
        config["inputs"][role] = str(tiny / config["inputs"][role])
    config["inputs"]["stores"]["visual"]["weights"] = {"random_init": True, "seed": 7}
    (moved / "config.json").write_text(json.dumps(config))
    _one_line_error(capsys, "--run", moved, "--video", tiny / "resources/toy/videos/00000000.mp4",
                    "--question", "Is there a cello sound?",
                    match="the run was trained on {'random_init': True, 'seed': 7}")


def test_pretrained_weights_other_than_the_runs_are_an_error(tmp_path):
    from mcd_core.ask.run import StreamSettings, check_weights
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import get_source

    load_all_registries()
    name = get_source("resnet18").filename
    (tmp_path / name).write_bytes(b"other weights")
    recorded = {"file": name, "sha256": "0" * 64}
    s = StreamSettings("visual", tmp_path / "resnet18.zarr", "visual", "resnet18", "pretrained", 0, "fp32",
                       {"weights": recorded})
    with pytest.raises(AskError, match="is not that of the weights the run's visual features were made with"):
        check_weights(s, tmp_path)
    (tmp_path / name).unlink()
    with pytest.raises(AskError, match="not found"):
        check_weights(s, tmp_path)
    import hashlib
    (tmp_path / name).write_bytes(b"the run's weights")
    recorded["sha256"] = hashlib.sha256(b"the run's weights").hexdigest()
    check_weights(s, tmp_path)  # the recorded file: no error


def test_a_model_without_aggregator_answers_and_says_it_has_no_clues(tiny, capsys, monkeypatch):
    from mcd_core.training.config import TrainConfig
    from mcd_core.training.files import RunFiles, train_from_files

    monkeypatch.chdir(tiny)  # relative paths in config.json, as the pipeline writes them
    files = RunFiles(train="resources/toy/annotations/train.json", val="resources/toy/annotations/val.json",
                     vocab="results/toy/vocab.json", audio=None, visual=None)
    run = tiny / "results/toy/runs/none/q_only/seed0"
    train_from_files(files, "q_only", run, TrainConfig(epochs=1, batch_size=4, device="cpu"),
                     {"d_model": "16", "word_dim": "16"})
    rc, out, err = _ask(capsys, "--run", run, "--video", tiny / "resources/toy/videos/00000002.mp4",
                        "--question", "Is there a cello sound?", "--html", tiny / "q_only.html", "--top", "2")
    assert rc == 0, err
    assert "key clues: this model has no aggregator" in out
    assert len(out.split("answers: ")[1].splitlines()[0].split(" | ")) == 2
    assert "no audio stream" in out                      # video 00000002 is silent
    page = (tiny / "q_only.html").read_text()
    assert page.count("class='thumb'") == SECONDS and "class='plot'" not in page


# --- what ask says it did: seconds read, random weights, answers of the question's type -----------

def test_a_video_longer_than_T_says_which_seconds_were_read(tiny, capsys, tmp_path):
    from videos import make_video

    video = make_video(tmp_path / "long.mp4", seconds=SECONDS + 2, size=(64, 48), audio="sine")
    page = tmp_path / "long.html"
    rc, out, err = _ask(capsys, "--run", tiny / RUN, "--video", video, "--question",
                        "Is there a cello sound?", "--html", page, "--device", "cpu")
    assert rc == 0, err
    line = f"video is {SECONDS + 2} s; the run reads T = {SECONDS}: used seconds 0-{SECONDS - 1} (the last 2 s are not read)"
    assert f"time:  {line}" in out and line in page.read_text()


def test_seconds_used_names_the_seconds_read_and_the_padding():
    from mcd_core.ask.features import VideoInputs

    def said(duration, length, T, run_seconds=None):
        inputs = VideoInputs(None, T, length, length, False, [], np.zeros(0), {}, {}, duration,
                             T if run_seconds is None else run_seconds)
        return inputs.seconds_used()

    assert said(75.0, 60, 60) == "video is 75 s; the run reads T = 60: used seconds 0-59 (the last 15 s are not read)"
    assert said(3.2, 3, 60) == ("video is 3.2 s; the run reads T = 60: used seconds 0-2, padded to 60 s by "
                                "repeating the last second (seconds 3-59 are padding)")
    assert said(60.04, 60, 60) == "video is 60 s; the run reads T = 60: used seconds 0-59"
    assert said(0.4, 1, 10) == ("video is 0.4 s; the run reads T = 10: used second 0, padded to 10 s by "
                                "repeating the last second (seconds 1-9 are padding)")
    assert said(7.0, 7, 7, run_seconds=0) == "video is 7 s; the run reads no features, T = the video's 7 s: used seconds 0-6"


def _fake_run(answers, type_answers, streams=()):
    from types import SimpleNamespace

    from mcd_core.ask.run import RunSettings

    vocab = Vocab(["<pad>", "<unk>", "How"], ["<pad>", "<unk>"], answers)
    run = SimpleNamespace(vocab=vocab, type_answers=type_answers, visual=None, audio=None)
    for s in streams:
        setattr(run, s.role, s)
    run.random_streams = RunSettings.random_streams.fget(run)
    return run


def test_answers_of_another_type_are_not_offered_and_the_scope_says_why():
    from mcd_core.ask.answer import _top, allowed_answers
    from mcd_core.ask.question import AskedQuestion, Template

    answers = ["cello", "no", "one", "two", "yes"]
    run = _fake_run(answers, {"Audio/Counting": ("one", "two", "zero")})  # "zero": not a class of the run
    counting = Template("How many <Object> are sounding?", ("How", "many", "<Object>", "are", "sounding"),
                        "Audio", "Counting", 5)
    asked = AskedQuestion("How many cello are sounding", (), (), (), counting, ("cello",))
    probs = torch.tensor([0.1, 0.05, 0.15, 0.2, 0.5])
    allowed, scope = allowed_answers(run, asked)
    assert allowed == [2, 3]
    top, scope = _top(run, probs, allowed, scope, 3)
    assert top == [("two", pytest.approx(0.2)), ("one", pytest.approx(0.15))]   # "yes" is not offered
    assert scope == ("the 2 answers of Audio/Counting questions in training (together 0.350 of the model's "
                     "probability); the model's top answer over all answers, 'yes' (0.500), is not an answer "
                     "of this type")
    free = AskedQuestion("What is it", (), (), (), None, ())
    allowed, scope = allowed_answers(run, free)
    assert allowed is None and "fits no training template" in scope
    assert [a for a, _ in _top(run, probs, allowed, scope, 2)[0]] == ["yes", "two"]
    assert allowed_answers(run, asked, restrict=False) == (None, "all 5 answers of the run (--all-answers)")
    other = AskedQuestion("Where is it", (), (), (), Template("Where is it?", ("Where", "is", "it"), "Visual",
                                                               "Location", 1), ())
    assert allowed_answers(run, other)[0] is None   # a type without training answers: all, and said so


def test_the_random_init_warning_names_the_random_backbones():
    from mcd_core.ask.report import random_init_line
    from mcd_core.ask.run import StreamSettings

    def stream(role, backbone, weights):
        return StreamSettings(role, None, role, backbone, weights, 0, "fp32", {})

    assert random_init_line(_fake_run(["a"], {}, [stream("visual", "resnet18", "pretrained")])) is None
    both = _fake_run(["a"], {}, [stream("visual", "resnet18", "random-init"), stream("audio", "vggish", "random-init")])
    assert random_init_line(both) == ("the backbones are randomly initialised (visual resnet18, seed 0, audio "
                                      "vggish, seed 0): these answers carry no meaning")
    half = _fake_run(["a"], {}, [stream("visual", "resnet18", "pretrained"), stream("audio", "vggish", "random-init")])
    assert random_init_line(half) == ("the audio backbone is randomly initialised (audio vggish, seed 0): these "
                                      "answers carry no meaning")
