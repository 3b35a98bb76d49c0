"""multiscale_bandit and orthogonal_exploration: advice that follows the evidence."""

from __future__ import annotations

import re

from interfaces import SearchConfig

from .helpers import TraceBuilder, build
from .spaces import MIXED, MIXED_ALL

LR_WD = SearchConfig(active=("LR", "WD"), max_changes=1, min_active=1)


def arm(advice):
    """(parameter, scale) named by a bandit advice."""
    found = re.search(r"change (\w+) next and (?:make a (\w+) step|switch)", advice)
    assert found, advice
    return found.group(1), found.group(2) or "switch"


def pull_every_arm_once(trace):
    """One failed trial per (parameter, scale) arm of LR and WD."""
    for changes in ({"LR": 1.1e-3}, {"LR": 4e-3}, {"LR": 4e-2}, {"WD": 0.11}, {"WD": 0.2}, {"WD": 0.45}):
        trace.run(changes, 3.5)


def test_bandit_advises_untried_arms_first():
    bandit = build("multiscale_bandit", seed=3)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    trace.run({"LR": 1.1e-3}, 3.5)
    named = {arm(bandit.advise(trace.view(), MIXED, LR_WD)) for _ in range(30)}
    assert ("LR", "small") not in named and len(named) == 5
    assert "it is untried" in bandit.advise(trace.view(), MIXED, LR_WD)


def test_bandit_follows_credit_then_moves_on_when_it_dries_up():
    bandit = build("multiscale_bandit", seed=3)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    pull_every_arm_once(trace)
    lr, metric = 1e-3, 3.0
    for _ in range(6):  # small multiplicative LR steps keep paying
        lr, metric = lr * 1.1, metric - 0.05
        trace.run({"LR": lr}, metric)
    early = bandit.advise(trace.view(), MIXED, LR_WD)
    assert arm(early) == ("LR", "small")
    assert "improved 6 of 7 times" in early
    assert "multiply or divide by about" in early  # LR is log-scale: the step is a factor

    for _ in range(15):  # then the same small LR steps stop paying
        trace.run({"LR": lr * 1.1}, metric + 0.01)
    late = bandit.advise(trace.view(), MIXED, LR_WD)
    assert arm(late) != ("LR", "small")


def test_bandit_credits_large_steps_separately_from_small_ones():
    bandit = build("multiscale_bandit", seed=0)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    pull_every_arm_once(trace)
    metric = 3.0
    for wd in (0.45, 0.0, 0.45, 0.0, 0.45):  # large WD jumps (90% of the range) improve
        metric -= 0.1
        trace.run({"WD": wd}, metric)
    for _ in range(5):
        trace.run({"WD": 0.44}, 3.9)  # small WD steps fail
    advice = bandit.advise(trace.view(), MIXED, SearchConfig(active=("WD",), min_active=1))
    assert arm(advice) == ("WD", "large")
    assert "about 0.225 up or down" in advice  # linear: a fraction of the 0.5-wide range


def test_bandit_names_only_active_parameters_and_passes_without_any():
    bandit = build("multiscale_bandit", seed=1)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    for _ in range(5):
        advice = bandit.advise(trace.view(), MIXED, SearchConfig(active=("OPT",), min_active=1))
        assert arm(advice) == ("OPT", "switch")
    assert bandit.advise(trace.view(), MIXED, SearchConfig(active=(), min_active=0)) == ""


def rut():
    """Five trials that only ever increased LR, plus one switch of OPT to sgd."""
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    lr, metric = 1e-3, 3.0
    for _ in range(5):
        lr, metric = lr * 1.5, metric - 0.01
        trace.run({"LR": lr}, metric)
    trace.run({"OPT": "sgd"}, 3.5)
    return trace


def test_orthogonal_names_untouched_parameters_and_the_opposite_direction():
    advice = build("orthogonal_exploration").advise(rut().view(), MIXED, MIXED_ALL)
    assert advice.startswith("Recent trials mostly changed LR, OPT.")
    assert "try WD (untouched in the last 10 trials)" in advice
    assert "try DEPTH" in advice and "try FLAG" in advice
    assert len(advice) < 500


def test_orthogonal_suggests_reversing_a_one_way_rut_and_untried_choices():
    only = SearchConfig(active=("LR", "OPT"), min_active=1)
    advice = build("orthogonal_exploration").advise(rut().view(), MIXED, only)
    assert "decrease LR (it was only increased lately)" in advice
    assert "set OPT to 'lion' (never tried)" in advice  # adam was the value before, sgd was tried
    assert "WD" not in advice and "DEPTH" not in advice  # not active


def test_orthogonal_window_forgets_old_activity():
    trace = rut()
    for depth in (3, 4, 5, 7, 8, 9, 10, 11, 3, 4):  # ten newer trials: the LR rut is out of the window
        trace.run({"DEPTH": depth}, 3.5)
    advice = build("orthogonal_exploration").advise(trace.view(), MIXED, MIXED_ALL)
    assert "Recent trials mostly changed DEPTH." in advice
    # Untouched lately, least changed overall first; three suggestions at most, so LR is left out.
    assert advice.index("try WD") < advice.index("try FLAG") < advice.index("try OPT")
    assert "try LR" not in advice


def test_orthogonal_passes_without_active_parameters():
    assert build("orthogonal_exploration").advise(rut().view(), MIXED, SearchConfig(active=(), min_active=0)) == ""
