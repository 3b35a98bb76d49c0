"""Property tests: every mechanism, on random spaces and traces, keeps the hook contract.

Never raises on valid input, returns plain data of the hook's type, proposes
only valid changes to active parameters, and answers identically for a seed.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from interfaces import HOOKS, Decision, Trial, TrialStatus
from mechanism_library import by_hook

from .helpers import build
from .strategies import proposals, situations, spaces, traces

PLAIN = (type(None), bool, int, float, str)
# Generating spaces and traces dominates the cost; 30 examples per mechanism keep the suite fast.
FEW = settings(max_examples=30)


def is_plain(value) -> bool:
    if isinstance(value, PLAIN):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def names(hook):
    return [e.name for e in by_hook(hook)]


def test_every_hook_has_a_mechanism():
    assert all(names(hook) for hook in HOOKS)


@pytest.mark.parametrize("name", names("filter"))
@FEW
@given(data=st.data())
def test_filters_return_none_or_a_short_reason(name, data):
    space = data.draw(spaces())
    trace = data.draw(traces(space))
    proposal = data.draw(proposals(space))
    answers = [build(name, seed).check(proposal, trace, space) for seed in (7, 7)]
    assert answers[0] == answers[1]
    assert answers[0] is None or (isinstance(answers[0], str) and 0 < len(answers[0]) < 300)


@pytest.mark.parametrize("name", names("advisor"))
@FEW
@given(situation=situations(), seed=st.integers(0, 2**31))
def test_advisors_return_short_text_deterministically(name, situation, seed):
    space, config, trace = situation
    first, second = build(name, seed), build(name, seed)
    for _ in range(3):
        advice = first.advise(trace, space, config)
        assert advice == second.advise(trace, space, config)
        assert isinstance(advice, str) and len(advice) < 500


@pytest.mark.parametrize("name", names("source"))
@FEW
@given(situation=situations(), seed=st.integers(0, 2**31))
def test_sources_propose_valid_changes_to_active_parameters(name, situation, seed):
    space, config, trace = situation
    first, second = build(name, seed), build(name, seed)
    incumbent = trace.incumbent()
    current = dict(incumbent.config) if incumbent is not None else dict(space.defaults())
    for _ in range(8):
        changes = first.propose(trace, space, config)
        assert changes == second.propose(trace, space, config)
        if changes is None:
            continue
        assert is_plain(changes) and changes
        assert set(changes) <= set(config.active)
        assert len(changes) <= config.max_changes
        assert space.validate(changes, current=current, frozen=config.frozen) == ()
        for key, value in changes.items():  # exact types, not merely equal values
            assert type(value) is type(space[key].default) or space[key].kind == "float"


@pytest.mark.parametrize("name", names("acceptance"))
@FEW
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_acceptance_rules_return_a_bool_and_never_keep_a_missing_metric(name, data, seed):
    space = data.draw(spaces())
    trace = data.draw(traces(space))
    metric = data.draw(st.floats(0.01, 10.0))
    trial = Trial(len(trace), dict(space.defaults()), {}, TrialStatus.OK, metric, Decision.DISCARD)
    first, second = build(name, seed), build(name, seed)
    incumbent = trace.incumbent()
    for _ in range(3):
        verdict = first.decide(trial, incumbent, trace)
        assert verdict is second.decide(trial, incumbent, trace)
        assert isinstance(verdict, bool)
        if incumbent is None or incumbent.metric is None:
            continue
        better = trace.is_better(metric, incumbent.metric)
        if name == "noise_aware_acceptance":
            assert verdict is (better and abs(metric - incumbent.metric) > first.k * first.noise(trace))
        elif better:
            assert verdict is True  # annealing keeps every improvement
    # Nothing to beat yet: every rule keeps the first finished trial.
    assert first.decide(trial, None, trace) is True


@pytest.mark.parametrize("name", names("observer"))
@FEW
@given(data=st.data())
def test_observers_return_none_and_summaries_are_plain(name, data):
    space = data.draw(spaces())
    trace = data.draw(traces(space, max_trials=20))
    first, second = build(name, 0), build(name, 0)
    for end in range(1, len(trace) + 1):
        partial = type(trace)(trace.trials[:end], minimize=trace.minimize)
        assert first.observe(partial.trials[-1], partial) is None
        second.observe(partial.trials[-1], partial)
    summary = first.summary()
    assert is_plain(summary) and summary == second.summary()
    changed = {n for t in trace.trials if t.decision is not Decision.REJECTED for n in t.changes}
    assert set(summary) == changed


@pytest.mark.parametrize("name", [e.name for e in by_hook("source")] + [e.name for e in by_hook("advisor")])
@settings(max_examples=5)
@given(situation=situations(max_trials=150))
def test_long_traces_are_handled(name, situation):
    space, config, trace = situation
    mechanism = build(name, 1)
    method = mechanism.propose if hasattr(mechanism, "propose") else mechanism.advise
    assert is_plain(method(trace, space, config))
