"""COMPILE compiles before the training timer and trains exactly what the eager run trains."""

import re
from dataclasses import replace

import pytest

from benchmarks.gpt import COMPILE_GRACE_S, GptTask
from benchmarks.script_task import find_assignments
from engine.executors import run_trial
from interfaces import TrialStatus

from .conftest import TINY


def test_the_compile_option_sets_compile_and_allows_its_time_beyond_the_budget(cache):
    eager, compiled = GptTask(budget_s=30, compile=False), GptTask(budget_s=30, compile=True)
    requests = [task.build_trial(0, task.space().defaults()) for task in (eager, compiled)]
    literals = [{a.name: a.value for a in find_assignments(r.files["train.py"])} for r in requests]
    assert literals[0]["COMPILE"] is False and literals[1]["COMPILE"] is True
    assert requests[0].budget_s == requests[1].budget_s == 30
    assert requests[1].time_limit_s == requests[0].time_limit_s + COMPILE_GRACE_S
    # the preset decides when the option is not given: the gpu preset compiles
    assert GptTask("gpu").build_trial(0, GptTask("gpu").space().defaults()).time_limit_s == 300 + 120 + COMPILE_GRACE_S


@pytest.mark.slow
def test_a_compiled_run_trains_what_the_eager_run_trains_and_its_compile_time_is_not_training(cache, tmp_path):
    outcomes = {}
    for compile in (False, True):
        task = GptTask(max_steps=1, compile=compile, extra=TINY)
        request = task.build_trial(0, task.space().defaults())
        # torch logs each recompilation and the guard that failed on stderr
        request = replace(request, env={**request.env, "TORCH_LOGS": "recompiles"})
        outcome = run_trial(request, tmp_path / str(compile))
        assert outcome.status is TrialStatus.OK, outcome.log_tail
        outcomes[compile] = outcome
    eager, compiled = outcomes[False], outcomes[True]
    assert eager.metrics["compile_seconds"] == 0.0 and compiled.metrics["compile_seconds"] > 0.0
    assert re.search(r"compiled in [0-9.]+ s \(before the timer\)", compiled.log_tail)
    # the compile (seconds even for this model, a warm cache included) is not in the step's training time
    assert compiled.metrics["training_seconds"] < compiled.metrics["compile_seconds"]
    # and training compiles nothing again: the warm-up's inputs have the layout of the real batches (a
    # stride of SEQ_LEN + 1), so the one recompilation is the evaluation's, under no_grad, after the timer
    stderr = "".join(path.read_text() for path in (tmp_path / "True").rglob("*stderr*"))
    failures = re.findall(r"- \d+/\d+: (.*)", stderr)
    assert "Recompiling" in stderr and failures and all("grad_mode" in f for f in failures), failures
    # The first step's loss is the untrained model's on the first batch: the fused kernels round it
    # differently by about 1e-6, a warm-up that drew a batch moves it by about 4e-4 (and one that took
    # an optimizer step by far more). Later steps are no test: Muon's orthogonalisation grows the
    # rounding difference to about 1e-3 in val_bpb after one step.
    assert compiled.metrics["final_train_loss"] == pytest.approx(eager.metrics["final_train_loss"], abs=2e-5)
