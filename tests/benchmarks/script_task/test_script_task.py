import sys

import pytest

from benchmarks.script_task import ProposalRejected, ScriptTask, find_assignments
from interfaces import ParamKind, ParamSpec, SpaceError, Task

SOURCE = "LR = 0.01\nSTEPS = 10\nSEED = 1\nprint('val_bpb:', LR * STEPS)\n"


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SOURCE)
    return path


def test_script_task_is_a_task_whose_trial_carries_the_edited_script(script):
    task = ScriptTask(script, locked=("SEED",), overrides=[
        ParamSpec("LR", ParamKind.FLOAT, 0.02, low=1e-4, high=1.0, log=True)])
    assert isinstance(task, Task)
    assert task.space().defaults() == {"LR": 0.02, "STEPS": 10, "SEED": 1}
    request = task.build_trial(3, {"LR": 0.05, "STEPS": 20, "SEED": 1})
    assert request.index == 3 and request.argv == (sys.executable, "train.py")
    assert request.metric == "val_bpb" and request.minimize
    edited = {a.name: a.value for a in find_assignments(request.files["train.py"])}
    assert edited == {"LR": 0.05, "STEPS": 20, "SEED": 1}
    assert script.read_text() == SOURCE


def test_baseline_uses_the_space_defaults_even_where_they_differ_from_the_file(script):
    task = ScriptTask(script, overrides=[ParamSpec("STEPS", ParamKind.INT, 5, low=1, high=100)])
    text = task.build_trial(0, task.space().defaults()).files["train.py"]
    assert "STEPS = 5\n" in text and "LR = 0.01\n" in text


def test_locked_and_invalid_values_are_rejected(script):
    task = ScriptTask(script, locked=("SEED",))
    with pytest.raises(ProposalRejected) as info:
        task.build_trial(1, {"SEED": 2, "LR": "0.1; import os", "OTHER": 1})
    assert {v.code for v in info.value.violations} == {"locked-parameter", "wrong-type", "unknown-parameter"}


def test_overrides_must_name_hyperparameters_of_the_script(script):
    with pytest.raises(SpaceError) as info:
        ScriptTask(script, locked=("MISSING",))
    assert info.value.code == "unknown-parameter"


def test_only_restricts_the_space(script):
    task = ScriptTask(script, only=("STEPS",))
    assert task.space().names == ("STEPS",)
    assert "LR = 0.01\n" in task.build_trial(0, {"STEPS": 11}).files["train.py"]


def test_discovered_seeds_are_locked_and_a_zero_count_stays_non_negative() -> None:
    from benchmarks.script_task._discover import discover_space

    space = discover_space("SEED = 0\nDATA_SEED = 3\nRANDOM_STATE = 1\nWARMUP = 0\nOFFSET = -2\n")
    assert [space[n].locked for n in ("SEED", "DATA_SEED", "RANDOM_STATE", "WARMUP", "OFFSET")] == \
        [True, True, True, False, False]
    assert (space["WARMUP"].low, space["WARMUP"].high) == (0, 8)
    assert space["OFFSET"].low < -2 < space["OFFSET"].high
    assert "SEED" not in space.searchable() and "WARMUP" in space.searchable()
