"""The proposal sources: latin_hypercube, gp_expected_improvement, plateau_escape."""

from __future__ import annotations

import math

from interfaces import Decision, SearchConfig

from .helpers import TraceBuilder, build
from .spaces import MIXED, PLANE, PLANE_ALL


def drain(source, trace, space, config, calls=20):
    return [source.propose(trace.view(), space, config) for _ in range(calls)]


# ---- latin_hypercube -------------------------------------------------------


def test_lhs_is_stratified_in_a_window_around_the_incumbent_then_passes():
    trace = TraceBuilder(PLANE)
    trace.baseline(2.0)  # incumbent at X=0.2, Y=0.8
    answers = drain(build("latin_hypercube", seed=5), trace, PLANE, PLANE_ALL, calls=10)
    points, rest = answers[:6], answers[6:]
    assert rest == [None] * 4
    assert all(set(p) == {"X", "Y"} for p in points)
    # Windows are +-0.25 around the incumbent, clipped to the range: X in [0, 0.45], Y in [0.55, 1].
    for name, low, high in (("X", 0.0, 0.45), ("Y", 0.55, 1.0)):
        values = [p[name] for p in points]
        assert all(low <= v <= high for v in values)
        strata = sorted(int((v - low) / (high - low) * 6) for v in values)
        assert strata == [0, 1, 2, 3, 4, 5]  # one point in each sixth of the window


def test_lhs_uses_log_coordinates_and_stratifies_choices():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    config = SearchConfig(active=("LR", "OPT"), max_changes=2, min_active=1)
    points = [p for p in drain(build("latin_hypercube", seed=2), trace, MIXED, config) if p]
    lrs = [p["LR"] for p in points if "LR" in p]
    assert len(lrs) == 6
    # LR=1e-3 sits at 1/3 of the log range [1e-4, 1e-1]; the window is 1/3 +- 1/4 of it.
    units = [(math.log10(v) + 4) / 3 for v in lrs]
    low, high = 1 / 3 - 0.25, 1 / 3 + 0.25
    assert sorted(int((u - low) / (high - low) * 6) for u in units) == [0, 1, 2, 3, 4, 5]
    # Six strata over three choices: two points each; the two at the incumbent's 'adam' change nothing.
    opts = [p.get("OPT") for p in points]
    assert opts.count("sgd") == 2 and opts.count("lion") == 2 and "adam" not in opts


def test_lhs_spends_its_design_on_the_least_explored_active_parameters():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    for wd in (0.2, 0.3, 0.4):
        trace.run({"WD": wd}, 3.5)
    config = SearchConfig(active=("WD", "DEPTH", "SEQ"), max_changes=1, min_active=1)
    points = [p for p in drain(build("latin_hypercube", seed=0), trace, MIXED, config) if p]
    assert points and all(set(p) == {"DEPTH"} for p in points)  # SEQ is locked, WD well explored
    assert all(isinstance(p["DEPTH"], int) and 2 <= p["DEPTH"] <= 12 for p in points)


def test_lhs_drops_parameters_frozen_after_the_design_was_laid_out():
    trace = TraceBuilder(PLANE)
    trace.baseline(2.0)
    source = build("latin_hypercube", seed=1)
    assert set(source.propose(trace.view(), PLANE, PLANE_ALL)) == {"X", "Y"}
    narrowed = SearchConfig(active=("X",), frozen=("Y",), max_changes=2, min_active=1)
    assert all(set(p) == {"X"} for p in drain(source, trace, PLANE, narrowed, calls=5))


# ---- gp_expected_improvement ----------------------------------------------


def bowl(x, y):
    """A quadratic with its minimum 1.0 at (0.7, 0.3)."""
    return 1.0 + (x - 0.7) ** 2 + (y - 0.3) ** 2


def optimise(source, trace, iterations, sign=1.0):
    for _ in range(iterations):
        changes = source.propose(trace.view(), PLANE, PLANE_ALL)
        assert changes, "the GP should propose once it has data"
        point = dict(trace.config, **changes)
        trace.run(changes, sign * bowl(point["X"], point["Y"]))
    return trace.incumbent


def seeded_plane(minimize=True):
    trace = TraceBuilder(PLANE, minimize=minimize)
    sign = 1.0 if minimize else -1.0
    trace.baseline(sign * bowl(0.2, 0.8))
    for x, y in ((0.35, 0.7), (0.1, 0.6), (0.3, 0.95)):
        trace.run({"X": x, "Y": y}, sign * bowl(x, y), Decision.DISCARD)
    return trace


def test_gp_passes_until_it_has_enough_finished_trials():
    trace = TraceBuilder(PLANE)
    source = build("gp_expected_improvement", seed=0)
    assert source.propose(trace.view(), PLANE, PLANE_ALL) is None
    trace.baseline(bowl(0.2, 0.8))
    trace.run({"X": 0.3}, None)  # a crash is not data
    trace.run({"X": 0.4}, bowl(0.4, 0.8))
    assert source.propose(trace.view(), PLANE, PLANE_ALL) is None
    trace.run({"X": 0.5}, bowl(0.5, 0.8))
    assert source.propose(trace.view(), PLANE, PLANE_ALL) is None  # three points: still a guess
    trace.run({"X": 0.6}, bowl(0.6, 0.8))
    assert source.propose(trace.view(), PLANE, PLANE_ALL) is not None


def test_gp_walks_to_the_optimum_of_a_quadratic():
    trace = seeded_plane()
    best = optimise(build("gp_expected_improvement", seed=4), trace, iterations=15)
    assert math.dist((best.config["X"], best.config["Y"]), (0.7, 0.3)) < 0.1
    assert best.metric < bowl(0.2, 0.8) - 0.45  # from 1.5 to under 1.05


def test_gp_maximises_when_higher_is_better():
    trace = seeded_plane(minimize=False)
    best = optimise(build("gp_expected_improvement", seed=4), trace, iterations=15, sign=-1.0)
    assert math.dist((best.config["X"], best.config["Y"]), (0.7, 0.3)) < 0.1


def test_gp_passes_without_numeric_active_parameters():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    for opt, metric in (("sgd", 3.1), ("lion", 2.9), ("adam", 3.0), ("sgd", 3.2)):
        trace.run({"OPT": opt}, metric)
    config = SearchConfig(active=("OPT", "FLAG"), min_active=1)
    assert build("gp_expected_improvement").propose(trace.view(), MIXED, config) is None


# ---- plateau_escape ---------------------------------------------------------


def test_plateau_escape_fires_only_after_a_discard_streak_and_then_waits():
    source = build("plateau_escape", seed=0)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    config = SearchConfig(active=("LR", "WD", "OPT"), max_changes=3)
    for step in range(4):
        trace.run({"WD": 0.11 + step / 100}, 3.5)
        assert source.propose(trace.view(), MIXED, config) is None
    trace.run({"WD": 0.2}, 3.5)  # the fifth discard in a row
    escape = source.propose(trace.view(), MIXED, config)
    assert escape is not None and set(escape) == {"LR", "WD"}  # two numeric parameters preferred
    factor = escape["LR"] / 1e-3
    assert 2.0 <= factor <= 4.0 or 0.25 <= factor <= 0.5  # a multiplicative jump on a log parameter
    assert abs(escape["WD"] - 0.1) >= 0.15 or escape["WD"] in (0.0, 0.5)  # >= 30% of the range
    assert MIXED.validate(escape, current=trace.config) == ()

    for _ in range(4):  # plateau goes on: quiet for the next four trials
        trace.run({"WD": 0.3}, 3.5)
        assert source.propose(trace.view(), MIXED, config) is None
    trace.run({"WD": 0.31}, 3.5)
    assert source.propose(trace.view(), MIXED, config) is not None


def test_plateau_escape_resets_after_a_keep():
    source = build("plateau_escape", seed=0)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    for _ in range(4):
        trace.run({"WD": 0.3}, 3.5)
    trace.run({"WD": 0.25}, 2.5)  # kept: no plateau
    assert source.propose(trace.view(), MIXED, SearchConfig(active=("LR", "WD"))) is None


def test_plateau_escape_switches_choices_when_nothing_numeric_is_active():
    source = build("plateau_escape", seed=0)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    for _ in range(5):
        trace.run({"FLAG": True}, 3.5)
    escape = source.propose(trace.view(), MIXED, SearchConfig(active=("OPT", "FLAG"), max_changes=1, min_active=1))
    assert escape is not None and len(escape) == 1
    assert escape in ({"OPT": "sgd"}, {"OPT": "lion"}, {"FLAG": True})
