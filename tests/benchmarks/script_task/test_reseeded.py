"""A reseeded script task: the same configuration under another seed, for the noise floor only."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.script_task import ProposalRejected, script_task
from interfaces import ConfigError

DIGITS = Path(__file__).parents[3] / "examples" / "digits" / "train.py"


def test_a_reseeded_copy_renders_the_new_seed_and_the_original_keeps_it_locked():
    task = script_task(DIGITS, metric="val_loss")
    copy = task.reseeded({"SEED": 11})  # beyond the locked spec's bounds, still rendered
    assert "SEED = 11" in copy.render(copy.space().defaults()).splitlines()
    assert copy.space()["SEED"].locked and copy.space()["LEARNING_RATE"] == task.space()["LEARNING_RATE"]
    assert task.space()["SEED"].default == 0 and "SEED = 0" in task.render(task.space().defaults()).splitlines()
    with pytest.raises(ProposalRejected) as caught:
        task.render({"SEED": 11})
    assert "locked-parameter" in str(caught.value)


def test_reseeding_a_parameter_the_script_does_not_have_is_refused():
    with pytest.raises(ConfigError) as caught:
        script_task(DIGITS, metric="val_loss").reseeded({"NOT_A_SEED": 1})
    assert caught.value.code == "unknown-parameter"


def test_a_seed_is_known_by_the_rule_that_locks_it_dict_keys_included():
    from benchmarks.script_task import NAME_RULES, SEED_PATTERN, is_seed, name_rule

    assert NAME_RULES[0][0] == SEED_PATTERN and name_rule("SEED") is NAME_RULES[0][1]
    assert all(is_seed(n) for n in ("SEED", "DATA_SEED", "SEED_SPLIT", "RANDOM_STATE", "params.random_state"))
    assert not any(is_seed(n) for n in ("SEEDLING", "N_ESTIMATORS", "RANDOM_STATES", "params.learning_rate"))
