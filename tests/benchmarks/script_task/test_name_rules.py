"""Generic bounds narrowed by what a parameter's name says (NAME_RULES)."""

import math
import re

import pytest
from hypothesis import given, strategies as st

from benchmarks.script_task import NAME_RULES, default_spec, discover_space, name_rule
from interfaces import ParamKind


def bounds(name, value):
    spec = default_spec(name, value)
    return spec.low, spec.high


@pytest.mark.parametrize("name", ["MIN_SAMPLES_SPLIT", "params.min_samples_split", "NUM_LEAVES", "max_leaf_nodes"])
def test_counts_that_need_two_start_at_two(name):
    assert bounds(name, 2) == (2, 16)
    assert bounds(name, 10) == (2, 80)


def test_a_floor_does_not_apply_when_the_default_is_below_it():
    # sklearn also takes min_samples_split as a fraction of the samples: 0.1 means that, not 0.1 samples
    low, high = bounds("min_samples_split", 0.1)
    assert low == pytest.approx(0.01) and high == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["N_ESTIMATORS", "params.n_estimators", "MAX_EPOCHS", "epochs", "MAX_ITER",
                                  "num_boost_round", "ITERATIONS", "TRAIN_STEPS"])
def test_iteration_counts_get_a_narrower_range(name):
    assert bounds(name, 500) == (125, 1000)
    assert bounds(name, 1) == (1, 2)
    assert bounds("DEPTH", 500) == (62, 4000)  # the generic range, for contrast


@pytest.mark.parametrize("name", ["SUBSAMPLE", "DROPOUT", "attn_dropout", "FEATURE_FRACTION", "WARMUP_RATIO",
                                  "colsample_bytree", "MOMENTUM", "MASK_PROB", "TOP_P"])
def test_fractions_and_probabilities_stay_in_the_unit_interval(name):
    low, high = bounds(name, 0.8)
    assert low == pytest.approx(0.08) and high == 1.0
    assert bounds(name, 0.0) == (0.0, 1.0)
    assert bounds(name, 1.0) == (pytest.approx(0.1), 1.0)


def test_a_ratio_outside_the_unit_interval_is_not_a_fraction():
    assert bounds("MLP_RATIO", 4.0) == (pytest.approx(0.4), pytest.approx(40.0))
    assert default_spec("ASPECT_RATIO", 16).kind is ParamKind.INT and bounds("ASPECT_RATIO", 16) == (2, 128)


@pytest.mark.parametrize("name", ["SEED", "DATA_SEED", "RANDOM_SEED", "RANDOM_STATE", "params.random_state",
                                  "cfg.seed", "SEED_OFFSET", "TEST_SIZE", "validation_split", "N_JOBS",
                                  "params.verbose", "NUM_WORKERS"])
def test_seeds_evaluation_splits_and_run_settings_are_locked(name):
    for value in (0, 3, -1, 0.2, True):
        assert default_spec(name, value).locked, (name, value)


@pytest.mark.parametrize("name", ["LEARNING_RATE", "SEEDLING", "RANDOM_STATES", "PRESTEPS", "DEPTH", "PROBE"])
def test_names_that_only_contain_a_word_get_no_rule(name):
    # Whole underscore-separated words only; SEEDLING is not a seed and PRESTEPS not a step count.
    assert name_rule(name) is None
    assert not default_spec(name, 5).locked and bounds(name, 5) == (1, 40)


def test_the_first_matching_row_wins():
    # A seed count would match the iteration rule too; the seed row comes first and locks it.
    assert name_rule("STEPS_SEED").locked


def test_every_row_compiles_and_says_why():
    for pattern, rule in NAME_RULES:
        re.compile(pattern)
        assert rule.why


names = st.sampled_from(["N_ESTIMATORS", "MIN_SAMPLES_SPLIT", "SUBSAMPLE", "DROPOUT", "EPOCHS", "DEPTH",
                         "params.learning_rate", "cfg.min_samples_split", "WARMUP_RATIO"])
numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([5e-324, -5e-324, 1.7e308, -1.7e308]))


@given(names, numbers)
def test_the_default_always_lies_within_its_bounds(name, value):
    spec = default_spec(name, value)  # a ParamSpec checks its default on construction, so this raising fails
    assert spec.low <= value <= spec.high
    assert math.isfinite(spec.low) and math.isfinite(spec.high)
    rule = name_rule(name)
    if rule is not None and rule.unit and isinstance(value, float) and 0 <= value <= 1:
        assert 0 <= spec.low <= spec.high <= 1
    if rule is not None and rule.floor is not None and value >= rule.floor:
        assert spec.low >= rule.floor


def test_the_quad_script_gets_the_same_space_as_before():
    space = discover_space("LEARNING_RATE = 0.01\nBATCH_SIZE = 64\nWARMUP_RATIO = 0.1\n")
    assert bounds("LEARNING_RATE", 0.01) == (pytest.approx(0.001), pytest.approx(0.1))
    assert (space["BATCH_SIZE"].low, space["BATCH_SIZE"].high) == (8, 512)
    assert (space["WARMUP_RATIO"].low, space["WARMUP_RATIO"].high) == (pytest.approx(0.01), 1.0)
