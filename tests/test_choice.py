"""Multiple choice (AVQA): the MCD choice head scores each given option; the hinge loss; and
learnability: the head learns what the options' text carries, and what only the audio carries."""

import pytest
import torch

from mcd_core.models import ConfigError, build_model, variant_config
from mcd_core.models.common.losses import ModelOutput, choice_hinge, total_loss
from mcd_core.training.config import TrainConfig, resolve_train_config

K, L, D = 4, 8, 32
CLASSES = 8            # option words 10..17, one per sound class
WORD0 = 10


def tiny(variant="mcd", **fields):
    sizes = dict(d_model=D, word_dim=D, ffn_hidden=2 * D, proj_dim=D, audio_dim=16, visual_dim=12,
                 vocab_size=WORD0 + CLASSES, n_object_words=6, n_answers=K, n_options=K)
    return variant_config(variant, **{**sizes, **fields})


def batch(n, gen, answer_rule, audio_signal=True):
    """Questions with four one-word options (distinct sound classes). `answer_rule` picks the right
    option: "text" = the only option from classes 0-3 (the others from 4-7, audio is noise);
    "audio" = the option naming the class whose signature is in the audio (any classes)."""
    signatures = torch.randn(CLASSES, 16, generator=torch.Generator().manual_seed(99))
    if answer_rule == "text":
        right = torch.randint(0, 4, (n,), generator=gen)
        wrong = torch.stack([torch.randperm(4, generator=gen)[:3] + 4 for _ in range(n)])
        classes = torch.cat([right[:, None], wrong], dim=1)
    else:
        classes = torch.stack([torch.randperm(CLASSES, generator=gen)[:K] for _ in range(n)])
    order = torch.stack([torch.randperm(K, generator=gen) for _ in range(n)])
    classes = classes.gather(1, order)                        # the right one (column 0) moved
    answer = (order == 0).int().argmax(1)                     # where column 0 went
    options = torch.zeros(n, K, L, dtype=torch.long)
    options[:, :, 0] = WORD0 + classes
    sound = classes.gather(1, answer[:, None]).squeeze(1)     # the right option's class
    audio = torch.randn(n, 3, 16, generator=gen) * 0.3
    if answer_rule == "audio" and audio_signal:
        audio = audio + signatures[sound][:, None, :]
    question = torch.zeros(n, 14, dtype=torch.long)
    question[:, :5] = torch.tensor([2, 3, 4, 5, 6])           # the same question every time
    return {"question": question, "qtype": torch.tensor([[2, 3]] * n), "keywords": torch.zeros(n, 4, dtype=torch.long),
            "options": options, "answer": answer.long(), "audio": audio, "audio_len": torch.full((n,), 3),
            "visual": torch.randn(n, 3, 12, generator=gen), "visual_len": torch.full((n,), 3)}


def test_choice_head_scores_each_option_and_follows_their_order():
    torch.manual_seed(0)
    model = build_model(tiny()).eval()
    b = batch(6, torch.Generator().manual_seed(1), "audio")
    scores = model(b).logits
    assert scores.shape == (6, K)
    perm = torch.tensor([2, 0, 3, 1])
    permuted = model({**b, "options": b["options"][:, perm]}).logits
    assert torch.allclose(permuted, scores[:, perm], atol=1e-5)   # an option's score is its own
    # the options' tokens are text objects too: changing them changes f_t (paper Sec. IV-C-2)
    model_no_obj = build_model(tiny(option_objects=False)).eval()
    assert model_no_obj.text_objects.refine.in_features == 3 * D
    assert model.text_objects.refine.in_features == 4 * D


def test_every_parameter_learns_through_the_choice_head():
    torch.manual_seed(0)
    for encoder in ("lstm", "mean"):
        model = build_model(tiny(option_encoder=encoder))
        b = batch(8, torch.Generator().manual_seed(2), "audio")
        total_loss(model(b), b["answer"], "hinge")["total"].backward()
        assert model.options.proj.weight.grad.abs().sum() > 0
        assert model.head.score[-1].weight.grad.abs().sum() > 0


def test_classifier_only_architectures_refuse_options():
    with pytest.raises(ConfigError, match="no multiple-choice head"):
        variant_config("q_only", n_options=4, n_answers=4)
    with pytest.raises(ConfigError, match="must equal 'n_options'"):
        tiny(n_answers=42)


def test_hinge_loss_by_hand():
    scores = torch.tensor([[2.0, 1.5, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0], [1.0, 5.0, 5.0, 5.0]])
    answers = torch.tensor([0, 2, -1])   # the third row is ignored
    # row 0: wrong 1.5 -> 0.5, 0 -> 0, 3 -> 2; sum 2.5.  row 1: three wrong at 1 each: 3.  mean 2.75
    assert choice_hinge(scores, answers, 1.0).item() == pytest.approx(2.75)
    # margin 0.5: row 0 only 3 -> 1.5; row 1 three at 0.5: 1.5.  mean 1.5
    assert choice_hinge(scores, answers, 0.5).item() == pytest.approx(1.5)
    out = ModelOutput(scores, [])
    assert total_loss(out, answers, "hinge")["answer"].item() == pytest.approx(2.75)
    assert total_loss(out, answers, "ce")["answer"].item() == pytest.approx(
        torch.nn.functional.cross_entropy(scores[:2], answers[:2]).item())
    assert resolve_train_config("mcd_hinge", {}, {}).answer_loss == "hinge"
    with pytest.raises(ConfigError, match="answer_loss"):
        TrainConfig(answer_loss="margin")


def fit(rule, audio_signal=True, answer_loss="ce", steps=150):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(3)
    model = build_model(tiny(lambda_qv=0.0, lambda_qa=0.0, lambda_av=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        b = batch(32, gen, rule, audio_signal)
        loss = total_loss(model(b), b["answer"], answer_loss)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test = batch(400, torch.Generator().manual_seed(4), rule, audio_signal)
    with torch.no_grad():
        return 100.0 * (model(test).logits.argmax(1) == test["answer"]).float().mean().item()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_learns_an_answer_carried_by_the_options_text_alone():
    assert fit("text") >= 95.0


@pytest.mark.slow
@pytest.mark.parametrize("answer_loss", ["ce", "hinge"])
def test_learns_an_answer_that_needs_the_audio(answer_loss):
    assert fit("audio", answer_loss=answer_loss, steps=250) >= 90.0


@pytest.mark.slow
def test_without_the_audio_the_same_options_leave_chance():
    # every class is as often right as wrong: with silent audio nothing tells the options apart
    assert fit("audio", audio_signal=False, steps=250) <= 35.0
