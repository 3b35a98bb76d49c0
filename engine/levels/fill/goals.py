"""Which hook to fill, and to what end, chosen in code from the trace.

A small model cannot be trusted to pair a symptom with a hook that can act on
it (asked, it pairs a fixation with an acceptance rule). The engine reads the
rut off the trace itself (a parameter changed again and again without a keep,
parameters never changed, directions never tried) and picks an *idea*: a hook
plus one goal sentence naming the parameters. Ideas this run already tried
are skipped while an untried one fits (the tabu list over ideas); when every
fitting idea was tried, the one that fared best is tried again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interfaces import SearchConfig, SearchSpace, TraceView

from .helpers import stuck_parameter, untried, untried_direction

__all__ = ["IDEAS", "OUTCOME_TEXT", "Goal", "Rut", "choose_goal", "find_rut"]

#: How a tried idea fared, best first: the order used when every fitting idea was tried.
_OUTCOME_RANK = {"kept": 0, "reverted": 1, "activated": 1, "ejected": 2, "nothing-passed": 3, "rejected": 3}


@dataclass(frozen=True)
class Rut:
    """What the trace shows Level 1 is stuck in."""

    stuck: str | None  # changed in half the recent trials, none of them kept
    untried: tuple[str, ...]  # active parameters never changed
    directions: Mapping[str, int]  # active numeric parameters with a direction never tried: +1 or -1
    discard_streak: int
    duplicates: int

    @property
    def present(self) -> bool:
        return self.stuck is not None or self.discard_streak >= 4 or self.duplicates >= 2

    def to_dict(self) -> dict[str, Any]:
        return {"stuck": self.stuck, "untried": list(self.untried), "directions": dict(self.directions),
                "discard_streak": self.discard_streak, "duplicates": self.duplicates}


@dataclass(frozen=True)
class Goal:
    """One idea to fill: the hook, a stable idea key, the sentence the model reads, the class name."""

    idea: str
    hook: str
    sentence: str
    returns: str
    class_name: str
    rut: Rut

    def to_dict(self) -> dict[str, Any]:
        return {"idea": self.idea, "hook": self.hook, "sentence": self.sentence, "class_name": self.class_name,
                "rut": self.rut.to_dict()}


def find_rut(trace: TraceView, space: SearchSpace, config: SearchConfig) -> Rut:
    active = [name for name in config.active if name in space]
    directions = {}
    for name in active:
        direction = untried_direction(trace, space, name)
        if direction:
            directions[name] = direction
    duplicates = sum(1 for t in trace.trials if t.decision.value == "rejected" and t.reason.startswith("duplicate"))
    return Rut(stuck_parameter(trace), tuple(untried(trace, active)), directions, trace.discard_streak(), duplicates)


def _names(names: Sequence[str], limit: int = 4) -> str:
    shown = list(names[:limit])
    return ", ".join(shown) + (" and others" if len(names) > limit else "") if shown else "none"


_RETURNS = {
    "source": "Return a dict {parameter name: new value} changing one or two parameters in config.active, "
              "or None to let the LLM propose.",
    "advisor": "Return one short sentence naming the parameter to change next and how, or \"\" for no advice.",
    "filter": "Return None to let the proposal run, or one sentence saying why it is vetoed. "
              "Veto only some proposals, never all.",
}


_BALANCE = ("Advise which parameter to change next so every active parameter gets tried: name the one changed "
            "least and a value for it.")


def _ideas(rut: Rut) -> list[tuple[str, str, str, str]]:
    """(idea, hook, sentence, class name) that fit the rut, most fitting first."""
    stuck = rut.stuck
    others = [n for n in rut.untried if n != stuck]
    down = [n for n, d in rut.directions.items() if d < 0 and n != stuck]
    ideas: list[tuple[str, str, str, str]] = []
    if stuck is not None:
        ideas.append(("leave-stuck-source", "source",
                      f"Level 1 keeps changing {stuck} without any gain. Propose a change to a parameter other "
                      f"than {stuck}, preferring ones never changed ({_names(others)}).", "LeaveRutSource"))
        ideas.append(("leave-stuck-advisor", "advisor",
                      f"Level 1 keeps changing {stuck} without any gain. Advise it to change another parameter "
                      f"(never changed: {_names(others)}) and say in which direction.", "LeaveRutAdvisor"))
        ideas.append(("stuck-filter", "filter",
                      f"Level 1 keeps changing {stuck} without any gain. Veto a proposal that changes {stuck} "
                      "again when it was changed in most recent trials; let other proposals run.", "StuckFilter"))
    if down:
        ideas.append(("untried-direction-source", "source",
                      f"Some parameters were never moved downward ({_names(down)}). Propose moving one of them "
                      "in its untried direction.", "UntriedDirectionSource"))
    if rut.duplicates >= 2 or stuck is not None:
        ideas.append(("repeat-filter", "filter",
                      "Level 1 proposes configurations that already ran. Veto a proposal whose configuration "
                      "was already tried; let new ones run.", "RepeatFilter"))
    if rut.discard_streak >= 4 or not ideas:
        ideas.append(("bold-source", "source",
                      f"The last {rut.discard_streak} trials were all discarded. Propose a bolder move: a random "
                      "value for the parameter changed least so far.", "BoldMoveSource"))
        ideas.append(("balance-advisor", "advisor", _BALANCE, "BalanceAdvisor"))
    return ideas


def choose_goal(trace: TraceView, space: SearchSpace, config: SearchConfig,
                tried: Sequence[Mapping[str, Any]], busy: Sequence[str] = ()) -> Goal:
    """The idea for this session: the first fitting one not tried yet, else the best-faring one tried.

    ``busy`` names hooks where a new mechanism would never act: a second
    source is never asked while the first one proposes, so while a source is
    active the ideas for other hooks come first.
    """
    rut = find_rut(trace, space, config)
    ideas = _ideas(rut)
    if busy and all(i[1] in busy for i in ideas):
        ideas.append(("balance-advisor", "advisor", _BALANCE, "BalanceAdvisor"))  # something that can act now
    ideas = [i for i in ideas if i[1] not in busy] + [i for i in ideas if i[1] in busy]
    outcomes: dict[str, list[str]] = {}
    for item in tried:
        if item.get("idea"):
            outcomes.setdefault(str(item["idea"]), []).append(str(item.get("outcome", "rejected")))
    fresh = [idea for idea in ideas if idea[0] not in outcomes]
    if fresh:
        chosen = fresh[0]
    else:
        def fared(idea: tuple[str, str, str, str]) -> tuple[int, int]:
            results = outcomes[idea[0]]
            return min(_OUTCOME_RANK.get(r, 3) for r in results), len(results)
        chosen = min(ideas, key=fared)
    idea, hook, sentence, class_name = chosen
    return Goal(idea, hook, sentence, _RETURNS[hook], class_name, rut)


#: Each idea in words, for the prompt's list of what this run already tried (its keys read like code,
#: and a small model turns them into string comparisons).
IDEAS = {
    "leave-stuck-source": "proposing a change to a parameter other than the stuck one",
    "leave-stuck-advisor": "advising a parameter other than the stuck one",
    "stuck-filter": "vetoing another change to the stuck parameter",
    "untried-direction-source": "moving a parameter in a direction never tried",
    "repeat-filter": "vetoing configurations that already ran",
    "bold-source": "a bold random value for the least changed parameter",
    "balance-advisor": "advising the least changed parameter",
}
#: How an outcome reads in the prompt.
OUTCOME_TEXT = {"kept": "it helped and was kept", "reverted": "it did not help", "ejected": "it failed at run time",
                "activated": "still being evaluated", "nothing-passed": "no attempt worked",
                "rejected": "no attempt worked"}
