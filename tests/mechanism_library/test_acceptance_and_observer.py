"""noise_aware_acceptance, annealing_acceptance and parameter_sensitivity."""

from __future__ import annotations

import pytest

from interfaces import Decision, Trial, TrialStatus

from .helpers import TraceBuilder, build, load
from .spaces import MIXED


def candidate(metric, index=99, changes=None):
    changes = changes or {"WD": 0.2}
    return Trial(index, dict(MIXED.defaults(), **changes), changes, TrialStatus.OK, metric, Decision.DISCARD)


# ---- noise_aware_acceptance -------------------------------------------------


def noisy_trace(minimize=True):
    """The baseline configuration measured three times: 3.00, 3.02, 2.98 (sd 0.02)."""
    trace = TraceBuilder(MIXED, minimize=minimize)
    trace.baseline(3.00)
    trace.add({}, 3.02, Decision.DISCARD)
    trace.add({}, 2.98, Decision.DISCARD)
    return trace


def test_noise_is_the_pooled_sd_of_repeated_configurations():
    rule = build("noise_aware_acceptance")
    assert rule.noise(noisy_trace().view()) == pytest.approx(0.02)
    trace = noisy_trace()
    trace.run({"WD": 0.3}, 2.5)  # kept: a new configuration
    trace.add({}, 2.56, Decision.DISCARD)  # measured twice: 2.50, 2.56 (sd 0.0424)
    pooled = ((0.02**2 + 0.02**2) + (0.03**2 + 0.03**2)) / (2 + 1)
    assert rule.noise(trace.view()) == pytest.approx(pooled**0.5)


def test_sub_noise_gains_are_rejected_and_large_ones_kept():
    rule = build("noise_aware_acceptance")
    view = noisy_trace().view()
    incumbent = view.incumbent()
    assert rule.decide(candidate(2.97), incumbent, view) is False  # 0.03 < 2 x 0.02
    assert rule.decide(candidate(2.95), incumbent, view) is True  # 0.05 > 0.04
    assert rule.decide(candidate(3.10), incumbent, view) is False  # worse


def test_without_repeats_the_default_noise_applies():
    module = load("noise_aware_acceptance")
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    view = trace.view()
    assert module.build(0).noise(view) == module.DEFAULT_NOISE
    assert module.build(0).decide(candidate(2.997), view.incumbent(), view) is False  # 0.003 < 0.004
    assert module.build(0).decide(candidate(2.995), view.incumbent(), view) is True
    wide = module.NoiseAwareAcceptance(k=2.0, default_noise=0.01)
    assert wide.decide(candidate(2.995), view.incumbent(), view) is False


def test_noise_rule_respects_maximisation_and_a_missing_incumbent():
    rule = build("noise_aware_acceptance")
    view = noisy_trace(minimize=False).view()
    assert rule.decide(candidate(3.05), view.incumbent(), view) is True
    assert rule.decide(candidate(2.90), view.incumbent(), view) is False
    assert rule.decide(candidate(9.0), None, TraceBuilder(MIXED).view()) is True


# ---- annealing_acceptance ---------------------------------------------------


def test_annealing_always_keeps_improvements():
    rule = build("annealing_acceptance", seed=0)
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    view = trace.view()
    assert all(rule.decide(candidate(2.9), view.incumbent(), view) for _ in range(200))


def test_annealing_keeps_more_worse_trials_early_than_late():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    view = trace.view()
    early = late = 0
    for seed in range(200):
        rule = build("annealing_acceptance", seed=seed)
        # 0.5% worse: kept with probability exp(-0.5) = 0.61 at first, ~0 after 40 decisions.
        verdicts = [rule.decide(candidate(3.015), view.incumbent(), view) for _ in range(40)]
        early += sum(verdicts[:5])
        late += sum(verdicts[-5:])
    assert early > 400  # of 1000: expected about 520
    assert late < 50  # expected under 1
    # Much worse trials are rarely kept even at the start.
    first = [build("annealing_acceptance", seed=s).decide(candidate(3.3), view.incumbent(), view)
             for s in range(200)]
    assert sum(first) < 5  # exp(-10) per draw


def test_annealing_replays_identically_for_a_seed():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    view = trace.view()
    metrics = [3.0 + 0.001 * (i % 7) for i in range(60)]
    runs = [[build("annealing_acceptance", seed=11).decide(candidate(m), view.incumbent(), view)
             for m in metrics] for _ in range(2)]
    assert runs[0] == runs[1]


# ---- parameter_sensitivity --------------------------------------------------


def test_sensitivity_statistics_match_a_hand_computation():
    observer = build("parameter_sensitivity")
    trace = TraceBuilder(MIXED)
    steps = [
        ({}, 3.0, None),  # baseline: nothing to credit
        ({"LR": 2e-3}, 2.8, None),  # LR +0.2 against 3.0 (kept)
        ({"WD": 0.3}, 2.9, None),  # WD -0.1 against 2.8
        ({"LR": 4e-3, "WD": 0.2}, 2.7, None),  # both +0.1 against 2.8 (kept)
        ({"LR": 8e-3}, None, None),  # LR crashed
        ({"WD": 0.4}, None, "reject"),  # never ran: ignored
    ]
    for changes, metric, special in steps:
        if not changes:
            trial = trace.baseline(metric)
        elif special == "reject":
            trial = trace.reject(changes)
        else:
            trial = trace.run(changes, metric)
        assert observer.observe(trial, trace.view()) is None
    summary = observer.summary()
    assert set(summary) == {"LR", "WD"}
    assert summary["LR"]["count"] == 3 and summary["LR"]["failures"] == 1 and summary["LR"]["measured"] == 2
    assert summary["LR"]["mean_delta"] == pytest.approx((0.2 + 0.1) / 2)
    assert summary["LR"]["best_delta"] == pytest.approx(0.2)
    assert summary["WD"]["count"] == 2 and summary["WD"]["failures"] == 0
    assert summary["WD"]["mean_delta"] == pytest.approx((-0.1 + 0.1) / 2)
    assert summary["WD"]["best_delta"] == pytest.approx(0.1)


def test_sensitivity_counts_gains_positive_when_higher_is_better():
    observer = build("parameter_sensitivity")
    trace = TraceBuilder(MIXED, minimize=False)
    observer.observe(trace.baseline(0.5), trace.view())
    observer.observe(trace.run({"DEPTH": 8}, 0.6), trace.view())
    assert observer.summary()["DEPTH"]["best_delta"] == pytest.approx(0.1)
