"""The fill-in flow on a real rut: goals from the trace, samples through the real sandbox, verdicts, ranking."""

from __future__ import annotations

from typing import Any

import pytest

from engine.levels.fill.generate import FillSettings, best, generate
from engine.levels.fill.goals import IDEAS, choose_goal, find_rut
from engine.levels.fill.skeleton import render
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
from sandbox import MechanismHost, admit

SPACE = SearchSpace((
    ParamSpec("LR", ParamKind.FLOAT, 0.01, low=1e-4, high=1.0, log=True),
    ParamSpec("WIDTH", ParamKind.INT, 32, low=8, high=256, log=True),
    ParamSpec("ACT", ParamKind.CHOICE, "relu", choices=("relu", "tanh")),
))
CONFIG = SearchConfig(active=("LR", "WIDTH", "ACT"))


def rut_trace() -> TraceView:
    """A baseline, then Level 1 changing LR six times in small steps, nothing kept."""
    base = dict(SPACE.defaults())
    trials = [Trial(0, base, {}, TrialStatus.OK, 1.0, Decision.BASELINE, source="baseline")]
    for index, value in enumerate((0.012, 0.009, 0.011, 0.008, 0.013, 0.0095), start=1):
        trials.append(Trial(index, dict(base, LR=value), {"LR": value}, TrialStatus.OK, 1.0 + index / 100,
                            Decision.DISCARD, rationale="nudge LR", source="llm"))
    return TraceView(tuple(trials))


LEAVE = ("        name = least_tried(trace, [n for n in config.active if n != 'LR'], self.rng)\n"
         "        if name is None:\n            return None\n        return move(trace, space, name, self.rng)\n")


@pytest.fixture(scope="module")
def host():
    host = MechanismHost()
    yield host
    host.close()


def test_the_rut_and_the_idea_are_read_off_the_trace() -> None:
    trace = rut_trace()
    rut = find_rut(trace, SPACE, CONFIG)
    assert rut.stuck == "LR" and rut.untried == ("WIDTH", "ACT") and rut.present
    goal = choose_goal(trace, SPACE, CONFIG, tried=[])
    assert goal.hook == "source" and "LR" in goal.sentence and "WIDTH" in goal.sentence
    # The idea tried already (and failed) is not chosen again while another fits.
    second = choose_goal(trace, SPACE, CONFIG, tried=[{"idea": goal.idea, "outcome": "reverted"}])
    assert second.idea != goal.idea
    # With every fitting idea tried, the one that fared best comes back.
    tried = [{"idea": idea, "outcome": "kept" if idea == "leave-stuck-advisor" else "nothing-passed"}
             for idea in IDEAS]
    assert choose_goal(trace, SPACE, CONFIG, tried).idea == "leave-stuck-advisor"


def test_every_skeleton_with_a_neutral_body_is_admitted() -> None:
    neutral = {"source": "        return None\n", "advisor": "        return ''\n", "filter": "        return None\n"}
    for hook, body in neutral.items():
        skeleton = render(hook, "Probe", "Goal sentence.", "Return rule.")
        admission = admit(skeleton.assemble(body), hook)
        assert admission.admitted, admission.violations


def test_samples_are_judged_and_violations_carry_the_body_line(host: Any) -> None:
    trace = rut_trace()
    goal = choose_goal(trace, SPACE, CONFIG, tried=[])
    bodies = iter([
        "        pass\n",  # does nothing
        "        x = 1\n        data = open('/etc/passwd').read()\n        return None\n",  # forbidden
        "        return {'LR': 0.02}\n",  # stays on the stuck parameter
        "        names = list(config.active)\n        return {names[0]: trace.nothing}\n",
        LEAVE,
        LEAVE,
    ])
    prompts: list[str] = []
    options_seen: list[Any] = []

    def ask(messages: list[dict[str, str]], options: Any) -> tuple[str, int]:
        prompts.append(messages[1]["content"])
        options_seen.append(dict(options))
        assert messages[-1]["role"] == "assistant" and messages[-1]["content"].rstrip().endswith('"""')
        return next(bodies), 10

    candidates = generate(ask, goal, trace, SPACE, CONFIG, "loss", host=host, seed=1,
                          settings=FillSettings(samples=4, repairs=2))
    verdicts = [c.verdict for c in candidates]
    assert verdicts[:4] == ["empty-body", "rejected", "stays-in-rut", "rejected"]
    assert "on the trace as it is now" in candidates[2].reason and "LR" in candidates[2].reason
    raised = candidates[3].violations[0]  # a runtime error in the conformance suite, at the body's line
    assert raised["code"] == "call-raised" and raised["body_line"] == 2 and "raised" in raised["message"]
    assert verdicts[4] == "passed"
    forbidden = candidates[1].violations[0]
    assert forbidden["body_line"] == 2  # the line of the body the model wrote, not of the module
    # The repair draws are fresh samples told what went wrong; the failed code is never shown back
    # (a small model copies what it is shown).
    assert "Avoid these mistakes" in prompts[4] and "open" in prompts[4]
    assert "/etc/passwd" not in prompts[4] and "trace.nothing" not in prompts[4]
    assert "Avoid" not in prompts[0]
    assert len({o["seed"] for o in options_seen}) == len(options_seen) and options_seen[0]["temperature"] > 0
    chosen = best(candidates)
    assert chosen is not None and chosen.number == 5
    assert chosen.behaviour is not None and chosen.behaviour.leaves_rut == 1.0
    assert chosen.likeness is not None and chosen.likeness.verdict == "new"


def test_a_source_whose_next_proposal_the_loop_would_reject_does_not_pass(host: Any) -> None:
    # WIDTH at its current value changes nothing; ACT=tanh from the incumbent is new. A source that
    # answers the first on the trace as it is now would cost every iteration a rejection.
    trace = rut_trace()
    goal = choose_goal(trace, SPACE, CONFIG, tried=[])
    assert goal.hook == "source"
    standing = ("        if len(trace.trials) > 6:\n            return {'WIDTH': 32}\n"
                "        return {'WIDTH': 16 + len(trace.trials)}\n")
    tried_before = ("        if len(trace.trials) > 6:\n            return {'LR': 0.012, 'WIDTH': 32}\n"
                    "        return {'WIDTH': 16 + len(trace.trials)}\n")
    bodies = iter([standing, tried_before, LEAVE])
    candidates = generate(lambda m, o: (next(bodies), 1), goal, trace, SPACE, CONFIG, "loss", host=host,
                          seed=4, settings=FillSettings(samples=3, repairs=0))
    assert [c.verdict for c in candidates] == ["no-change", "no-change", "passed"]
    assert "changes nothing" in candidates[0].reason and "already tried" in candidates[1].reason


def test_a_filter_that_vetoes_everything_does_not_pass(host: Any) -> None:
    trace = rut_trace()
    goal = choose_goal(trace, SPACE, CONFIG, tried=[{"idea": "leave-stuck-source"},
                                                    {"idea": "leave-stuck-advisor"}])
    assert goal.hook == "filter"
    bodies = iter(["        return 'no'\n",
                   "        if 'LR' in proposal.changes and len(trace.trials) > 3:\n"
                   "            return 'LR again'\n        return None\n"])
    candidates = generate(lambda m, o: (next(bodies), 1), goal, trace, SPACE, CONFIG, "loss", host=host,
                          seed=2, settings=FillSettings(samples=2, repairs=0))
    assert [c.verdict for c in candidates] == ["all-vetoed", "passed"]
    assert "vetoed" in candidates[1].behaviour.reason


def long_rut_trace() -> TraceView:
    """A baseline, then LR changed ten times, nothing kept: every replayed proposal is in the rut."""
    base = dict(SPACE.defaults())
    trials = [Trial(0, base, {}, TrialStatus.OK, 1.0, Decision.BASELINE, source="baseline")]
    for index in range(1, 11):
        value = 0.01 + index / 1000
        trials.append(Trial(index, dict(base, LR=value), {"LR": value}, TrialStatus.OK, 1.0 + index / 100,
                            Decision.DISCARD, rationale="nudge LR", source="llm"))
    return TraceView(tuple(trials))


def _filter_goal(trace: TraceView) -> Any:
    goal = choose_goal(trace, SPACE, CONFIG, tried=[{"idea": "leave-stuck-source"}, {"idea": "leave-stuck-advisor"}])
    assert goal.hook == "filter"
    return goal


def test_a_filter_vetoing_every_return_to_the_stuck_parameter_passes_when_it_lets_the_way_out_run(host: Any) -> None:
    # Every replayed proposal changed LR, so the filter asked for vetoes all of them; what shows it
    # would not stall the search is the probe on the trace as it is now: a new change to WIDTH or ACT.
    trace = long_rut_trace()
    goal = _filter_goal(trace)
    stuck_only = ("        stuck = stuck_parameter(trace)\n        if stuck and stuck in proposal.changes:\n"
                  "            return 'changes ' + stuck + ' again'\n        return None\n")
    everything = "        return 'no'\n"
    blocks = ("        if len(trace.trials) > 10:\n            return 'enough'\n        return None\n")
    bodies = iter([stuck_only, everything, blocks])
    candidates = generate(lambda m, o: (next(bodies), 1), goal, trace, SPACE, CONFIG, "loss", host=host,
                          seed=5, settings=FillSettings(samples=3, repairs=0))
    assert [c.verdict for c in candidates] == ["passed", "all-vetoed", "blocks-way-out"]
    passed = candidates[0].behaviour
    assert passed is not None and passed.effects == 7  # the 6 replayed proposals and the repeat, all LR
    assert "let a way out of the rut run" in passed.reason
    assert "WIDTH" in candidates[2].reason or "ACT" in candidates[2].reason


def test_a_repeat_filter_passes_by_vetoing_a_configuration_that_ran(host: Any) -> None:
    # No replayed proposal repeated a configuration, so only the repeat probe shows this filter acting.
    trace = long_rut_trace()
    goal = _filter_goal(trace)
    repeat = ("        if was_tried(trace, space, proposal.changes):\n            return 'that configuration ran'\n"
              "        return None\n")
    candidates = generate(lambda m, o: (repeat, 1), goal, trace, SPACE, CONFIG, "loss", host=host,
                          seed=6, settings=FillSettings(samples=1, repairs=0))
    behaviour = candidates[0].behaviour
    assert candidates[0].verdict == "passed" and behaviour is not None and behaviour.effects == 1
    assert behaviour.samples == ("that configuration ran",)


def test_an_advisor_that_leaves_the_rut_only_on_old_traces_does_not_pass(host: Any) -> None:
    # Early in the trace nothing looks stuck, so it names other parameters; on the trace as it is now
    # it names the stuck one: spliced in, it would lead Level 1 straight back into the rut.
    trace = rut_trace()
    goal = choose_goal(trace, SPACE, CONFIG, tried=[{"idea": "leave-stuck-source"}])
    assert goal.hook == "advisor"
    sneaky = ("        stuck = stuck_parameter(trace)\n        if stuck:\n            return 'Change ' + stuck + ' again'\n"
              "        return 'Try WIDTH next'\n")
    honest = ("        stuck = stuck_parameter(trace)\n        names = [n for n in untried(trace, list(config.active))"
              " if n != stuck]\n        if not names:\n            return ''\n"
              "        return 'Try ' + names[0] + ' next: it was never changed'\n")
    bodies = iter([sneaky, honest])
    candidates = generate(lambda m, o: (next(bodies), 1), goal, trace, SPACE, CONFIG, "loss", host=host,
                          seed=3, settings=FillSettings(samples=2, repairs=0))
    assert [c.verdict for c in candidates] == ["stays-in-rut", "passed"]
    assert "Change LR again" in candidates[0].reason


def test_while_a_source_is_active_ideas_for_other_hooks_come_first() -> None:
    # A second source is never asked while the first one proposes.
    trace = rut_trace()
    assert choose_goal(trace, SPACE, CONFIG, tried=[]).hook == "source"
    assert choose_goal(trace, SPACE, CONFIG, tried=[], busy=["source"]).hook != "source"


def test_the_prompt_lists_the_hooks_helpers_and_the_ideas_tried_in_words() -> None:
    from engine.levels.fill.prompt import fill_messages

    trace = rut_trace()
    goal = choose_goal(trace, SPACE, CONFIG, tried=[])
    skeleton = render(goal.hook, goal.class_name, goal.sentence, goal.returns)
    messages = fill_messages(goal, skeleton, trace, SPACE, list(CONFIG.active), "loss",
                             tried=[{"idea": "repeat-filter", "outcome": "reverted"}])
    user = messages[1]["content"]
    assert "- move(trace, space, name, rng)" in user and "recent_changes(" not in user  # a source's helpers only
    assert "vetoing configurations that already ran (it did not help)" in user and "repeat-filter" not in user
    assert goal.sentence in user and messages[2]["content"].endswith('"""\n')
    # What to change instead of the stuck parameter, and not the stuck parameter itself to change.
    assert "- leave_stuck(trace, names, rng)" in user and "stuck_parameter(" not in user


def test_a_filter_is_shown_the_stuck_parameter_to_veto() -> None:
    from engine.levels.fill.prompt import fill_messages

    trace = rut_trace()
    goal = next(g for g in (choose_goal(trace, SPACE, CONFIG, tried=[{"idea": i, "outcome": "reverted"}
                                                                       for i in IDEAS if i != "stuck-filter"]),)
                if g.hook == "filter")
    skeleton = render(goal.hook, goal.class_name, goal.sentence, goal.returns)
    user = fill_messages(goal, skeleton, trace, SPACE, list(CONFIG.active), "loss")[1]["content"]
    assert "- stuck_parameter(trace, window=8)" in user and "leave_stuck(" not in user


def test_when_every_fitting_idea_is_for_a_busy_hook_another_hook_is_offered() -> None:
    # Nothing stuck, no streak: only a direction never tried fits, and that idea is a source.
    base = dict(SPACE.defaults())
    trials = [Trial(0, base, {}, TrialStatus.OK, 1.0, Decision.BASELINE, source="baseline"),
              Trial(1, dict(base, LR=0.02), {"LR": 0.02}, TrialStatus.OK, 0.9, Decision.KEEP, source="llm")]
    trace = TraceView(tuple(trials))
    assert choose_goal(trace, SPACE, CONFIG, tried=[]).hook == "source"
    assert choose_goal(trace, SPACE, CONFIG, tried=[], busy=["source"]).idea == "balance-advisor"


def test_a_source_proposing_a_choice_of_tuples_passes_though_the_sandbox_hands_it_over_as_a_list(host: Any) -> None:
    # A tuple in a mechanism's answer arrives as a list (plain data); the loop coerces it back to the
    # choice it is, and so must the check, or every source that moves Adam's betas would be refused.
    space = SearchSpace(SPACE.params + (ParamSpec("BETAS", ParamKind.CHOICE, (0.9, 0.95),
                                                  choices=((0.9, 0.95), (0.8, 0.99))),))
    config = SearchConfig(active=("LR", "WIDTH", "ACT", "BETAS"))
    base = dict(space.defaults())
    trials = [Trial(0, base, {}, TrialStatus.OK, 1.0, Decision.BASELINE, source="baseline")]
    for index, value in enumerate((0.012, 0.009, 0.011, 0.008, 0.013, 0.0095), start=1):
        trials.append(Trial(index, dict(base, LR=value), {"LR": value}, TrialStatus.OK, 1.0 + index / 100,
                            Decision.DISCARD, rationale="nudge LR", source="llm"))
    trace = TraceView(tuple(trials))
    goal = choose_goal(trace, space, config, tried=[])
    assert goal.hook == "source"
    body = "        return {'BETAS': (0.8, 0.99), 'WIDTH': 16 + len(trace.trials)}\n"
    candidates = generate(lambda m, o: (body, 1), goal, trace, space, config, "loss", host=host, seed=2,
                          settings=FillSettings(samples=1, repairs=0))
    assert candidates[0].verdict == "passed", candidates[0].reason
