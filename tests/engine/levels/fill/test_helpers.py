"""The fill-in action library: valid values on every kind of parameter, trace queries on drawn and
hand-built traces, and the library's own text admitted by the real sandbox inside a mechanism."""

from __future__ import annotations

import ast
import inspect
import itertools
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from engine.levels.fill import helpers
from engine.levels.fill.helpers import (
    best_trials,
    clip,
    current,
    least_tried,
    leave_stuck,
    most_tried,
    move,
    random_value,
    recent_changes,
    step,
    stuck_parameter,
    tried_values,
    untried,
    untried_direction,
    was_tried,
)
from interfaces import (
    Decision,
    ParamKind,
    ParamSpec,
    SearchConfig,
    SearchSpace,
    TraceView,
    Trial,
    TrialStatus,
)
from sandbox import admit
from tests.interfaces.strategies import traces, values_for

SOURCE = Path(helpers.__file__).read_text(encoding="utf-8")


# -- drawn parameters and spaces -------------------------------------------------------------------

@st.composite
def specs(draw, name="P"):
    """Every kind, log and linear, including one-value and two-value integer ranges and
    floating-point ranges too narrow for an ordinary step."""
    kind = draw(st.sampled_from(list(ParamKind)))
    if kind is ParamKind.BOOL:
        return ParamSpec(name, kind, draw(st.booleans()))
    if kind is ParamKind.CHOICE:
        choices = tuple(draw(st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=1, max_size=5,
                                      unique=True)))
        return ParamSpec(name, kind, draw(st.sampled_from(choices)), choices=choices)
    log = draw(st.booleans())
    if kind is ParamKind.INT:
        low = draw(st.integers(1 if log else -50, 50))
        high = low + draw(st.one_of(st.integers(0, 2), st.integers(0, 5000)))
        return ParamSpec(name, kind, draw(st.integers(low, high)), low=low, high=high, log=log)
    low = draw(st.floats(1e-6 if log else -10.0, 10.0))
    high = draw(st.one_of(st.just(low), st.just(math.nextafter(low, math.inf)), st.floats(low, low + 100.0)))
    return ParamSpec(name, kind, draw(st.floats(low, high)), low=low, high=high, log=log)


@st.composite
def drawn_spaces(draw):
    names = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=4, unique=True))
    return SearchSpace(tuple(draw(specs(name=n)) for n in names))


@st.composite
def space_and_trace(draw):
    space = draw(drawn_spaces())
    return space, draw(traces(space, max_trials=14))


def value_count(spec: ParamSpec) -> float:
    if spec.kind is ParamKind.BOOL:
        return 2
    if spec.kind is ParamKind.CHOICE:
        return len(spec.choices)
    if spec.kind is ParamKind.INT:
        return math.floor(spec.high) - math.ceil(spec.low) + 1
    return 1 if spec.low == spec.high else math.inf


# -- hand-built traces -----------------------------------------------------------------------------

SPACE = SearchSpace((
    ParamSpec("LR", ParamKind.FLOAT, 0.01, low=1e-4, high=1.0, log=True),
    ParamSpec("DEPTH", ParamKind.INT, 4, low=1, high=8),
    ParamSpec("ACT", ParamKind.CHOICE, "relu", choices=("relu", "gelu", "silu")),
    ParamSpec("NORM", ParamKind.BOOL, False),
))


def build_trace(*steps: tuple[dict, str], minimize: bool = True, metrics: tuple = ()) -> TraceView:
    """A trace from (changes, decision) pairs applied the way the engine applies them: each
    trial's config is the incumbent's with its changes; kept trials become the incumbent."""
    incumbent = dict(SPACE.defaults())
    trials = []
    for index, (changes, decision) in enumerate(steps):
        config = dict(incumbent, **changes)
        status = TrialStatus.REJECTED if decision == "rejected" else TrialStatus.OK
        metric = None if status is TrialStatus.REJECTED else (metrics[index] if metrics else 1.0 + index)
        trials.append(Trial(index, config, changes, status, metric, Decision(decision)))
        if decision in ("baseline", "keep"):
            incumbent = config
    return TraceView(tuple(trials), minimize=minimize)


BASELINE = ({}, "baseline")


# -- values ----------------------------------------------------------------------------------------

@given(spec=specs(), seed=st.integers(0, 2**32 - 1))
def test_random_value_is_always_valid_and_seeded(spec: ParamSpec, seed: int) -> None:
    value = random_value(random.Random(seed), spec)
    assert spec.check(value) is None, (spec, value)
    assert value == random_value(random.Random(seed), spec)
    if spec.kind is ParamKind.FLOAT:
        assert isinstance(value, float)


def test_random_value_on_a_log_scale_spreads_over_the_decades() -> None:
    spec = SPACE["LR"]
    rng = random.Random(7)
    below = sum(random_value(rng, spec) < 0.01 for _ in range(400))
    assert 120 < below < 280  # half the log range lies below 1e-2; uniform would put 1% there


@settings(max_examples=300)
@given(data=st.data(), spec=specs(), direction=st.one_of(st.sampled_from([-1, 0, 1]), st.floats(-5, 5)),
       size=st.one_of(st.floats(0, 4), st.just(1e6)))
def test_step_is_valid_and_moves_in_its_direction_or_sits_at_a_bound(data, spec, direction, size) -> None:
    value = data.draw(values_for(spec))
    moved = step(spec, value, direction, size)
    assert spec.check(moved) is None, (spec, value, direction, size, moved)
    if direction == 0:
        assert moved == value
    elif spec.kind is ParamKind.BOOL:
        assert moved is (not value)
    elif spec.kind is ParamKind.CHOICE:
        index, last = spec.choices.index(value), len(spec.choices) - 1
        assert spec.choices.index(moved) == min(max(index + (1 if direction > 0 else -1), 0), last)
    else:
        low, high = (math.ceil(spec.low), math.floor(spec.high)) if spec.kind is ParamKind.INT \
            else (spec.low, spec.high)
        if direction > 0:
            assert moved > value or moved == value == high
        else:
            assert moved < value or moved == value == low
        if spec.kind is ParamKind.INT:
            assert isinstance(moved, int) and not isinstance(moved, bool)


def test_step_sizes_on_log_linear_and_integer_scales() -> None:
    assert step(SPACE["LR"], 0.01, 1) == pytest.approx(0.02)
    assert step(SPACE["LR"], 0.01, -1, 2.0) == pytest.approx(0.0025)
    assert step(SPACE["LR"], 0.8, 1) == 1.0  # clamped at the bound
    linear = ParamSpec("W", ParamKind.FLOAT, 0.0, low=0.0, high=8.0)
    assert step(linear, 2.0, -1, 0.5) == 1.5
    depth = SPACE["DEPTH"]
    assert step(depth, 4, 1, 0.1) == 5  # a fractional step still moves an integer by one
    assert step(depth, 8, 1) == 8
    assert step(SPACE["ACT"], "relu", -1) == "relu" and step(SPACE["ACT"], "relu", 1) == "gelu"


@given(spec=specs(), value=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                     st.integers(-10**6, 10**6), st.booleans(),
                                     st.text("abcxyz0.5-", max_size=4), st.none()))
def test_clip_always_returns_a_valid_value(spec: ParamSpec, value) -> None:
    clipped = clip(spec, value)
    assert spec.check(clipped) is None, (spec, value, clipped)


@given(data=st.data(), spec=specs())
def test_clip_leaves_valid_values_alone(data, spec: ParamSpec) -> None:
    value = data.draw(values_for(spec))
    assert clip(spec, value) == value


def test_clip_rounds_clamps_and_falls_back_to_the_default() -> None:
    assert clip(SPACE["DEPTH"], 5.6) == 6 and clip(SPACE["DEPTH"], 99) == 8 and clip(SPACE["DEPTH"], "3") == 3
    assert clip(SPACE["LR"], 5) == 1.0 and clip(SPACE["LR"], "0.5") == 0.5
    assert clip(SPACE["LR"], math.nan) == 0.01
    assert clip(SPACE["ACT"], "tanh") == "relu" and clip(SPACE["NORM"], "true") is True


# -- trace queries ---------------------------------------------------------------------------------

@given(pair=space_and_trace())
def test_untried_returns_exactly_the_names_no_trial_that_ran_changed(pair) -> None:
    space, trace = pair
    names = list(reversed(space.names))
    changed = {name for trial in trace.ran() for name in trial.changes}
    assert untried(trace, names) == [name for name in names if name not in changed]


@given(pair=space_and_trace(), seed=st.integers(0, 2**32 - 1))
def test_least_tried_is_seeded_and_minimal(pair, seed: int) -> None:
    space, trace = pair
    names = list(space.names)
    chosen = least_tried(trace, names, random.Random(seed))
    assert chosen == least_tried(trace, names, random.Random(seed))
    counts = {name: sum(name in trial.changes for trial in trace.ran()) for name in names}
    assert counts[chosen] == min(counts.values())
    assert least_tried(trace, [], random.Random(seed)) is None


def test_least_tried_breaks_ties_with_the_generator() -> None:
    trace = build_trace(BASELINE, ({"LR": 0.02}, "discard"))
    picks = {least_tried(trace, ["LR", "DEPTH", "ACT", "NORM"], random.Random(seed)) for seed in range(40)}
    assert picks == {"DEPTH", "ACT", "NORM"}


def test_most_tried_counts_only_the_window() -> None:
    trace = build_trace(BASELINE, ({"LR": 0.02}, "discard"), ({"LR": 0.03}, "discard"),
                        ({"DEPTH": 5}, "discard"), ({"DEPTH": 6}, "rejected"))
    assert most_tried(trace, ["DEPTH", "LR"]) == "LR"
    assert most_tried(trace, ["DEPTH", "LR"], 1) == "DEPTH"
    assert most_tried(trace, ["ACT", "NORM"]) is None


def test_stuck_parameter_finds_a_parameter_repeated_without_keeps() -> None:
    trace = build_trace(BASELINE, *[({"LR": 0.02 * k}, "discard") for k in range(1, 5)],
                        ({"DEPTH": 5}, "discard"), ({"ACT": "gelu"}, "discard"))
    assert stuck_parameter(trace, 6) == "LR"
    # The baseline is no keep: six changes, four of them LR, none kept.
    assert stuck_parameter(trace, 8) == "LR"
    kept_then = build_trace(BASELINE, ({"LR": 0.01}, "keep"), *[({"LR": 0.02 * k}, "discard") for k in range(1, 5)])
    assert stuck_parameter(kept_then, 8) is None  # a keep inside the window: not stuck
    assert stuck_parameter(kept_then, 4) == "LR"


def test_stuck_parameter_is_none_after_a_keep_and_when_nothing_repeats() -> None:
    stuck = [({"LR": 0.02 * k}, "discard") for k in range(1, 6)]
    assert stuck_parameter(build_trace(BASELINE, *stuck), 5) == "LR"
    assert stuck_parameter(build_trace(BASELINE, *stuck, ({"NORM": True}, "keep")), 5) is None
    spread = [({"LR": 0.05}, "discard"), ({"DEPTH": 2}, "discard"), ({"ACT": "silu"}, "discard"),
              ({"NORM": True}, "discard"), ({"DEPTH": 3}, "discard")]
    assert stuck_parameter(build_trace(BASELINE, *spread), 5) is None
    assert stuck_parameter(build_trace(BASELINE, *stuck[:3]), 3) is None  # fewer than four trials


def test_current_reads_the_incumbent_or_the_default() -> None:
    assert current(TraceView(()), SPACE, "DEPTH") == 4
    trace = build_trace(BASELINE, ({"DEPTH": 6}, "keep"), ({"DEPTH": 7}, "discard"))
    assert current(trace, SPACE, "DEPTH") == 6


def test_untried_direction_is_measured_against_the_incumbent_of_each_trial() -> None:
    assert untried_direction(build_trace(BASELINE), SPACE, "DEPTH") == 1
    assert untried_direction(build_trace(BASELINE, ({"DEPTH": 5}, "discard")), SPACE, "DEPTH") == -1
    assert untried_direction(build_trace(BASELINE, ({"DEPTH": 2}, "discard")), SPACE, "DEPTH") == 1
    raised = build_trace(BASELINE, ({"DEPTH": 6}, "keep"))
    assert untried_direction(raised, SPACE, "DEPTH") == -1
    # 5 is above the baseline's 4 but below the incumbent 6 it was proposed against: a step down.
    assert untried_direction(build_trace(BASELINE, ({"DEPTH": 6}, "keep"), ({"DEPTH": 5}, "discard")),
                             SPACE, "DEPTH") == 0
    rejected = build_trace(BASELINE, ({"DEPTH": 5}, "rejected"))
    assert untried_direction(rejected, SPACE, "DEPTH") == 1  # a rejected trial never ran
    assert untried_direction(build_trace(BASELINE, ({"ACT": "gelu"}, "discard")), SPACE, "ACT") == 0
    assert untried_direction(build_trace(BASELINE), SPACE, "NORM") == 0


def test_untried_direction_does_not_offer_a_direction_a_bound_blocks() -> None:
    assert untried_direction(build_trace(({"DEPTH": 8}, "baseline")), SPACE, "DEPTH") == -1
    at_top = build_trace(({"DEPTH": 8}, "baseline"), ({"DEPTH": 7}, "discard"))
    assert untried_direction(at_top, SPACE, "DEPTH") == 0  # up is untried, but 8 is the upper bound
    at_bottom = build_trace(({"DEPTH": 1}, "baseline"), ({"DEPTH": 2}, "discard"))
    assert untried_direction(at_bottom, SPACE, "DEPTH") == 0


def test_tried_values_and_recent_changes() -> None:
    trace = build_trace(BASELINE, ({"DEPTH": 5}, "discard"), ({"DEPTH": 6, "LR": 0.1}, "keep"),
                        ({"DEPTH": 5}, "discard"), ({"DEPTH": 3}, "rejected"))
    assert tried_values(trace, "DEPTH") == [5, 6]
    assert recent_changes(trace, 2) == [{"DEPTH": 5}, {"DEPTH": 3}]
    assert all(type(changes) is dict for changes in recent_changes(trace, 9))
    assert len(recent_changes(trace, 9)) == 5 and recent_changes(trace, 0) == []


def test_was_tried_applies_the_changes_to_the_incumbent() -> None:
    trace = build_trace(BASELINE, ({"DEPTH": 5}, "discard"), ({"LR": 0.1}, "keep"),
                        ({"NORM": True}, "rejected"))
    assert was_tried(trace, SPACE, {"LR": 0.1})
    assert was_tried(trace, SPACE, {})
    assert not was_tried(trace, SPACE, {"DEPTH": 5})  # 5 ran against the old incumbent, LR 0.01
    assert not was_tried(trace, SPACE, {"NORM": True})  # rejected: it never ran
    assert was_tried(build_trace(BASELINE), SPACE, {"DEPTH": 4})
    assert not was_tried(TraceView(()), SPACE, {})


@given(pair=space_and_trace(), n=st.integers(0, 20))
def test_best_trials_are_the_best_that_ran_ok_best_first(pair, n: int) -> None:
    _space, trace = pair
    best = best_trials(trace, n)
    finished = [trial for trial in trace.ran() if trial.ok]
    assert len(best) == min(n, len(finished)) and all(trial.ok for trial in best)
    for better, worse in itertools.pairwise(best):
        assert not trace.is_better(worse.metric, better.metric)
    rest = [trial for trial in finished if trial not in best]
    if best:
        assert all(not trace.is_better(trial.metric, best[-1].metric) for trial in rest)


def test_best_trials_respects_the_direction_of_the_metric() -> None:
    steps = (BASELINE, ({"DEPTH": 5}, "discard"), ({"DEPTH": 6}, "discard"))
    lower = build_trace(*steps, metrics=(2.0, 1.0, 3.0))
    higher = build_trace(*steps, minimize=False, metrics=(2.0, 1.0, 3.0))
    assert [t.index for t in best_trials(lower, 2)] == [1, 0]
    assert [t.index for t in best_trials(higher, 2)] == [2, 0]


# -- move ------------------------------------------------------------------------------------------

@settings(max_examples=200)
@given(pair=space_and_trace(), seed=st.integers(0, 2**32 - 1))
def test_move_is_valid_changes_its_parameter_and_is_seeded(pair, seed: int) -> None:
    space, trace = pair
    for name in space.names:
        spec = space[name]
        changes = move(trace, space, name, random.Random(seed))
        assert list(changes) == [name]
        assert spec.check(changes[name]) is None, (spec, changes)
        if value_count(spec) > 1:
            assert changes[name] != current(trace, space, name)
        assert changes == move(trace, space, name, random.Random(seed))


@given(seed=st.integers(0, 2**32 - 1))
def test_move_avoids_configurations_already_tried_when_another_exists(seed: int) -> None:
    trace = build_trace(BASELINE, ({"ACT": "gelu"}, "discard"))
    assert move(trace, SPACE, "ACT", random.Random(seed)) == {"ACT": "silu"}
    depth = build_trace(BASELINE, *[({"DEPTH": d}, "discard") for d in (1, 2, 3, 5, 6, 8)])
    assert move(depth, SPACE, "DEPTH", random.Random(seed)) == {"DEPTH": 7}
    flipped = build_trace(BASELINE, ({"NORM": True}, "discard"))
    assert move(flipped, SPACE, "NORM", random.Random(seed)) == {"NORM": True}  # the only other value


def test_move_steps_in_the_untried_direction_first() -> None:
    trace = build_trace(BASELINE, ({"LR": 0.05}, "discard"))
    assert move(trace, SPACE, "LR", random.Random(0)) == {"LR": pytest.approx(0.005)}
    assert move(build_trace(BASELINE), SPACE, "DEPTH", random.Random(0)) == {"DEPTH": 5}


# -- the library as pasted text --------------------------------------------------------------------

def test_every_listed_name_is_a_public_function_with_a_one_line_docstring() -> None:
    public = sorted(name for name, value in vars(helpers).items()
                    if inspect.isfunction(value) and not name.startswith("_"))
    assert sorted(helpers.HELPERS) == public and len(set(helpers.HELPERS)) == len(helpers.HELPERS)
    for name in helpers.HELPERS:
        doc = getattr(helpers, name).__doc__
        assert doc and "\n" not in doc.strip() and len(doc) <= 110, name


def test_the_text_imports_only_math_and_has_no_future_import_or_mutable_module_state() -> None:
    tree = ast.parse(SOURCE)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imported == {"math"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    assigned = [node for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))]
    assert all(isinstance(node.value, (ast.Tuple, ast.Constant)) for node in assigned)


MECHANISM_TAIL = '''

class LeastTriedSource:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def propose(self, trace, space, config):
        if not config.active:
            return None
        return move(trace, space, least_tried(trace, list(config.active), self.rng), self.rng)


def build(seed):
    return LeastTriedSource(seed)
'''

ADVISOR_TAIL = '''

class SummaryAdvisor:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def advise(self, trace, space, config):
        names = list(config.active)
        if not names:
            return ""
        name = most_tried(trace, names) or least_tried(trace, names, self.rng)
        spec = space[name]
        value = clip(spec, current(trace, space, name))
        nudged = step(spec, value, untried_direction(trace, space, name))
        fresh = random_value(self.rng, spec)
        seen = len(tried_values(trace, name)) + len(recent_changes(trace, 3)) + len(best_trials(trace, 2))
        return "{} {} {} {} {} {} {}".format(name, nudged, fresh, seen, stuck_parameter(trace),
                                             untried(trace, names), was_tried(trace, space, {name: fresh}))


def build(seed):
    return SummaryAdvisor(seed)
'''


@pytest.mark.parametrize("hook, tail", [("source", MECHANISM_TAIL), ("advisor", ADVISOR_TAIL)],
                         ids=["source", "advisor"])
def test_the_library_text_is_admitted_by_the_sandbox_inside_a_mechanism(hook: str, tail: str) -> None:
    # The fill-in modules import random for self.rng; the library text follows the imports.
    admission = admit("import math\nimport random\n\n" + SOURCE + tail, hook)
    assert admission.admitted, admission.feedback()


# -- the slips a small model makes with the helpers' arguments -------------------------------------

@given(spec=specs(), seed=st.integers(0, 2**32 - 1))
def test_random_value_takes_its_arguments_in_either_order(spec: ParamSpec, seed: int) -> None:
    assert random_value(spec, random.Random(seed)) == random_value(random.Random(seed), spec)


def test_step_with_a_generator_for_a_direction_steps_a_random_way_and_is_seeded() -> None:
    spec = SPACE["DEPTH"]
    moves = [step(spec, 4, random.Random(seed)) for seed in range(20)]
    assert set(moves) == {3, 5}
    assert moves == [step(spec, 4, random.Random(seed)) for seed in range(20)]


def test_stuck_parameter_with_a_generator_for_a_window_uses_the_default_window() -> None:
    trace = build_trace(BASELINE, *[({"LR": 0.01 * (i + 2)}, "discard") for i in range(5)])
    assert stuck_parameter(trace, random.Random(0)) == stuck_parameter(trace) == "LR"


@given(pair=space_and_trace(), seed=st.integers(0, 2**32 - 1))
def test_the_search_config_where_names_go_reads_as_its_active_names(pair, seed: int) -> None:
    space, trace = pair
    names = tuple(reversed(space.names))
    config = SearchConfig(active=names, min_active=0)
    assert untried(trace, config) == untried(trace, list(names))
    assert least_tried(trace, config, random.Random(seed)) == least_tried(trace, list(names), random.Random(seed))
    assert most_tried(trace, config) == most_tried(trace, list(names))


@given(pair=space_and_trace(), seed=st.integers(0, 2**32 - 1))
def test_leave_stuck_is_the_least_tried_name_but_the_stuck_one(pair, seed: int) -> None:
    space, trace = pair
    names = list(space.names)
    stuck = stuck_parameter(trace)
    others = [name for name in names if name != stuck]
    chosen = leave_stuck(trace, names, random.Random(seed))
    assert chosen == least_tried(trace, others, random.Random(seed))
    assert chosen != stuck or stuck is None
    assert (chosen is None) == (not others)


def test_leave_stuck_moves_off_a_rut() -> None:
    trace = build_trace(BASELINE, *[({"LR": 0.01 * (i + 2)}, "discard") for i in range(5)])
    assert stuck_parameter(trace) == "LR"
    picks = {leave_stuck(trace, ["LR", "DEPTH", "ACT"], random.Random(seed)) for seed in range(20)}
    assert picks == {"DEPTH", "ACT"}
    assert leave_stuck(trace, ["LR"], random.Random(0)) is None
