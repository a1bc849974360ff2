"""The GPU speed paths of training (issue 20), checked on the CPU: the Adam implementation chosen per
device, `compile=step` (torch.compile of the step) giving the losses of the plain step, evaluation
whose predictions do not depend on its batch size, and several runs sharing one GPU's slots."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from avqa_synthetic import make_task, write_task_stores
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import open_store
from mcd_core.models import ConfigError, build_model, variant_config
from mcd_core.scoring.predict import predict_indices
from mcd_core.training.config import TrainConfig, resolve_train_config
from mcd_core.training.loop import (adam_options, build_optimizer, compile_problem, forward_loss,
                                    optimizer_name, run_config, step_forward, train_step)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("speed")
    questions, audio, visual, ids = make_task(16, seconds=6, audio_dim=4, visual_dim=5)
    a, v = write_task_stores(tmp, audio, visual, ids, lengths=[6] * 12 + [3] * 4)  # padding to mask
    vocab = Vocab.from_questions(questions)
    dataset = AVQADataset(questions, vocab, open_store(a), open_store(v))
    cfg = variant_config("mcd", n_answers=len(vocab.answers), vocab_size=len(vocab.words),
                         n_object_words=len(vocab.object_words), audio_dim=4, visual_dim=5, d_model=16,
                         word_dim=16, ffn_hidden=24, proj_dim=8, head_dropout=0.0, late_dropout=0.0,
                         lef_dropout=0.0)  # no dropout: compiled code draws other random numbers
    return dataset, cfg


def test_adam_is_fused_on_cuda_and_foreach_elsewhere():
    assert adam_options(CPU) == {"foreach": True}
    assert adam_options(torch.device("cuda")) == {"fused": True}   # torch >= 2.0 has fused Adam
    assert adam_options(torch.device("cuda", 1)) == {"fused": True}
    assert optimizer_name(adam_options(torch.device("cuda"))) == "adam/fused"
    opt = build_optimizer(torch.nn.Linear(3, 2), TrainConfig(lr=0.01, weight_decay=0.1), CPU)
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults["foreach"] is True and not opt.defaults.get("fused")
    assert opt.defaults["lr"] == 0.01 and opt.defaults["weight_decay"] == 0.1


def test_compile_field_is_checked_set_by_flag_and_recorded_only_when_on():
    with pytest.raises(ConfigError, match="compile"):
        TrainConfig(compile="always")
    assert resolve_train_config("mcd", {}, {"compile": "step"}).compile == "step"
    assert resolve_train_config("mcd", {"compile": None}, {}).compile == "off"
    from mcd_core.models import variant_config as vc
    model_cfg = vc("mcd", n_answers=3, vocab_size=5, n_object_words=2, audio_dim=4, visual_dim=5)
    # off (the default) is left out of config.json: runs finished before the field existed stay finished
    assert "compile" not in run_config(model_cfg, TrainConfig(), {})["train"]
    assert run_config(model_cfg, TrainConfig(compile="step"), {})["train"]["compile"] == "step"
    assert step_forward("off", CPU) is forward_loss


def _two_steps(cfg, batches, forward):
    torch.manual_seed(0)
    model = build_model(cfg)
    opt = build_optimizer(model, TrainConfig(), CPU)
    losses = []
    for batch in batches:
        parts, _ = train_step(model, batch, opt, CPU, "fp32", forward=forward)
        losses.append({k: float(v.detach()) for k, v in parts.items()})
    return losses


@pytest.mark.slow  # inductor builds C++ kernels: ~40-70 s on the 2-core machine
def test_a_compiled_step_gives_the_losses_of_the_plain_step(task):
    problem = compile_problem(CPU)
    if problem is not None:
        pytest.skip(problem)
    dataset, cfg = task
    batches = list(ResidentBatches(dataset).batches(8, shuffle=False))[:2]
    plain = _two_steps(cfg, batches, forward_loss)
    torch._dynamo.reset()
    began = time.perf_counter()
    compiled = _two_steps(cfg, batches, step_forward("step", CPU))
    print(f"compiled 2 steps in {time.perf_counter() - began:.1f} s")
    assert len(compiled) == 2 and compiled[0].keys() == plain[0].keys()
    for p, c in zip(plain, compiled):
        for name in p:
            assert c[name] == pytest.approx(p[name], rel=1e-4, abs=1e-5), name


def test_predictions_do_not_depend_on_the_eval_batch_size(task):
    dataset, cfg = task
    torch.manual_seed(1)
    model = build_model(cfg)
    resident = ResidentBatches(dataset)
    small = predict_indices(model, resident, 2, CPU)
    assert len(small) == len(dataset)
    assert predict_indices(model, resident, 64, CPU) == small
    assert predict_indices(model, dataset, 64, CPU) == small    # through the DataLoader too
    assert predict_indices(model, dataset, 3, CPU) == small


CLAIM = ("import sys, time; from mcd_core.common.gpus import claim_gpu; "
         "print(claim_gpu(wait_s=float(sys.argv[1]), poll_s=0.05, share=int(sys.argv[3])), flush=True); "
         "time.sleep(float(sys.argv[2]))")


def _start(env, share, wait=30.0, hold=3.0):
    return subprocess.Popen([sys.executable, "-c", CLAIM, str(wait), str(hold), str(share)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sharing_jobs_fill_one_gpu_and_a_whole_gpu_job_waits_for_them(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update({"MCD_GPU_LOCK_DIR": str(tmp_path), "MCD_GPU_COUNT": "2"})
    first, second = _start(env, 2), _start(env, 2)
    assert [first.stdout.readline().strip(), second.stdout.readline().strip()] == ["0", "0"]
    third = _start(env, 2, hold=0)
    assert third.stdout.readline().strip() == "1"   # GPU 0's two slots are taken
    third.wait(timeout=30)
    whole = _start(env, 1, hold=0)
    assert whole.stdout.readline().strip() == "1"   # GPU 0 is shared: the whole-GPU job takes GPU 1
    whole.wait(timeout=30)
    env["MCD_GPU_COUNT"] = "1"
    waiter = _start(env, 1, wait=0.3, hold=0)       # one GPU, shared by two: a whole-GPU job waits
    waiter.wait(timeout=30)
    assert waiter.returncode != 0 and "no free GPU among 1" in waiter.stderr.read()
    for p in (first, second):
        p.wait(timeout=30)
    after = _start(env, 1, hold=0)
    assert after.stdout.readline().strip() == "0"
    after.wait(timeout=30)
