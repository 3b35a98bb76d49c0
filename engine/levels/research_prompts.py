"""The Level 2 prompts, one function per round.

The contract parts come from :mod:`engine.levels.contract`, which reads the
interface modules' docstrings; the worked example is a library mechanism of
the same hook. Nothing here restates the contract by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from interfaces import HOOKS, TraceView

from .contract import all_hooks_summary, argument_types, example_source, general_contract, hook_contract
from .prompts import history_lines

__all__ = ["explore_messages", "critique_prompt", "specify_prompt", "generate_prompt", "repair_prompt",
           "shown_example"]


def explore_messages(trace: TraceView, metric: str, facts: dict[str, Any], tried: Sequence[dict[str, Any]],
                     active: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    system = ("You design search mechanisms for a hyperparameter search loop. A mechanism is a small "
              "Python class plugged into one hook of the loop. Hooks:\n" + all_hooks_summary())
    active_text = ", ".join(f"{m['name']} ({m['hook']})" for m in active) or "none"
    tried_text = ", ".join(f"{t['name']} ({t['hook']})" for t in tried) or "none"
    user = "\n".join([
        "Trace facts: " + json.dumps(facts),
        "Recent trials:", *history_lines(trace.trials, metric, limit=12),
        f"Active mechanisms: {active_text}", f"Already tried in this run: {tried_text}",
        "Explore: diagnose what is going wrong in this search, and list 2 or 3 candidate mechanisms "
        "from other fields (combinatorial optimisation, bandits, design of experiments, Bayesian "
        "optimisation, statistics) that could fix it.",
    ])
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def critique_prompt(facts: dict[str, Any]) -> str:
    return ("Critique: weigh each candidate against the failure seen in the trace (repetition, fixation, "
            "plateaus, noise). Choose the one most likely to help and say why.")


def specify_prompt(tried: Sequence[dict[str, Any]]) -> str:
    avoid = ", ".join(t["name"] for t in tried) or "none"
    return ("Specify: name the chosen mechanism (snake_case), pick its hook (filter, source, advisor, "
            f"acceptance or observer), its class name and its behaviour in a few sentences. Do not repeat: {avoid}.")


def shown_example(hook: str) -> tuple[str, str, str] | None:
    """The worked example for a Generate prompt: ``(its hook, name, compact source)``, of another hook.

    A model shown a complete mechanism of the hook it is asked for returns
    that mechanism, renamed; one of another hook teaches the module's shape
    (imports, class, ``build``) without being the answer.
    """
    hooks = list(HOOKS)
    for other in hooks[hooks.index(hook) + 1:] + hooks[:hooks.index(hook)]:
        example = example_source(other)
        if example is not None:
            return (other, *example)
    return None


def generate_prompt(hook: str, class_name: str) -> str:
    example = shown_example(hook)
    shown = "" if example is None else (
        f"\n\nA correct mechanism for another hook, {example[0]}, from the library ({example[1]}); follow its "
        f"shape (imports, class, build), not its method:\n```python\n{example[2]}```")
    return ("Generate: write the complete Python module for the mechanism.\n\n"
            "Rules:\n" + general_contract() + "\n\nThe hook:\n" + hook_contract(hook) +
            "\n\nWhat the arguments offer:\n" + argument_types(hook) + shown +
            f"\n\nDefine class {class_name} with the method above, and a module-level build(seed) that "
            f"returns {class_name}(...). Put the whole module in the code field.")


def repair_prompt(feedback: str) -> str:
    return ("The sandbox rejected this code:\n" + feedback +
            "\nFix every problem and return the whole corrected module.")
