"""Optuna's samplers as Level 1 proposal sources: valid, seeded, told every trial, and run by the loop."""

from __future__ import annotations

import json

import optuna
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.levels.proposers import by_source, next_proposer
from engine.levels.samplers import SamplerSource
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import (
    SAMPLERS,
    ConfigError,
    Decision,
    ParamSpec,
    SearchConfig,
    SearchSpace,
    TraceView,
    Trial,
    TrialStatus,
)

SPACE = SearchSpace((
    ParamSpec("LR", "float", 0.01, low=1e-4, high=1.0, log=True),
    ParamSpec("DEPTH", "int", 4, low=1, high=12),
    ParamSpec("ACT", "choice", "relu", choices=("relu", "gelu", "silu")),
    ParamSpec("BETAS", "choice", (0.9, 0.95), choices=((0.9, 0.95), (0.8, 0.99))),
    ParamSpec("BIAS", "bool", False),
    ParamSpec("SEED", "int", 7, low=0, high=100, locked=True),
))


def _trial(index: int, config: dict, metric: float | None, source: str, decision: Decision = Decision.DISCARD,
           status: TrialStatus = TrialStatus.OK) -> Trial:
    base = SPACE.defaults()
    changes = {k: v for k, v in config.items() if base[k] != v}
    return Trial(index=index, config=dict(base, **config), changes=changes, status=status,
                 metric=metric if status is TrialStatus.OK else None, decision=decision, source=source)


def _trace(n: int = 12) -> TraceView:
    trials = [_trial(0, {}, 2.0, "baseline", Decision.BASELINE)]
    sources = ("heuristic:rules-v1", "mechanism:tabu", "sampler:tpe")
    for i in range(1, n):
        config = {"LR": 10 ** (-4 + 4 * ((i * 7) % n) / n), "DEPTH": 1 + (i * 5) % 12, "ACT": ("relu", "gelu", "silu")[i % 3]}
        trials.append(_trial(i, config, 1.0 + abs(i - n / 2) / n, sources[i % 3]))
    trials.append(_trial(n, {"DEPTH": 3}, None, "heuristic:rules-v1", Decision.REJECTED, TrialStatus.REJECTED))
    trials.append(_trial(n + 1, {"DEPTH": 2}, None, "heuristic:rules-v1", status=TrialStatus.CRASHED))
    return TraceView(tuple(trials))


CONFIG = SearchConfig(active=SPACE.searchable(), max_changes=1)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_proposals_are_valid_untried_and_the_same_for_the_same_seed(sampler):
    trace = _trace()
    current = dict(trace.incumbent().config)
    first = SamplerSource(SPACE, sampler, seed=3, minimize=True).candidates(trace, current, CONFIG, 3, index=14)
    again = SamplerSource(SPACE, sampler, seed=3, minimize=True).candidates(trace, current, CONFIG, 3, index=14)
    assert first == again and len(first) == 3
    for changes in first:
        assert SPACE.validate(changes, current=current) == ()
        assert "SEED" not in changes, "a locked parameter never changes"
        assert not trace.has_tried(dict(current, **changes))
    assert len({json.dumps(c, sort_keys=True, default=str) for c in first}) == 3, "candidates differ"
    other = SamplerSource(SPACE, sampler, seed=4, minimize=True).candidates(trace, current, CONFIG, 3, index=14)
    assert other != first


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_frozen_and_inactive_parameters_keep_the_incumbents_values(sampler):
    trace = _trace()
    current = dict(trace.incumbent().config)
    config = SearchConfig(active=("LR", "BIAS"), frozen=("DEPTH",), min_active=1)
    for changes in SamplerSource(SPACE, sampler, seed=0, minimize=True).candidates(trace, current, config, 4, index=20):
        assert set(changes) <= {"LR", "BIAS"}


def test_every_trial_that_ran_is_told_whoever_proposed_it():
    trace = _trace()
    study = SamplerSource(SPACE, "gp", seed=0, minimize=True).study(trace)
    told = study.get_trials(deepcopy=False)
    ran = [t for t in trace if t.status is not TrialStatus.REJECTED]
    assert len(told) == len(ran)
    assert {t.user_attrs["source"] for t in told} == {"baseline", "heuristic:rules-v1", "mechanism:tabu", "sampler:tpe"}
    assert [t.state for t in told].count(optuna.trial.TrialState.FAIL) == 1
    assert study.best_value == trace.best_metric()


def test_a_sampler_that_finds_only_tried_points_gives_up():
    space = SearchSpace((ParamSpec("BIAS", "bool", False),))
    trials = (Trial(0, {"BIAS": False}, {}, TrialStatus.OK, 1.0, Decision.BASELINE),
              Trial(1, {"BIAS": True}, {"BIAS": True}, TrialStatus.OK, 2.0, Decision.DISCARD))
    source = SamplerSource(space, "tpe", seed=0, minimize=True)
    assert source.propose(TraceView(trials), {"BIAS": False}, SearchConfig(active=("BIAS",), min_active=1), index=2) is None


def test_an_unknown_sampler_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        SamplerSource(SPACE, "bogus", seed=0, minimize=True)
    assert caught.value.code == "bad-sampler"
    with pytest.raises(ConfigError) as caught:
        RunSettings(task="script", proposer="optuna")
    assert caught.value.code == "bad-proposer"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(proposer=st.sampled_from(("llm", "sampler", "alternate", "pick")), warm=st.integers(0, 6),
       ran=st.integers(0, 12))
def test_the_policy_counts_trials_that_ran(proposer, warm, ran):
    trials = [Trial(0, {}, {}, TrialStatus.OK, 1.0, Decision.BASELINE)]
    trials += [Trial(i, {"X": i}, {"X": i}, TrialStatus.OK, 1.0, Decision.DISCARD) for i in range(1, ran + 1)]
    # Rejected proposals and re-measurements of a slow trial do not take a turn.
    trials += [Trial(ran + 1, {"X": -1}, {"X": -1}, TrialStatus.REJECTED, None, Decision.REJECTED)]
    if ran:
        trials += [Trial(ran + 2, {"X": ran}, {"X": ran}, TrialStatus.OK, 1.0, Decision.KEEP, remeasure_of=ran)]
    who = next_proposer(SearchConfig(active=("X",), min_active=1, proposer=proposer, warm_start=warm),
                        TraceView(tuple(trials)))
    if proposer == "llm" or ran < warm:
        assert who == "llm"
    elif proposer == "alternate":
        assert who == ("sampler" if (ran - warm) % 2 == 0 else "llm")
    else:
        assert who == proposer


def _settings(script, **kw):
    base = dict(task="script", task_options={"path": str(script), "metric": "loss", "budget_s": 10.0},
                provider="heuristic", iterations=8, levels=("1",), seed=0)
    base.update(kw)
    return RunSettings(**base)


def _trials(result):
    store = RunStore.open(result.run_dir / "run.sqlite")
    try:
        return store.trials(result.run_id), store.llm_calls(result.run_id)
    finally:
        store.close()


def test_alternate_after_a_warm_start_takes_turns_and_every_trial_reaches_the_optuna_copy(tmp_path, quad_script):
    result = Run.create(_settings(quad_script, proposer="alternate", sampler="tpe", warm_start=2), tmp_path).execute()
    trials, _calls = _trials(result)
    ran = [t for t in trials if t.decision not in (Decision.BASELINE, Decision.REJECTED)]
    kinds = ["sampler" if t.source == "sampler:tpe" else "llm" for t in ran]
    assert kinds[:2] == ["llm", "llm"], "the warm start is the model's"
    assert kinds[2:6] == ["sampler", "llm", "sampler", "llm"]
    sampled = [t for t in ran if t.source == "sampler:tpe"]
    assert any(len(t.changes) > 2 for t in sampled), "a sampler proposes a whole point, past max_changes"
    study = optuna.load_study(study_name=result.run_id, storage=f"sqlite:///{result.run_dir / 'optuna.sqlite3'}")
    assert sorted(t.user_attrs["index"] for t in study.trials) == [t.index for t in trials]
    report = (result.run_dir / "report.md").read_text()
    assert f"sampler:tpe {len(sampled)} (" in report and "engine code, not a Level 2 mechanism" in report


def test_pick_asks_the_model_to_choose_among_the_samplers_candidates(tmp_path, quad_script):
    result = Run.create(_settings(quad_script, proposer="pick", sampler="random", iterations=4, pick_from=3),
                        tmp_path).execute()
    trials, calls = _trials(result)
    ran = [t for t in trials if t.decision not in (Decision.BASELINE, Decision.REJECTED)]
    assert ran and all(t.source == "pick:random" for t in ran)
    assert all("fewest" in t.rationale for t in ran), "the rationale is the model's"
    assert [c["purpose"] for c in calls].count("pick") == len(ran)


def test_the_same_seed_gives_the_same_sampler_trials(tmp_path, quad_script):
    def digest(folder):
        trials, _ = _trials(Run.create(_settings(quad_script, proposer="sampler", iterations=5), folder).execute())
        return [(t.source, dict(t.changes), t.metric) for t in trials]

    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    assert {s for s, *_ in first[1:]} == {"sampler:gp"}


def test_level_one_point_five_switches_the_proposer_with_a_reason_and_it_takes_effect(tmp_path, quad_script,
                                                                                        monkeypatch):
    from engine.llm import _heuristic

    original = _heuristic.HeuristicProvider.__init__

    def with_rule(self, *args, **kw):
        kw["outer_rules"] = _heuristic.OuterRules(sampler_after=1)
        original(self, *args, **kw)

    monkeypatch.setattr(_heuristic.HeuristicProvider, "__init__", with_rule)
    result = Run.create(_settings(quad_script, levels=("1", "1.5"), iterations=9, outer_every=3), tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    try:
        snapshots = store.config_snapshots(result.run_id)
        trials = store.trials(result.run_id)
    finally:
        store.close()
    switched = next(s for s in snapshots if s[2].proposer == "alternate")
    assert "alternate with the sampler" in switched[3]
    after = [t for t in trials if t.index >= switched[1] and t.decision is not Decision.REJECTED]
    assert any(t.source == "sampler:gp" for t in after)
    before = [t for t in trials if t.index < switched[1]]  # the snapshot counts the trials before it
    assert not any(t.source.startswith("sampler:") for t in before)
    assert by_source(TraceView(tuple(trials)))["sampler:gp"]["trials"] >= 1


def test_a_re_measurement_is_no_trial_of_its_source_but_its_keep_counts():
    trials = (Trial(0, {}, {}, TrialStatus.OK, 2.0, Decision.BASELINE),
              Trial(1, {"X": 1}, {"X": 1}, TrialStatus.OK, 1.9, Decision.DISCARD, source="sampler:gp"),
              Trial(2, {"X": 1}, {"X": 1}, TrialStatus.OK, 1.0, Decision.KEEP, source="sampler:gp", remeasure_of=1))
    assert by_source(TraceView(trials)) == {"sampler:gp": {"trials": 1, "kept": 1}}


def test_advisors_are_asked_only_on_the_models_turns(tmp_path, quad_script):
    # An advisor's advice is for the model: a sampler's turn neither reads it nor counts it as an effect.
    def advisor_calls(proposer):
        result = Run.create(_settings(quad_script, proposer=proposer, iterations=6,
                                      mechanisms=("orthogonal_exploration",)), tmp_path / proposer).execute()
        store = RunStore.open(result.run_dir / "run.sqlite")
        try:
            events = store.mechanism_events(result.run_id)
            trials = store.trials(result.run_id)
        finally:
            store.close()
        calls = sum(sum(e["data"]["counts"].values()) for e in events if e["kind"] == "calls")
        asked = sum(1 for t in trials if t.source.startswith("heuristic:"))
        return calls, asked

    assert advisor_calls("sampler") == (0, 0)
    calls, asked = advisor_calls("alternate")
    assert asked >= 2 and calls == asked
