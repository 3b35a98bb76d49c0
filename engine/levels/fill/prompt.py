"""The fill-in request: a short prompt and the assistant turn pre-filled down to the method's docstring.

Everything the model needs fits in a few lines: what the trace shows, one
goal sentence, the helpers it may call, the arguments' few useful fields and
the rules. The model is never shown a complete mechanism to copy; the ideas
this run already tried are listed by name and outcome so it does not
re-invent them, and the mistakes of earlier samples in this session are
listed as pitfalls instead of showing it the failed code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from interfaces import SearchSpace, TraceView

from ..prompts import history_lines
from .goals import IDEAS, OUTCOME_TEXT, Goal
from .skeleton import Skeleton, helper_signatures

__all__ = ["FENCE", "STOP", "fill_messages"]

FENCE = "```python\n"
#: Where a method body ends: the next definition, the module's entry point, or the closing fence.
STOP = ("\n    def ", "\ndef ", "\nclass ", "\n```", "\nif __name__")

_ARGUMENTS = {
    "trace": "trace: .trials (oldest first; each has .changes dict, .config dict, .metric, .decision.value), "
             ".incumbent() (best trial or None), .last(n), .change_counts() {name: times changed}",
    "space": "space: space[name] is a spec with .name .kind ('float','int','choice','bool') .low .high .choices "
             ".log; space.names",
    "config": "config: .active (names you may change now), .max_changes",
    # Said positively with the loop to write: told "a proposal has no .name", the 1.5B wrote proposal.name.
    "proposal": "proposal: .changes, a dict {parameter name: proposed value}, read as "
                "`for name, value in proposal.changes.items():`; .rationale",
    "trial": "trial: .changes, .metric, .config",
    "incumbent": "incumbent: the current best trial or None",
}


#: The helpers each hook's prompt lists (the module defines them all): fewer choices, fewer misuses. A source
#: or an advisor is not shown stuck_parameter: given it, the 1.5B advised or proposed the stuck parameter
#: itself (12 of its 13 GPT advisor samples that stayed in the rut, and every one of 5 in a digits session
#: with leave_stuck listed beside it); leave_stuck names what to change instead.
_HELPERS_FOR = {
    "source": ("leave_stuck", "untried", "least_tried", "current", "random_value", "step", "move", "was_tried"),
    "advisor": ("leave_stuck", "untried", "least_tried", "current", "untried_direction", "step"),
    "filter": ("stuck_parameter", "most_tried", "was_tried", "recent_changes", "tried_values"),
    "acceptance": ("best_trials", "recent_changes"),
    "observer": ("recent_changes", "best_trials"),
}


def _space_lines(space: SearchSpace, names: Sequence[str]) -> list[str]:
    lines = []
    for name in names:
        spec = space[name]
        if spec.kind.value in ("float", "int"):
            scale = ", log scale" if spec.log else ""
            lines.append(f"- {name}: {spec.kind.value} in [{spec.low:g}, {spec.high:g}]{scale}")
        elif spec.kind.value == "choice":
            lines.append(f"- {name}: one of {list(spec.choices)}")
        else:
            lines.append(f"- {name}: bool")
    return lines


def fill_messages(goal: Goal, skeleton: Skeleton, trace: TraceView, space: SearchSpace, active: Sequence[str],
                  metric: str, *, tried: Sequence[Mapping[str, Any]] = (), pitfalls: Sequence[str] = (),
                  max_lines: int = 15) -> list[dict[str, str]]:
    """System, user and the pre-filled assistant turn for one sample."""
    signature = f"{skeleton.method}(self, {', '.join(skeleton.parameters)})"
    user = [
        "Parameters of the search:", *_space_lines(space, active),
        "Recent trials:", *history_lines(trace.trials, metric, limit=8),
        "",
        f"Goal: {goal.sentence}",
        "",
        f"Write only the body of {skeleton.class_name}.{signature}; the engine writes the rest of the module.",
        "Arguments:", *(f"- {_ARGUMENTS[p]}" for p in skeleton.parameters if p in _ARGUMENTS),
        "Helpers you may call (already defined at module level):",
        *(f"- {h}" for h in helper_signatures() if h.split("(", 1)[0] in _HELPERS_FOR[skeleton.hook]),
        f"Rules: at most {max_lines} lines; use self.rng for randomness (never random.xxx); keep state in "
        "self.memory (a dict); no imports, no print, no new functions or classes. The method is also tested on "
        "other searches: the trace may be empty, config.active may be empty, and a parameter named above may be "
        "missing, so check `name in space` before space[name]. " + goal.returns,
    ]
    ideas = [f"{IDEAS.get(str(t['idea']), t['idea'])} ({OUTCOME_TEXT.get(str(t.get('outcome')), 'no attempt worked')})"
             for t in tried if t.get("idea")]
    if ideas:
        user.append("Earlier in this run: " + "; ".join(ideas) + ". Do not repeat what did not help.")
    if pitfalls:
        user.append("Avoid these mistakes of earlier attempts:")
        user.extend(f"- {p}" for p in pitfalls[-6:])
    return [
        {"role": "system", "content": "You write the body of one Python method. Answer with code only."},
        {"role": "user", "content": "\n".join(user)},
        {"role": "assistant", "content": FENCE + skeleton.prefill},
    ]
