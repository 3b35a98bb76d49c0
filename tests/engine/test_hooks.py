"""How the hook registry combines the mechanisms of each hook.

The registry is driven by a scripted caller standing in for the mechanism
host: each mechanism answers from a list (a value, or a failed call with its
code). Every property compares the registry with the combination rule written
out here, one per built-in hook, for any answers: what the public method
returns, who was asked, who was ejected and with which code, and which effects
were recorded with which data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings, strategies as st

from engine.hooks import HookRegistry
from interfaces import Proposal, SearchConfig, SearchSpace, TraceView, Trial
from sandbox import strategies as sst

EXAMPLES = settings(max_examples=60, deadline=None)


@dataclass(frozen=True)
class Reply:
    ok: bool
    value: Any = None
    code: str = ""
    message: str = ""


class ScriptedCaller:
    """Answers each handle's calls with its scripted replies, in order; records every call."""

    def __init__(self, replies: dict[str, Reply]) -> None:
        self.replies = replies
        self.called: list[str] = []
        self.unloaded: list[str] = []

    def call(self, handle: str, *args: Any) -> Reply:
        self.called.append(handle)
        return self.replies[handle]

    def unload(self, handle: str) -> bool:
        self.unloaded.append(handle)
        return True


# Any answer a fake can give: what the host would let through and what it would not.
answers = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(" ab\n", max_size=8),
    st.text("x", min_size=290, max_size=620), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["LR", "WD"]), st.integers(0, 9), max_size=2),
    st.dictionaries(st.integers(0, 3), st.integers(), min_size=1, max_size=1),
)
replies = st.one_of(answers.map(lambda value: Reply(True, value)),
                    st.sampled_from(["call-raised", "call-timeout"]).map(lambda code: Reply(False, None, code, "x")))


@dataclass
class Situation:
    registry: HookRegistry
    caller: ScriptedCaller
    names: list[str]
    events: list[tuple[Any, ...]]

    def effects(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e[0], e[3]) for e in self.events if e[1] == "effect"]

    def ejected(self) -> list[tuple[str, str]]:
        return [(e["name"], e["code"]) for e in self.registry.ejected]


def situation(hook: str, scripted: list[Reply], trial_index: int = 4) -> Situation:
    names = [f"m{number}" for number in range(len(scripted))]
    caller = ScriptedCaller(dict(zip(names, scripted, strict=True)))
    events: list[tuple[Any, ...]] = []
    registry = HookRegistry(caller, on_event=lambda *event: events.append(event))
    for at, name in enumerate(names):
        registry.activate(name, hook, name, at)
    registry.trial_index = trial_index
    return Situation(registry, caller, names, events)


SPACE = SearchSpace.from_dict({"params": [{"name": "LR", "kind": "float", "default": 0.1, "low": 0.01, "high": 1.0}]})
TRACE = TraceView(())
CONFIG = SearchConfig(active=("LR",))


@EXAMPLES
@given(scripted=st.lists(replies, max_size=4))
def test_sources_the_first_proposal_wins(scripted):
    s = situation("source", scripted)
    expected, asked, ejected = None, [], []
    for name, reply in zip(s.names, scripted, strict=True):
        asked.append(name)
        if not reply.ok:
            ejected.append((name, reply.code))
        elif reply.value is None:
            continue
        elif not (isinstance(reply.value, dict) and all(isinstance(k, str) for k in reply.value)):
            ejected.append((name, "wrong-return-type"))
        else:
            expected = (reply.value, name)
            break
    assert s.registry.propose(TRACE, SPACE, CONFIG) == expected
    assert s.caller.called == asked and s.ejected() == ejected
    assert s.effects() == ([] if expected is None else
                           [(expected[1], {"changes": expected[0], "effect": "proposed", "trial": 4})])


@EXAMPLES
@given(scripted=st.lists(replies, max_size=4))
def test_filters_the_first_veto_wins(scripted):
    s = situation("filter", scripted)
    proposal = Proposal({"LR": 0.5}, "why")
    expected, asked, ejected = None, [], []
    for name, reply in zip(s.names, scripted, strict=True):
        asked.append(name)
        if not reply.ok:
            ejected.append((name, reply.code))
        elif reply.value is not None:
            expected = (str(reply.value)[:300], name)
            break
    assert s.registry.veto(proposal, TRACE, SPACE) == expected
    assert s.caller.called == asked and s.ejected() == ejected
    assert s.effects() == ([] if expected is None else [(expected[1], {
        "changes": {"LR": 0.5}, "reason": expected[0], "effect": "vetoed", "trial": 4})])


@EXAMPLES
@given(scripted=st.lists(replies, max_size=4))
def test_advisors_all_advice_is_joined(scripted):
    s = situation("advisor", scripted)
    expected = [(name, reply.value.strip()[:500]) for name, reply in zip(s.names, scripted, strict=True)
                if reply.ok and isinstance(reply.value, str) and reply.value.strip()]
    assert s.registry.advise(TRACE, SPACE, CONFIG) == expected
    assert s.caller.called == s.names
    assert s.ejected() == [(n, r.code) for n, r in zip(s.names, scripted, strict=True) if not r.ok]
    assert s.effects() == [(name, {"advice": text, "effect": "advised", "trial": 4}) for name, text in expected]


@EXAMPLES
@given(scripted=st.lists(replies, max_size=3), default=st.booleans(), data=st.data())
def test_acceptance_the_most_recently_activated_rule_decides(scripted, default, data):
    space = data.draw(sst.spaces())
    trace = data.draw(sst.traces(space))
    trial: Trial = data.draw(sst.trials(space, index=len(trace), ok=True))
    s = situation("acceptance", scripted)
    expected, effects, ejected = (default, None), [], []
    if scripted:
        name, reply = s.names[-1], scripted[-1]
        if not reply.ok:
            ejected.append((name, reply.code))
        elif not isinstance(reply.value, bool):
            ejected.append((name, "wrong-return-type"))
        else:
            expected = (reply.value, name)
            if reply.value != default:
                effects.append((name, {"default": default, "decision": reply.value, "effect": "flipped",
                                       "trial": 4}))
    assert s.registry.decide(trial, trace.incumbent(), trace, default) == expected
    assert s.caller.called == s.names[-1:] and s.ejected() == ejected and s.effects() == effects


@EXAMPLES
@given(scripted=st.lists(replies, max_size=4))
def test_observers_all_see_every_trial_and_their_answers_are_not_effects(scripted):
    s = situation("observer", scripted)
    trial = Trial(0, {"LR": 0.1}, {}, "ok", 1.0, "baseline")
    assert s.registry.observe(trial, TraceView((trial,))) is None
    assert s.caller.called == s.names and s.effects() == []
    assert s.ejected() == [(n, r.code) for n, r in zip(s.names, scripted, strict=True) if not r.ok]
    assert [m.calls for m in s.registry.active] == [1 for r in scripted if r.ok]


def test_an_ejected_mechanism_is_unloaded_and_never_asked_again():
    s = situation("source", [Reply(False, None, "call-raised", "boom"), Reply(True, {"LR": 0.2})])
    assert s.registry.propose(TRACE, SPACE, CONFIG) == ({"LR": 0.2}, "m1")
    assert s.caller.unloaded == ["m0"] and [m.name for m in s.registry.of("source")] == ["m1"]
    assert s.registry.propose(TRACE, SPACE, CONFIG) == ({"LR": 0.2}, "m1")
    assert s.caller.called == ["m0", "m1", "m1"]
    ejection = next(e for e in s.events if e[1] == "ejection")
    assert ejection[3]["code"] == "call-raised" and ejection[3]["reason"] == "boom"
