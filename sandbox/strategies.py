"""Hypothesis strategies for the interface records a mechanism receives.

Public so that other suites (and other projects' conformance checks) can draw
the same random search spaces, proposals, traces, configs and trials.
"""

from __future__ import annotations

from hypothesis import strategies as st

from interfaces import (
    PROPOSERS,
    SAMPLERS,
    STRATEGIES,
    ArgKind,
    Decision,
    ParamKind,
    ParamSpec,
    Proposal,
    SearchConfig,
    SearchSpace,
    TraceView,
    Trial,
    TrialStatus,
    hook_spec,
)

__all__ = ["names", "param_specs", "spaces", "values_for", "traces", "proposals", "search_configs",
           "trials", "hook_arguments"]

names = st.from_regex(r"[A-Z][A-Z_]{0,11}", fullmatch=True)


@st.composite
def param_specs(draw, name=None):
    name = name or draw(names)
    kind = draw(st.sampled_from(list(ParamKind)))
    locked = draw(st.integers(0, 9)) == 0
    if kind is ParamKind.BOOL:
        return ParamSpec(name, kind, draw(st.booleans()), locked=locked)
    if kind is ParamKind.CHOICE:
        choices = tuple(draw(st.lists(st.text("abcdefSL", min_size=1, max_size=4), min_size=1, max_size=5,
                                      unique=True)))
        return ParamSpec(name, kind, draw(st.sampled_from(choices)), choices=choices, locked=locked)
    log = draw(st.booleans())
    if kind is ParamKind.INT:
        low = draw(st.integers(1 if log else -100, 100))
        high = draw(st.integers(low, low + 1000))
        return ParamSpec(name, kind, draw(st.integers(low, high)), low=low, high=high, log=log, locked=locked)
    low = draw(st.floats(1e-6 if log else -10.0, 10.0))
    high = draw(st.floats(low, low + 100.0))
    return ParamSpec(name, kind, draw(st.floats(low, high)), low=low, high=high, log=log, locked=locked)


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
    low, high = spec.low, spec.high
    assert low is not None and high is not None  # ParamSpec requires bounds on numeric kinds
    if spec.kind is ParamKind.INT:
        return draw(st.integers(int(low), int(high)))
    return draw(st.floats(low, high))


@st.composite
def traces(draw, space: SearchSpace, max_trials=12, minimize=None):
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
        trials.append(Trial(index, full, changes, status, metric, decision,
                            rationale=draw(st.text(max_size=20))))
        if decision is Decision.KEEP:
            config = full
    if minimize is None:
        minimize = draw(st.booleans())
    return TraceView(tuple(trials), minimize=minimize)


@st.composite
def proposals(draw, space: SearchSpace):
    chosen = draw(st.lists(st.sampled_from(space.names), min_size=1, max_size=3, unique=True))
    changes = {n: draw(values_for(space[n])) for n in chosen}
    return Proposal(changes, rationale=draw(st.text(max_size=40)), source=draw(st.sampled_from(
        ["llm:test", "heuristic", "mechanism:other"])))


@st.composite
def search_configs(draw, space: SearchSpace):
    searchable = list(space.searchable())
    frozen = draw(st.lists(st.sampled_from(searchable), unique=True, max_size=len(searchable))) \
        if searchable else []
    active = tuple(n for n in searchable if n not in frozen)
    return SearchConfig(active=active, frozen=tuple(frozen), strategy=draw(st.sampled_from(STRATEGIES)),
                        guidance=draw(st.text(max_size=40)), max_changes=draw(st.integers(1, 4)),
                        min_active=draw(st.integers(0, 3)), proposer=draw(st.sampled_from(PROPOSERS)),
                        sampler=draw(st.sampled_from(SAMPLERS)), warm_start=draw(st.integers(0, 10)))


@st.composite
def trials(draw, space: SearchSpace, index: int = 0, ok: bool | None = None):
    name = draw(st.sampled_from(space.names))
    changes = {name: draw(values_for(space[name]))}
    statuses = [TrialStatus.OK] if ok else list(TrialStatus)
    status = draw(st.sampled_from(statuses))
    metric = draw(st.floats(0.5, 5.0)) if status is TrialStatus.OK else None
    decision = Decision.REJECTED if status is TrialStatus.REJECTED else draw(
        st.sampled_from([Decision.KEEP, Decision.DISCARD]) if status is TrialStatus.OK else st.just(Decision.DISCARD))
    return Trial(index, dict(space.defaults(), **changes), changes, status, metric, decision)


@st.composite
def hook_arguments(draw, hook: str):
    """Positional arguments for one call of ``hook``'s method, one per argument kind
    its spec declares, drawn together so they agree with each other (one space; the
    trial numbered after the trace, and last in a trace that includes it)."""
    spec = hook_spec(hook)
    space = draw(spaces())
    trace = draw(traces(space))
    trial = None
    arguments = []
    for kind in spec.arguments:
        if kind.is_trial:
            trial = draw(trials(space, index=len(trace), ok=kind is ArgKind.FINISHED_TRIAL or None))
            arguments.append(trial)
        elif kind is ArgKind.TRACE_WITH_TRIAL:
            assert trial is not None  # HookSpec requires a trial argument beside this one
            arguments.append(TraceView(trace.trials + (trial,), minimize=trace.minimize))
        else:
            arguments.append(_SHARED[kind](draw, space, trace))
    return tuple(arguments)


# The argument kinds drawn from (or read off) the call's space and trace alone.
_SHARED = {
    ArgKind.PROPOSAL: lambda draw, space, trace: draw(proposals(space)),
    ArgKind.TRACE: lambda draw, space, trace: trace,
    ArgKind.SPACE: lambda draw, space, trace: space,
    ArgKind.CONFIG: lambda draw, space, trace: draw(search_configs(space)),
    ArgKind.INCUMBENT: lambda draw, space, trace: trace.incumbent(),
}
