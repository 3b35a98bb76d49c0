"""Every record kind comes back from the store exactly as it went in."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings, strategies as st

from engine.store import RunStore
from interfaces import ParamKind, ParamSpec, SearchSpace, TraceView, thaw
from tests.interfaces.strategies import traces

from .strategies import json_values, llm_exchanges, outcomes, proposals, search_configs, trials

_ids = itertools.count()
# Each example is a few SQLite commits; the encodings are simple enough that
# fewer examples find what more would.
_fewer = settings(max_examples=40)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    # Round trips are about encoding, not durability: skip the fsync per commit.
    opened = RunStore.open(tmp_path_factory.mktemp("roundtrip") / "run.sqlite", durable=False)
    yield opened
    opened.close()


def new_run(store: RunStore, **settings) -> str:
    run_id = f"run-{next(_ids)}"
    store.create_run(run_id, task="surrogate", settings=settings, provider="heuristic", model="rules")
    return run_id


def same_metrics(a, b) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k]))
        if isinstance(a[k], float) and math.isnan(a[k])
        else a[k] == b[k]
        for k in a
    )


@_fewer
@given(settings=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_run_round_trip(store, settings):
    run_id = new_run(store, **settings)
    info = store.run(run_id)
    assert (info.run_id, info.task, info.provider, info.model, info.status) == (
        run_id,
        "surrogate",
        "heuristic",
        "rules",
        "running",
    )
    assert thaw(info.settings) == settings
    assert info.finished_at is None
    assert run_id in [r.run_id for r in store.runs()]


@_fewer
@given(trial=trials(), outcome=st.one_of(st.none(), outcomes))
def test_trial_and_outcome_round_trip(store, trial, outcome):
    run_id = new_run(store)
    store.finish_trial(run_id, trial, outcome)
    assert store.trials(run_id) == (trial,)
    back = store.outcome(run_id, trial.index)
    if outcome is None:
        assert back is None
    else:
        assert (back.status, back.metric, back.exit_code, back.duration_s, back.log_tail, back.reason) == (
            outcome.status,
            outcome.metric,
            outcome.exit_code,
            outcome.duration_s,
            outcome.log_tail,
            outcome.reason,
        )
        assert same_metrics(dict(back.metrics), dict(outcome.metrics))


_space = SearchSpace(
    (
        ParamSpec("LR", ParamKind.FLOAT, 0.01, low=1e-5, high=1.0, log=True),
        ParamSpec("DEPTH", ParamKind.INT, 4, low=1, high=12),
        ParamSpec("ACT", ParamKind.CHOICE, "relu", choices=("relu", "gelu")),
    )
)


@_fewer
@given(trace=traces(_space))
def test_trace_round_trip(store, trace):
    run_id = new_run(store)
    for trial in reversed(trace.trials):  # written out of order, read back by index
        store.finish_trial(run_id, trial, None)
    back = store.trace(run_id)
    assert isinstance(back, TraceView)
    assert back.trials == trace.trials
    assert back.best_metric() == trace.best_metric()
    assert store.trace(run_id, minimize=False).minimize is False


@_fewer
@given(
    index=st.integers(0, 1000), proposal=proposals, config=st.dictionaries(st.text(max_size=5), json_values)
)
def test_in_flight_round_trip(store, index, proposal, config):
    run_id = new_run(store)
    store.begin_trial(run_id, index, proposal, config)
    assert store.in_flight(run_id) == [index]
    (flying,) = store.in_flight_trials(run_id)
    assert (flying.index, flying.proposal, thaw(flying.config)) == (index, proposal, config)


@_fewer
@given(exchanges=st.lists(llm_exchanges, min_size=1, max_size=4))
def test_llm_call_round_trip_and_usage(store, exchanges):
    run_id = new_run(store)
    ids = [store.add_llm_call(run_id, exchange) for exchange in exchanges]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    stored = store.llm_calls(run_id)
    assert [c["id"] for c in stored] == ids
    assert [{k: v for k, v in c.items() if k not in ("id", "created_at")} for c in stored] == exchanges

    usage = store.usage(run_id)
    for level in {str(e["level"]) for e in exchanges}:
        mine = [e for e in exchanges if str(e["level"]) == level]
        got = usage["levels"][level]
        assert got["calls"] == len(mine)
        assert got["prompt_tokens"] == sum(e["prompt_tokens"] for e in mine)
        assert got["completion_tokens"] == sum(e["completion_tokens"] for e in mine)
        assert got["total_tokens"] == got["prompt_tokens"] + got["completion_tokens"]
        assert got["cost_usd"] == pytest.approx(sum(e["cost_usd"] for e in mine))
        assert got["failed"] == sum(1 for e in mine if e["error"])
    assert usage["total"]["calls"] == len(exchanges)
    assert usage["total"]["total_tokens"] == sum(
        e["prompt_tokens"] + e["completion_tokens"] for e in exchanges
    )


def test_usage_of_run_without_calls_is_zero(store):
    run_id = new_run(store)
    usage = store.usage(run_id)
    assert usage["levels"] == {}
    assert usage["total"]["calls"] == 0 and usage["total"]["cost_usd"] == 0.0


@_fewer
@given(
    configs=st.lists(search_configs(), min_size=1, max_size=4),
    reasons=st.lists(st.text(max_size=30), min_size=4),
)
def test_config_snapshot_round_trip(store, configs, reasons):
    run_id = new_run(store)
    for cycle, config in enumerate(configs):
        store.add_config_snapshot(run_id, cycle, cycle * 5 + 4, config, reasons[cycle])
    snapshots = store.config_snapshots(run_id)
    assert snapshots == [
        (cycle, cycle * 5 + 4, config, reasons[cycle]) for cycle, config in enumerate(configs)
    ]


events = st.tuples(
    st.sampled_from(["m_alpha", "m_beta"]),
    st.sampled_from(["admission", "activation", "effect", "ejection", "revert", "keep"]),
    st.one_of(st.none(), st.integers(0, 100)),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@_fewer
@given(batch=st.lists(events, max_size=8))
def test_mechanism_event_round_trip(store, batch):
    run_id = new_run(store)
    for mechanism, kind, index, data in batch:
        store.add_mechanism_event(run_id, mechanism, kind, index, data)
    stored = store.mechanism_events(run_id)
    assert [(e["mechanism"], e["kind"], e["trial_index"], e["data"]) for e in stored] == [
        (m, k, i, d) for m, k, i, d in batch
    ]
    only_alpha = store.mechanism_events(run_id, mechanism="m_alpha")
    assert [e["data"] for e in only_alpha] == [d for m, _k, _i, d in batch if m == "m_alpha"]


@_fewer
@given(state=st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6))
def test_state_round_trip(store, state):
    run_id = new_run(store)
    for key, value in state.items():
        store.set_state(run_id, key, value)
    for key, value in state.items():
        assert store.get_state(run_id, key) == value
    assert store.get_state(run_id, "\x00never-set", default="fallback") == "fallback"


def test_state_overwrites(store):
    run_id = new_run(store)
    store.set_state(run_id, "next_index", 3)
    store.set_state(run_id, "next_index", 4)
    assert store.get_state(run_id, "next_index") == 4


def test_status_lifecycle(store):
    run_id = new_run(store)
    store.set_status(run_id, "interrupted", note="SIGINT")
    info = store.run(run_id)
    assert (info.status, info.note) == ("interrupted", "SIGINT") and info.finished_at is not None
    store.set_status(run_id, "running")
    assert store.run(run_id).finished_at is None
    store.set_status(run_id, "finished", note="budget spent")
    assert store.run(run_id).status == "finished"
