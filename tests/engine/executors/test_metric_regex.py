"""A metric read with a regular expression, for output that has no `name: value` line."""

import math
import sys

import pytest
from hypothesis import given, strategies as st

from engine.executors import classify, match_metric, run_trial
from interfaces import ConfigError, TrialRequest, TrialStatus, metric_pattern

MSE = r"The mean squared error \(MSE\) on test set: (\S+)"


def test_one_group_or_a_group_named_value_holds_the_number():
    assert metric_pattern(MSE)[1] == 1
    assert metric_pattern(r"(epoch \d+) loss (?P<value>\S+)")[1] == "value"


@pytest.mark.parametrize("text, why", [
    ("loss: ([0-9.]+", "not a regular expression"),
    (r"loss: \d+", "no group"),
    (r"(\w+): (\S+)", "2 groups and none named 'value'"),
])
def test_a_pattern_without_one_clear_group_is_a_config_error(text, why):
    with pytest.raises(ConfigError) as info:
        metric_pattern(text)
    assert info.value.code == "bad-metric-regex" and why in info.value.message


def test_the_last_match_counts_and_wins_over_a_line_of_the_same_name():
    stdout = "loss: 9.0\nThe mean squared error (MSE) on test set: 3100.5\nThe mean squared error (MSE) on test set: 3010.2061\n"
    outcome = classify(0, stdout, "", metric="loss", metric_regex=MSE)
    assert outcome.status is TrialStatus.OK and outcome.metric == 3010.2061


def test_no_match_is_a_missing_metric_that_says_which_pattern():
    outcome = classify(0, "MSE was 3010\n", "", metric="mse", metric_regex=MSE)
    assert outcome.status is TrialStatus.MISSING_METRIC
    assert "no match for the metric pattern" in outcome.reason and "MSE" in outcome.reason


def test_a_captured_word_that_is_not_a_number_is_a_missing_metric():
    outcome = classify(0, "The mean squared error (MSE) on test set: high\n", "", metric="mse", metric_regex=MSE)
    assert outcome.status is TrialStatus.MISSING_METRIC and "'high', which is not a number" in outcome.reason


def test_nan_captured_is_a_divergence_and_a_crash_stays_a_crash():
    assert classify(0, "The mean squared error (MSE) on test set: nan\n", "", metric="mse",
                    metric_regex=MSE).status is TrialStatus.DIVERGED
    assert classify(1, "", "Traceback\nValueError: x", metric="mse", metric_regex=MSE).status is TrialStatus.CRASHED


def test_an_invalid_pattern_in_a_request_fails_the_trial_with_the_reason_not_the_executor():
    outcome = classify(0, "x: 1\n", "", metric="x", metric_regex="(")
    assert outcome.status is TrialStatus.MISSING_METRIC and "not a regular expression" in outcome.reason


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_printed_float_is_read_back(value):
    assert match_metric(f"The mean squared error (MSE) on test set: {value!r}\ndone\n", MSE) == (value, "")


def test_a_real_trial_reads_its_metric_with_the_pattern(tmp_path):
    code = "print('fitting...')\nprint('The mean squared error (MSE) on test set: 3010.2061')\n"
    request = TrialRequest(0, argv=(sys.executable, "main.py"), files={"main.py": code}, budget_s=20.0,
                           grace_s=0.0, metric="mse", metric_regex=MSE)
    outcome = run_trial(request, tmp_path)
    assert outcome.status is TrialStatus.OK and math.isclose(outcome.metric, 3010.2061)
    assert outcome.metrics["mse"] == outcome.metric
