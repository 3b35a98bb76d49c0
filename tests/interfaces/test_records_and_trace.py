import json

import pytest
from hypothesis import given, strategies as st

from interfaces import (
    HOOKS,
    Decision,
    Outcome,
    Proposal,
    SearchConfig,
    TraceView,
    Trial,
    TrialStatus,
    hook_spec,
)
from interfaces.hooks import ProposalFilter

from .strategies import spaces, traces


def trial(i, changes, metric, decision, status=TrialStatus.OK):
    return Trial(i, dict({"LR": 1.0, "B": 2}, **changes), changes, status, metric, decision)


TRACE = TraceView((
    trial(0, {}, 3.0, Decision.BASELINE),
    trial(1, {"LR": 2.0}, 2.5, Decision.KEEP),
    trial(2, {"B": 4}, None, Decision.DISCARD, TrialStatus.CRASHED),
    trial(3, {"LR": 4.0}, 2.7, Decision.DISCARD),
    trial(4, {"LR": 4.0}, None, Decision.REJECTED, TrialStatus.REJECTED),
    trial(5, {"LR": 0.5}, 2.6, Decision.DISCARD),
))


def test_trace_queries():
    assert TRACE.incumbent().index == 1
    assert TRACE.baseline().index == 0
    assert TRACE.best_metric() == 2.5
    assert TRACE.values_tried("LR") == (2.0, 4.0, 0.5)
    assert TRACE.change_counts() == {"LR": 3, "B": 1}
    assert TRACE.discard_streak() == 3
    assert [t.index for t in TRACE.touching("B")] == [2]
    assert TRACE.has_tried({"LR": 4.0, "B": 2}) and not TRACE.has_tried({"LR": 9.0, "B": 2})
    assert TRACE.is_better(1.0, 2.0) and not TraceView((), minimize=False).is_better(1.0, 2.0)
    assert TRACE.is_better(1.0, None) and not TRACE.is_better(None, 1.0)


def test_non_finite_metrics_become_none():
    assert Outcome(TrialStatus.OK, metric=float("nan")).metric is None
    assert not Outcome(TrialStatus.OK, metric=float("inf")).ok


def test_a_re_measurement_keeps_its_link_through_json_and_other_trials_keep_their_shape():
    again = Trial(7, {"LR": 2.0, "B": 2}, {"LR": 2.0}, TrialStatus.OK, 2.4, Decision.KEEP, remeasure_of=5)
    assert Trial.from_dict(json.loads(json.dumps(again.to_dict()))) == again
    first = TRACE.trials[1]
    assert "remeasure_of" not in first.to_dict() and Trial.from_dict(first.to_dict()).remeasure_of is None


def test_records_are_frozen():
    p = Proposal({"LR": 2.0}, "why", "llm")
    with pytest.raises(AttributeError):
        p.rationale = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.changes["LR"] = 3.0


@given(st.data(), spaces())
def test_trace_round_trips_and_incumbent_is_never_worse_than_baseline_config(data, space):
    trace = data.draw(traces(space))
    again = TraceView.from_list(json.loads(json.dumps(trace.to_list())))
    assert again == trace
    if len(trace):
        assert trace.incumbent() is not None
        assert trace.discard_streak() <= len(trace)


def test_search_config_guard_rails():
    cfg = SearchConfig(active=("A", "B", "C"))
    frozen = cfg.freeze("B")
    assert frozen.active == ("A", "C") and frozen.frozen == ("B",)
    assert frozen.unfreeze("B").active == ("A", "C", "B")
    assert cfg.active == ("A", "B", "C")  # snapshots, not shared references
    with pytest.raises(ValueError, match="strategy"):
        SearchConfig(active=("A",), strategy="yolo")
    with pytest.raises(ValueError, match="both active and frozen"):
        SearchConfig(active=("A",), frozen=("A",))
    assert SearchConfig.from_dict(json.loads(json.dumps(frozen.to_dict()))) == frozen


def test_hook_registry_names_methods_that_exist_on_their_protocols():
    assert set(HOOKS) == {"filter", "source", "advisor", "acceptance", "observer"}
    for spec in HOOKS.values():
        assert callable(getattr(spec.protocol, spec.method))
        assert spec.module.__doc__ and spec.method in spec.module.__doc__
        assert 0 < spec.call_budget_s <= 5
    assert hook_spec(ProposalFilter).name == "filter"
    with pytest.raises(KeyError, match="known hooks"):
        hook_spec("nope")
