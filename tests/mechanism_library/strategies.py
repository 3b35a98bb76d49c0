"""Hypothesis strategies for mechanism property tests: spaces, configs, traces, proposals.

Built on the shared interface strategies, extended with locked parameters,
search configs, repeated configurations and long traces.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from interfaces import Decision, Proposal, SearchConfig, SearchSpace, TraceView, Trial, TrialStatus
from tests.interfaces.strategies import names, param_specs, values_for


@st.composite
def spaces(draw, min_size=1, max_size=6):
    chosen = draw(st.lists(names, min_size=min_size, max_size=max_size, unique=True))
    specs = [draw(param_specs(name=n)) for n in chosen]
    locked = draw(st.sets(st.sampled_from(chosen), max_size=max(0, len(chosen) - 1)))
    return SearchSpace(tuple(replace(spec, locked=spec.name in locked) for spec in specs))


@st.composite
def configs(draw, space: SearchSpace):
    searchable = list(space.searchable())
    active = draw(st.lists(st.sampled_from(searchable), unique=True, max_size=len(searchable))) if searchable else []
    frozen = [n for n in searchable if n not in active and draw(st.booleans())]
    return SearchConfig(active=tuple(active), frozen=tuple(frozen), max_changes=draw(st.integers(1, 3)),
                        strategy=draw(st.sampled_from(["explore", "exploit", "balanced"])))


@st.composite
def traces(draw, space: SearchSpace, max_trials=15, minimize=None):
    """A baseline (sometimes missing), then changes against the incumbent; repeats happen."""
    count = draw(st.integers(0, max_trials))
    searchable = list(space.searchable())
    config = dict(space.defaults())
    trials = []
    with_baseline = draw(st.booleans())
    for index in range(count):
        if index == 0 and with_baseline:
            changes, status, decision = {}, TrialStatus.OK, Decision.BASELINE
        else:
            changes = {}
            if searchable:
                for name in draw(st.lists(st.sampled_from(searchable), min_size=1, max_size=2, unique=True)):
                    changes[name] = draw(values_for(space[name]))
            status = draw(st.sampled_from(list(TrialStatus)))
            if status is TrialStatus.REJECTED:
                decision = Decision.REJECTED
            elif status is TrialStatus.OK:
                decision = draw(st.sampled_from([Decision.KEEP, Decision.DISCARD]))
            else:
                decision = Decision.DISCARD
        metric = draw(st.floats(0.5, 5.0)) if status is TrialStatus.OK else None
        full = dict(config, **changes)
        trials.append(Trial(index, full, changes, status, metric, decision))
        if decision in (Decision.KEEP, Decision.BASELINE):
            config = full
    if minimize is None:
        minimize = draw(st.booleans())
    return TraceView(tuple(trials), minimize=minimize)


@st.composite
def proposals(draw, space: SearchSpace):
    searchable = list(space.searchable())
    if not searchable:
        return Proposal({})
    chosen = draw(st.lists(st.sampled_from(searchable), min_size=1, max_size=3, unique=True))
    return Proposal({n: draw(values_for(space[n])) for n in chosen}, rationale="drawn", source="test")


@st.composite
def situations(draw, max_trials=15):
    """(space, config, trace) drawn consistently."""
    space = draw(spaces())
    return space, draw(configs(space)), draw(traces(space, max_trials=max_trials))
