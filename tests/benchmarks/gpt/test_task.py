import sys

import pytest

from benchmarks.gpt import PRESETS, GptTask
from benchmarks.script_task import ProposalRejected, find_assignments
from engine.executors import run_trial
from interfaces import ConfigError, Task, TrialStatus

from .conftest import TINY


def values(source):
    return {a.name: a.value for a in find_assignments(source)}


def test_gpt_task_space_and_trial(cache):
    task = GptTask(budget_s=30)
    assert isinstance(task, Task) and task.name == "gpt" and task.metric == "val_bpb" and task.minimize
    space = task.space()
    assert {"SEQ_LEN", "SEED", "TIME_BUDGET", "MAX_STEPS", "THREADS"} <= {p.name for p in space if p.locked}
    assert space["MATRIX_LR"].log and not space["MATRIX_LR"].locked
    request = task.build_trial(7, {**space.defaults(), "MATRIX_LR": 0.02})
    assert request.argv == (sys.executable, "train.py") and request.metric == "val_bpb"
    assert values(request.files["train.py"])["MATRIX_LR"] == 0.02
    assert values(request.files["train.py"])["TIME_BUDGET"] == 30.0
    assert request.budget_s == 30 and request.env["OMP_NUM_THREADS"] == "1"
    assert "GPT_DATA_DIR" in request.env


def test_gpu_preset_values(cache):
    text = GptTask("gpu").build_trial(0, GptTask("gpu").space().defaults()).files["train.py"]
    assert values(text)["TOTAL_BATCH_SIZE"] == PRESETS["gpu"]["TOTAL_BATCH_SIZE"]
    assert values(text)["TIME_BUDGET"] == 300.0


@pytest.mark.parametrize("hostile", ["0.04; import os", "__import__('os')", "0.04\nimport os"])
def test_hostile_proposals_never_become_code(cache, hostile):
    task = GptTask()
    with pytest.raises(ProposalRejected) as info:
        task.build_trial(1, {**task.space().defaults(), "MATRIX_LR": hostile})
    assert "MATRIX_LR must be a float" in str(info.value)
    with pytest.raises(ProposalRejected):
        task.build_trial(1, {**task.space().defaults(), "WINDOW_PATTERN": "L'; import os; '"})


def test_bad_settings_are_config_errors(cache):
    with pytest.raises(ConfigError) as info:
        GptTask("tpu")
    assert info.value.code == "unknown-preset"
    with pytest.raises(ConfigError) as info:
        GptTask(max_steps=-1)
    assert info.value.code == "bad-gpt-setting"


def test_a_real_short_training_end_to_end(cache, tmp_path):
    task = GptTask(max_steps=4, extra=TINY)
    outcome = run_trial(task.build_trial(0, task.space().defaults()), tmp_path / "t0")
    assert outcome.status is TrialStatus.OK, outcome.log_tail
    for key in ("val_bpb", "training_seconds", "total_seconds", "num_steps", "total_tokens",
                "tokens_per_second", "peak_memory_mb", "num_params"):
        assert key in outcome.metrics
    assert outcome.metrics["num_steps"] == 4 and outcome.metrics["total_tokens"] == 4 * 512
    # the throughput the engine compares against the baseline's is one of the lines train.py prints
    assert task.throughput_metric in outcome.metrics and outcome.metrics[task.throughput_metric] > 0
    # and the steps each trial records (report column, Optuna attribute) are train.py's count of them
    assert outcome.metrics[task.steps_metric] == 4
    assert task.fixed_work and not GptTask(extra=TINY).fixed_work
    # four steps from a uniform start: better than nothing, far from good
    assert 3.0 < outcome.metric < 8.5
