import itertools

import pytest

from benchmarks.gpt import PRESETS, GptTask
from benchmarks.script_task import ProposalRejected
from engine.executors import run_trial
from interfaces import ConfigError, ParamKind, TrialStatus

from .conftest import TINY


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_proposable_batch_pair_splits_into_whole_micro_batches(cache, preset):
    space = GptTask(preset).space()
    seq = space["SEQ_LEN"].default
    total, device = space["TOTAL_BATCH_SIZE"], space["DEVICE_BATCH_SIZE"]
    assert total.kind is device.kind is ParamKind.CHOICE
    assert total.default in total.choices and len(total.choices) > 3
    for tokens, sequences in itertools.product(total.choices, device.choices):
        micro = min(sequences, tokens // seq)   # what train.py computes
        assert micro >= 1 and tokens % (micro * seq) == 0, (tokens, sequences)


def test_a_batch_that_does_not_split_is_rejected_before_it_runs(cache):
    task = GptTask()
    for bad in ({"TOTAL_BATCH_SIZE": 3000}, {"TOTAL_BATCH_SIZE": 3 * 128}, {"DEVICE_BATCH_SIZE": 3}):
        with pytest.raises(ProposalRejected):
            task.build_trial(1, {**task.space().defaults(), **bad})
    with pytest.raises(ConfigError) as info:
        GptTask(extra={"TOTAL_BATCH_SIZE": 3 * 128})
    assert info.value.code == "bad-gpt-setting"


def test_the_cpu_space_stays_within_what_trains_in_its_budget(cache):
    space = GptTask().space()
    widest = space["DEPTH"].high * space["ASPECT_RATIO"].high
    assert widest <= 1024 and space["DEPTH"].high <= 2 * space["DEPTH"].default


def test_a_width_that_is_not_whole_heads_is_rounded_up_and_trains(cache, tmp_path):
    task = GptTask(max_steps=2, extra={**TINY, "DEPTH": 3, "ASPECT_RATIO": 5})   # 15 wide, heads of 16
    outcome = run_trial(task.build_trial(0, task.space().defaults()), tmp_path / "t0")
    assert outcome.status is TrialStatus.OK, outcome.log_tail
    assert "width: 16 heads: 1" in outcome.log_tail
