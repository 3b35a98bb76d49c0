"""The heuristic stand-in's ``fill`` answers: one hand-written method body per hook."""

from __future__ import annotations

from typing import ClassVar

import pytest

from engine.llm import CodeCompletion, HeuristicProvider, LLMRequest, ProposalAnswer
from interfaces import Decision, ProviderError, TraceView

from .helpers import GPT_SPACE, catalog, config, trial

SIGNATURES = {
    "source": "propose(self, trace, space, config)",
    "filter": "check(self, proposal, trace, space)",
    "advisor": "advise(self, trace, space, config)",
    "acceptance": "decide(self, trial, incumbent, trace)",
    "observer": "observe(self, trial, trace)",
}


def fill(hook, **context):
    prefix = f"class Made:\n    def {SIGNATURES.get(hook, 'run(self)')}:\n        \"\"\"What it does.\"\"\"\n"
    messages = ({"role": "user", "content": "complete"}, {"role": "assistant", "content": prefix})
    return LLMRequest("fill", messages, dict(context, hook=hook), level="2")


def method(hook, helpers=None):
    """The completed method of hook ``hook``, compiled with ``helpers`` in its module namespace."""
    request = fill(hook)
    text = HeuristicProvider(0).ask(request, CodeCompletion).value.text
    namespace = dict(helpers or {})
    exec(compile(request.messages[-1]["content"] + text, "<fill>", "exec"), namespace)  # noqa: S102 - trusted text
    instance = namespace["Made"]()
    instance.rng = "the-rng"
    return getattr(instance, SIGNATURES[hook].split("(")[0])


@pytest.mark.parametrize("hook, body", [
    ("source", "        name = least_tried(trace, list(config.active), self.rng)\n"
               "        if name is None:\n"
               "            return None\n"
               "        return move(trace, space, name, self.rng)\n"),
    ("filter", "        if was_tried(trace, space, proposal.changes):\n"
               "            return \"this configuration already ran\"\n"
               "        return None\n"),
    ("advisor", "        names = untried(trace, list(config.active))\n"
                "        if not names:\n"
                "            return \"\"\n"
                "        return \"Try \" + names[0] + \" next: it was never changed.\"\n"),
])
def test_fill_answers_each_hook_with_its_body(hook, body):
    reply = HeuristicProvider(5).ask(fill(hook), CodeCompletion)
    assert reply.value == CodeCompletion(text=body, finish_reason="stop")
    assert reply.exchange.raw_text == (body,) and reply.exchange.purpose == "fill"
    assert reply.exchange.usage.calls == 1


class _Config:
    active = ("MATRIX_LR", "DEPTH")


class _Proposal:
    changes: ClassVar[dict[str, float]] = {"MATRIX_LR": 0.02}


def test_the_source_body_moves_the_least_tried_parameter_or_passes():
    calls = []
    helpers = {"least_tried": lambda trace, names, rng: calls.append(("least", names, rng)) or names[-1],
               "move": lambda trace, space, name, rng: calls.append(("move", name, rng)) or {name: 3}}
    assert method("source", helpers)("trace", "space", _Config()) == {"DEPTH": 3}
    assert calls == [("least", ["MATRIX_LR", "DEPTH"], "the-rng"), ("move", "DEPTH", "the-rng")]
    passing = {"least_tried": lambda trace, names, rng: None, "move": lambda *a: pytest.fail("moved")}
    assert method("source", passing)("trace", "space", _Config()) is None


@pytest.mark.parametrize("tried, veto", [(True, "this configuration already ran"), (False, None)])
def test_the_filter_body_vetoes_only_what_already_ran(tried, veto):
    seen = []
    helpers = {"was_tried": lambda trace, space, changes: seen.append(changes) or tried}
    assert method("filter", helpers)(_Proposal(), "trace", "space") == veto
    assert seen == [{"MATRIX_LR": 0.02}]


@pytest.mark.parametrize("names, advice", [(["DEPTH"], "Try DEPTH next: it was never changed."), ([], "")])
def test_the_advisor_body_names_an_untried_parameter(names, advice):
    helpers = {"untried": lambda trace, active: [n for n in names if n in active]}
    assert method("advisor", helpers)("trace", "space", _Config()) == advice


def test_the_acceptance_body_keeps_a_strict_improvement_like_the_engine():
    decide = method("acceptance")
    trace = TraceView.from_list([], minimize=True)
    better, worse = trial(1, {"DEPTH": 6}, Decision.KEEP, 0.9), trial(2, {"DEPTH": 10}, Decision.KEEP, 1.1)
    incumbent = trial(0, {}, Decision.KEEP, 1.0)
    assert decide(better, incumbent, trace) is True
    assert decide(worse, incumbent, trace) is False
    assert decide(trial(3, {}, Decision.KEEP, 1.0), incumbent, trace) is False
    assert decide(worse, None, trace) is True


def test_the_observer_body_returns_none():
    assert method("observer")(trial(0, {}, Decision.KEEP, 1.0), TraceView.from_list([])) is None


def test_fill_needs_the_hook_and_refuses_an_unknown_one():
    with pytest.raises(ProviderError) as missing:
        HeuristicProvider(0).ask(LLMRequest("fill", (), {}, level="2"), CodeCompletion)
    assert missing.value.code == "heuristic-context-missing"
    with pytest.raises(ProviderError) as unknown:
        HeuristicProvider(0).ask(fill("scheduler"), CodeCompletion)
    assert unknown.value.code == "unsupported-request" and "scheduler" in unknown.value.message


def test_fill_is_answered_only_as_a_completion():
    with pytest.raises(ProviderError) as caught:
        HeuristicProvider(0).ask(fill("source"), ProposalAnswer)
    assert caught.value.code == "unsupported-request" and "CodeCompletion" in caught.value.message


def test_the_other_purposes_still_answer_alongside_fill():
    provider = HeuristicProvider(2, catalog=catalog)
    provider.ask(fill("filter"), CodeCompletion)
    reply = provider.ask(LLMRequest("propose", (), {"space": GPT_SPACE.to_dict(), "config": config()}),
                         ProposalAnswer)
    assert reply.value.changes and reply.exchange.raw_text[0].startswith("{")
