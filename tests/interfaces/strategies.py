"""Hypothesis strategies for interface records, shared by the tests."""

from __future__ import annotations

from hypothesis import strategies as st

from interfaces import Decision, ParamKind, ParamSpec, SearchSpace, Trial, TrialStatus

names = st.from_regex(r"[A-Z][A-Z_]{0,11}", fullmatch=True)


@st.composite
def param_specs(draw, name=None):
    name = name or draw(names)
    kind = draw(st.sampled_from(list(ParamKind)))
    if kind is ParamKind.BOOL:
        return ParamSpec(name, kind, draw(st.booleans()))
    if kind is ParamKind.CHOICE:
        choices = tuple(draw(st.lists(st.text("abcdefSL", min_size=1, max_size=4), min_size=1, max_size=5, unique=True)))
        return ParamSpec(name, kind, draw(st.sampled_from(choices)), choices=choices)
    log = draw(st.booleans())
    if kind is ParamKind.INT:
        low = draw(st.integers(1 if log else -100, 100))
        high = draw(st.integers(low, low + 1000))
        return ParamSpec(name, kind, draw(st.integers(low, high)), low=low, high=high, log=log)
    low = draw(st.floats(1e-6 if log else -10.0, 10.0))
    high = draw(st.floats(low, low + 100.0))
    return ParamSpec(name, kind, draw(st.floats(low, high)), low=low, high=high, log=log)


@st.composite
def spaces(draw, min_size=1, max_size=6):
    chosen = draw(st.lists(names, min_size=min_size, max_size=max_size, unique=True))
    return SearchSpace(tuple(draw(param_specs(name=n)) for n in chosen))


@st.composite
def values_for(draw, spec: ParamSpec):
    if spec.kind is ParamKind.BOOL:
        return draw(st.booleans())
    if spec.kind is ParamKind.CHOICE:
        return draw(st.sampled_from(spec.choices))
    if spec.kind is ParamKind.INT:
        return draw(st.integers(int(spec.low), int(spec.high)))
    return draw(st.floats(spec.low, spec.high))


@st.composite
def traces(draw, space: SearchSpace, max_trials=12):
    """A plausible trace over ``space``: a baseline, then changed configs."""
    count = draw(st.integers(0, max_trials))
    config = dict(space.defaults())
    trials = []
    for index in range(count):
        if index == 0:
            changes = {}
            status, decision = TrialStatus.OK, Decision.BASELINE
        else:
            name = draw(st.sampled_from(space.names))
            changes = {name: draw(values_for(space[name]))}
            status = draw(st.sampled_from(list(TrialStatus)))
            decision = Decision.REJECTED if status is TrialStatus.REJECTED else draw(
                st.sampled_from([Decision.KEEP, Decision.DISCARD]))
            if status is not TrialStatus.OK and decision is Decision.KEEP:
                decision = Decision.DISCARD
        metric = draw(st.floats(0.5, 5.0)) if status is TrialStatus.OK else None
        full = dict(config, **changes)
        trials.append(Trial(index, full, changes, status, metric, decision))
        if decision is Decision.KEEP:
            config = full
    from interfaces import TraceView

    return TraceView(tuple(trials))
