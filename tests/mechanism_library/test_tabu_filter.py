"""tabu_filter: vetoes exact repeats and near-duplicates of recent trials, passes real moves."""

from __future__ import annotations

from interfaces import Proposal

from .helpers import TraceBuilder, build
from .spaces import MIXED


def history():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    trace.run({"LR": 2e-3}, 2.9)  # kept
    trace.run({"WD": 0.3}, 3.1)  # discarded: WD=0.3 region is recent
    return trace


def check(trace, **changes):
    return build("tabu_filter").check(Proposal(changes), trace.view(), MIXED)


def test_exact_repeat_of_a_discarded_trial_is_vetoed_with_its_index():
    reason = check(history(), WD=0.3)
    assert reason is not None and "trial 2" in reason and "already ran" in reason


def test_returning_to_the_baseline_configuration_is_an_exact_repeat():
    reason = check(history(), LR=1e-3)
    assert reason is not None and "trial 0" in reason


def test_near_duplicate_of_a_recent_trial_is_vetoed():
    reason = check(history(), WD=0.305)  # 1% of WD's range from trial 2
    assert reason is not None and "Too close to recent trial 2" in reason
    reason = check(history(), LR=2e-3 * 1.01)  # 1% multiplicative: nothing in log coordinates
    assert reason is not None and "trial 1" in reason


def test_real_moves_pass():
    assert check(history(), WD=0.4) is None
    assert check(history(), LR=4e-3) is None
    assert check(history(), DEPTH=7) is None  # one integer step of ten is 10% of the range
    assert check(history(), OPT="sgd") is None  # choices are exact: any switch is a full step
    assert check(history(), FLAG=True) is None


def test_log_scale_parameters_are_compared_in_log_coordinates():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    trace.run({"LR": 1e-4}, 2.9)
    # +50% is 0.05% of the linear range but 6% of the log range: a real move.
    assert check(trace, LR=1.5e-4) is None
    assert check(trace, LR=1.02e-4) is not None


def test_regions_older_than_the_tenure_may_be_revisited_but_exact_repeats_never():
    trace = history()
    for depth in (3, 4, 5, 7, 8, 9, 10, 11):  # eight newer trials push trial 2 out of the tenure
        trace.run({"DEPTH": depth}, 3.5)
    assert check(trace, WD=0.305) is None
    assert check(trace, WD=0.3) is not None


def test_rejected_proposals_do_not_make_a_region_tabu():
    trace = history()
    trace.reject({"WD": 0.45})
    assert check(trace, WD=0.452) is None


def test_empty_trace_passes_any_proposal():
    trace = TraceBuilder(MIXED)
    assert check(trace, WD=0.2) is None
