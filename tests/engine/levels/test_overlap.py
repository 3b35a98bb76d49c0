"""``overlap``: the next proposal is asked while a trial trains, and screened only when it is about to run."""

from __future__ import annotations

import pytest

from engine.levels.inner import LoopEvents
from engine.llm import LLMReply
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import ConfigError, Decision, ProviderError


def settings(script, **kw) -> RunSettings:
    base = dict(task="script", task_options={"path": str(script), "metric": "loss", "budget_s": 10.0},
                provider="heuristic", iterations=6, levels=("1",), seed=0, overlap=True)
    base.update(kw)
    return RunSettings(**base)


def run_logged(tmp_path, script, **kw):
    """The run, and its events in order: ("start", i), ("ask", purpose), ("done", i, decision)."""
    log: list[tuple] = []
    events = LoopEvents(trial_started=lambda i, c, b: log.append(("start", i)),
                        trial_finished=lambda t: log.append(("done", t.index, t.decision)),
                        model_asked=lambda purpose: log.append(("ask", purpose)))
    result = Run.create(settings(script, **kw), tmp_path, events=events).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    store.close()
    return result, trials, log


def asked_while_training(log) -> int:
    """Proposals asked between a trial's start and its end."""
    training, count = False, 0
    for entry in log:
        if entry[0] == "start":
            training = True
        elif entry[0] == "done":
            training = False
        elif entry == ("ask", "propose") and training:
            count += 1
    return count


def scripted(reply, model, changes):
    """The model's reply with its changes replaced by ``changes`` (validated by the request's own schema)."""
    value = model.model_validate({"changes": [{"name": k, "value": v} for k, v in changes.items()],
                                  "rationale": reply.value.rationale})
    return LLMReply(value, reply.exchange)


def test_the_next_proposal_is_asked_while_the_trial_trains_and_none_is_wasted(tmp_path, quad_script):
    result, trials, log = run_logged(tmp_path, quad_script)
    assert result.status == "finished"
    ran = [t for t in trials if t.decision not in (Decision.BASELINE, Decision.REJECTED)]
    assert len(ran) == 6
    proposals = sum(1 for entry in log if entry == ("ask", "propose"))
    # Every iteration but the last asks ahead for the next; the last one asks nothing more.
    assert asked_while_training(log) == 5
    assert proposals == 6 + sum(t.decision is Decision.REJECTED for t in trials)


def test_without_overlap_no_proposal_is_asked_while_a_trial_trains(tmp_path, quad_script):
    _result, _trials, log = run_logged(tmp_path, quad_script, overlap=False)
    assert asked_while_training(log) == 0


def test_no_proposal_is_asked_ahead_across_a_cycle_or_for_a_sampler(tmp_path, quad_script):
    _result, _trials, log = run_logged(tmp_path, quad_script, levels=("1", "1.5"), outer_every=3)
    # Iterations 1, 2, 4, 5 ask ahead; 3 is followed by a Level 1.5 cycle, 6 is the last.
    assert asked_while_training(log) == 4
    _result, _trials, log = run_logged(tmp_path / "sampled", quad_script, proposer="sampler", warm_start=2)
    # The model proposes the two warm-start trials; only the first is followed by another of its turns.
    assert asked_while_training(log) == 1


def test_a_proposal_asked_ahead_applies_to_the_incumbent_it_runs_from(tmp_path, quad_script, wrap_provider):
    """Trial 1 is kept while trial 2's proposal (one parameter) is asked: trial 2 runs from trial 1's config."""
    answers = iter([{"LEARNING_RATE": 0.003}, {"DEPTH": 6}, {"WEIGHT_DECAY": 0.05}])

    def answer(inner, request, model):
        reply = inner.ask(request, model)
        if request.purpose != "propose":
            return reply
        return scripted(reply, model, next(answers))

    wrap_provider(answer)
    _result, trials, _log = run_logged(tmp_path, quad_script, iterations=3)
    by_index = {t.index: t for t in trials}
    assert by_index[1].changes == {"LEARNING_RATE": 0.003} and by_index[1].decision is Decision.KEEP
    assert by_index[2].changes == {"DEPTH": 6}
    assert by_index[2].config["LEARNING_RATE"] == 0.003 and by_index[2].config["DEPTH"] == 6


def test_a_proposal_that_became_a_no_op_is_rejected_when_taken_and_the_model_asked_again(tmp_path, quad_script,
                                                                                          wrap_provider):
    """Trial 2's proposal, asked while trial 1 trained, repeats trial 1's change: once trial 1 is kept it changes
    nothing, is rejected with the trial it was asked beside, and the model proposes again."""
    answers = iter([{"LEARNING_RATE": 0.003}, {"LEARNING_RATE": 0.003}, {"DEPTH": 6}, {"DEPTH": 5}])

    def answer(inner, request, model):
        reply = inner.ask(request, model)
        if request.purpose != "propose":
            return reply
        return scripted(reply, model, next(answers))

    wrap_provider(answer)
    _result, trials, _log = run_logged(tmp_path, quad_script, iterations=2)
    rejected = [t for t in trials if t.decision is Decision.REJECTED]
    assert len(rejected) == 1 and rejected[0].reason.startswith("no-change: ")
    assert "(proposed while #1 trained)" in rejected[0].reason
    assert [t.changes for t in trials if t.decision not in (Decision.BASELINE, Decision.REJECTED)] == \
        [{"LEARNING_RATE": 0.003}, {"DEPTH": 6}]


def test_overlap_needs_one_worker(quad_script):
    with pytest.raises(ConfigError, match=r"overlap .* needs workers 1, got 2"):
        settings(quad_script, workers=2)


def test_a_run_stopping_failure_asked_ahead_stops_the_run_after_the_training_trial_is_stored(tmp_path, quad_script,
                                                                                          wrap_provider):
    """The budget runs out on the proposal asked while trial 1 trains: trial 1 is stored and decided, then the run
    stops with the failure's code and resumes from there."""
    asked: list[str] = []

    def answer(inner, request, model):
        if request.purpose == "propose":
            asked.append("propose")
            if len(asked) == 2:
                raise ProviderError("the token budget is spent", code="budget-exceeded")
        return inner.ask(request, model)

    wrap_provider(answer)
    result, trials, _log = run_logged(tmp_path, quad_script, iterations=3)
    assert result.status == "stopped"  # a budget stop: resumable with more budget
    assert [t.index for t in trials] == [0, 1] and trials[1].decision is not Decision.REJECTED
    with RunStore.open(result.run_dir / "run.sqlite") as store:
        assert store.in_flight(result.run_id) == []
        assert store.get_state(result.run_id, "iteration") == 1
