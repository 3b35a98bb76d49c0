"""Level 2 ``fill`` by rule: a fixed method body per hook, in place of a model's continuation.

A stand-in, not evidence: the bodies below are written by hand, one per hook,
so that a run with the heuristic provider exercises the fill-in path end to
end (admission, the sandbox, the trial loop). A mechanism that works with
them says nothing about what a model would write.

The source, filter and advisor bodies call helper functions the engine puts
in the module it completes (``least_tried``, ``move``, ``was_tried``,
``untried``); the acceptance and observer bodies return the hook's neutral
answer (keep a strict improvement, as the engine does without a rule; None).
Each body is the method's statements indented by 8 spaces, ending in a newline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import provider_error

__all__ = ["FILL_BODIES", "fill_answer"]

FILL_BODIES: dict[str, str] = {
    "source": (
        "        name = least_tried(trace, list(config.active), self.rng)\n"
        "        if name is None:\n"
        "            return None\n"
        "        return move(trace, space, name, self.rng)\n"
    ),
    "filter": (
        "        if was_tried(trace, space, proposal.changes):\n"
        '            return "this configuration already ran"\n'
        "        return None\n"
    ),
    "advisor": (
        "        names = untried(trace, list(config.active))\n"
        "        if not names:\n"
        '            return ""\n'
        '        return "Try " + names[0] + " next: it was never changed."\n'
    ),
    "acceptance": (
        "        return trace.is_better(trial.metric, None if incumbent is None else incumbent.metric)\n"
    ),
    "observer": "        return None\n",
}


def fill_answer(context: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`CodeCompletion` answer for ``context["hook"]``; another hook is ``unsupported-request``."""
    hook = context["hook"]
    body = FILL_BODIES.get(hook) if isinstance(hook, str) else None
    if body is None:
        raise provider_error(
            "unsupported-request",
            f"the heuristic provider fills a method of hook {', '.join(FILL_BODIES)}, not {hook!r}",
        )
    return {"text": body, "finish_reason": "stop"}
