"""A whole run through the real store, executor, sandbox host and heuristic provider."""

import json

from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision


def settings(script, **kw):
    base = dict(task="script", task_options={"path": str(script), "metric": "loss", "budget_s": 10.0},
                provider="heuristic", iterations=10, outer_every=3, research_every=1, seed=0)
    base.update(kw)
    return RunSettings(**base)


def test_all_levels_improve_record_and_report(tmp_path, quad_script):
    result = Run.create(settings(quad_script), tmp_path).execute()
    assert result.status == "finished"
    assert result.best < result.baseline
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    assert [t.index for t in trials] == list(range(len(trials)))
    assert trials[0].decision is Decision.BASELINE
    ran = [t for t in trials if t.decision is not Decision.REJECTED]
    assert len(ran) - 1 <= 10
    # Level 1.5 left a snapshot per cycle; Level 2 ran sessions with four rounds each.
    assert len(store.config_snapshots(result.run_id)) >= 3
    rounds = json.loads((result.run_dir / "level2" / "session-1" / "rounds.json").read_text())
    assert [r["round"] for r in rounds] == ["explore", "critique", "specify", "generate"]
    events = store.mechanism_events(result.run_id)
    kinds = {e["kind"] for e in events}
    assert {"admission", "activation", "calls", "evaluation"} <= kinds
    calls = sum(sum(e["data"]["counts"].values()) for e in events if e["kind"] == "calls")
    assert calls > 0, "an admitted mechanism must be proven to have been called"
    report = (result.run_dir / "report.md").read_text()
    assert "baseline metric: 1.050000" in report and "## Mechanisms (Level 2)" in report
    assert (result.run_dir / "progress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "LEARNING_RATE" in (result.run_dir / "best_quad.py").read_text()
    store.close()


def test_level_one_only_never_touches_the_sandbox(tmp_path, quad_script):
    result = Run.create(settings(quad_script, levels=("1",), iterations=4), tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    assert store.mechanism_events(result.run_id) == []
    assert len(store.config_snapshots(result.run_id)) == 1  # the initial one only
    assert not (result.run_dir / "level2").exists()
    store.close()


def test_record_then_replay_reproduces_trials_and_mechanism_decisions(tmp_path, quad_script):
    transcript = tmp_path / "transcript.jsonl"
    first = Run.create(settings(quad_script, record=str(transcript)), tmp_path / "a").execute()
    second = Run.create(settings(quad_script, provider="replay", replay=str(transcript)), tmp_path / "b").execute()

    def digest(result):
        store = RunStore.open(result.run_dir / "run.sqlite")
        trials = [(t.index, dict(t.changes), t.decision.value, t.metric) for t in store.trials(result.run_id)]
        events = [(e["mechanism"], e["kind"], e["trial_index"]) for e in store.mechanism_events(result.run_id)]
        store.close()
        return trials, events

    assert digest(first) == digest(second)
    assert any(kind == "admission" for _, kind, _ in digest(second)[1])


def test_two_workers_evaluate_two_proposals_per_iteration(tmp_path, quad_script):
    result = Run.create(settings(quad_script, levels=("1",), iterations=4, workers=2), tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    ran = [t for t in trials if t.decision not in (Decision.REJECTED, Decision.BASELINE)]
    assert len(ran) > 4, "with two workers an iteration runs up to two trials"
    configs = [dict(t.config) for t in ran]
    assert all(configs.count(c) == 1 for c in configs), "no configuration runs twice"
    assert [t.index for t in trials] == list(range(len(trials)))
    store.close()


def test_each_proposal_is_asked_for_with_a_schema_of_the_parameters_active_then(tmp_path, quad_script, wrap_provider):
    import dataclasses

    asked = []

    def answer(inner, request, response_model):
        reply = inner.ask(request, response_model)
        if request.purpose == "propose":
            names = response_model.model_json_schema()["$defs"]["ParamChange"]["properties"]["name"]
            asked.append((names.get("enum"), request.context["config"]))
        if request.purpose == "outer" and not request.context["config"]["frozen"]:
            # Level 1.5 freezes the learning rate the first time it runs.
            reply = dataclasses.replace(reply, value=reply.value.model_copy(update={"freeze": ["LEARNING_RATE"],
                                                                                   "unfreeze": []}))
        return reply

    wrap_provider(answer)
    result = Run.create(settings(quad_script, levels=("1", "1.5"), iterations=6, outer_every=3), tmp_path).execute()
    assert result.status == "finished" and len(asked) >= 6
    for enum, config in asked:
        assert enum == [n for n in config["active"] if n not in config["frozen"]]
    narrowed = [enum for enum, config in asked if "LEARNING_RATE" in config["frozen"]]
    assert narrowed and all("LEARNING_RATE" not in enum for enum in narrowed)
    assert asked[0][0] and "LEARNING_RATE" in asked[0][0]


def test_each_trial_that_runs_is_built_once(tmp_path, quad_script, monkeypatch):
    # The request screening builds (the task's cross-parameter rules) is the one that runs: a script
    # task renders its script once per trial, not twice.
    from benchmarks.script_task import ScriptTask

    built = []
    original = ScriptTask.build_trial

    def counted(self, index, config):
        built.append(index)
        return original(self, index, config)

    monkeypatch.setattr(ScriptTask, "build_trial", counted)
    result = Run.create(settings(quad_script, levels=("1",), iterations=5), tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    ran = [t for t in store.trials(result.run_id) if t.decision is not Decision.REJECTED]
    store.close()
    assert len(ran) == 6
    # The baseline once; each other trial once, when it was screened; and best_quad.py at the end.
    assert built.count(-1) == len(ran) - 1 and len(built) == len(ran) + 1, built


def test_a_library_mechanism_named_in_the_settings_is_active_from_the_start(tmp_path, quad_script):
    # The control arm "A + M": Level 1 only, with a hand-written mechanism the user chose; no Level 2.
    result = Run.create(settings(quad_script, levels=("1",), iterations=6, mechanisms=("gp_expected_improvement",)),
                        tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    events = store.mechanism_events(result.run_id)
    store.close()
    assert [(e["mechanism"], e["kind"], e["trial_index"]) for e in events if e["kind"] == "library"] == [
        ("gp_expected_improvement", "library", 0)]
    sources = {t.source for t in trials if t.decision is not Decision.BASELINE}
    assert "mechanism:gp_expected_improvement" in sources
    assert not (result.run_dir / "level2").exists()
    report = (result.run_dir / "report.md").read_text()
    assert "library (chosen in the settings, active from the start)" in report


def test_an_unknown_library_mechanism_is_refused_by_name(quad_script):
    import pytest

    from interfaces import ConfigError

    with pytest.raises(ConfigError) as refused:
        settings(quad_script, mechanisms=("tabu_filtre",))
    assert refused.value.code == "unknown-mechanism" and "tabu_filter" in refused.value.message


def test_new_only_leaves_out_what_level_2_pasted_from_the_library(tmp_path, quad_script):
    # The heuristic stand-in answers Level 2 with library mechanisms: under --new-only none is spliced,
    # and each session says why.
    result = Run.create(settings(quad_script, research_new_only=True), tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    events = store.mechanism_events(result.run_id)
    trials = store.trials(result.run_id)
    store.close()
    assert not [e for e in events if e["kind"] == "admission"]
    refused = [e for e in events if e["kind"] == "failure" and e["data"].get("code") == "not-new"]
    assert refused and all(e["data"]["likeness"]["score"] >= 0.6 for e in refused)
    assert not any(t.source.startswith("mechanism:") for t in trials)
    decision = json.loads((result.run_dir / "level2" / "session-1" / "decision.json").read_text())
    assert decision["decision"] == "not-new"


STUBBORN_SOURCE = '''"""A source that proposes the incumbent's own value of its first active parameter: a no-change."""


class Stubborn:
    def propose(self, trace, space, config):
        incumbent = trace.incumbent()
        base = dict(space.defaults()) if incumbent is None else dict(incumbent.config)
        names = [n for n in config.active if n in space and n in base]
        if not names:
            return None
        return {names[0]: base[names[0]]}


def build(seed: int):
    return Stubborn()
'''


def test_a_source_whose_proposals_are_all_rejected_yields_its_iterations_and_is_ejected(tmp_path, quad_script,
                                                                                       monkeypatch):
    """Each of its rejected proposals hands that iteration to the proposer, so every iteration still runs a
    trial; after three in a row it is ejected with a code, and the loop goes on without it."""
    import dataclasses

    import mechanism_library
    from engine.levels.inner import SOURCE_REJECTION_LIMIT

    real_get = mechanism_library.get
    monkeypatch.setattr(mechanism_library, "get", lambda name, directory=None: dataclasses.replace(
        real_get(name, directory), source=STUBBORN_SOURCE) if name == "latin_hypercube" else real_get(name, directory))
    result = Run.create(settings(quad_script, levels=("1",), iterations=6, mechanisms=("latin_hypercube",)),
                        tmp_path).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    events = store.mechanism_events(result.run_id)
    store.close()
    from_source = [t for t in trials if t.source == "mechanism:latin_hypercube"]
    assert len(from_source) == SOURCE_REJECTION_LIMIT and all(t.decision is Decision.REJECTED for t in from_source)
    assert all(t.reason.startswith("no-change") for t in from_source)
    ran = [t for t in trials if t.decision is not Decision.REJECTED]
    assert len(ran) == 6 + 1, "no iteration was spent on the source's repeats"
    for rejected in from_source:  # the next trial of that iteration was the proposer's, not the source again
        assert trials[rejected.index + 1].source != "mechanism:latin_hypercube"
    ejections = [e for e in events if e["kind"] == "ejection"]
    assert [(e["mechanism"], e["data"]["code"]) for e in ejections] == [("latin_hypercube", "rejected-proposals")]
    assert ejections[0]["trial_index"] == from_source[-1].index
