"""Level 2 for capable models: the four-round dialogue that writes a whole mechanism.

::

    Explore -> Critique -> Specify -> Generate
      -> sandbox.admit(code, hook)   (rejected: the violations or the counterexample
                                      go back to the model, ``repairs`` times)

:func:`run_dialogue` is the flow and nothing else: it asks through ``ask``
(the caller records every exchange), saves each round's messages and answer
under ``folder`` and returns a :class:`DialogueResult`. What happens to an
admitted mechanism (loading, splicing, evaluation) is the caller's; the run
(:mod:`engine.levels.research`) and the Level 2 benchmark both use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import TraceView

from .research_prompts import (
    critique_prompt,
    explore_messages,
    generate_prompt,
    repair_prompt,
    specify_prompt,
)

__all__ = ["Ask", "DialogueResult", "admission_dict", "rejection_feedback", "run_dialogue"]

#: ``ask(purpose, messages, answer_model) -> answer``; it raises AutoresearchError when the request fails.
Ask = Callable[[str, list[dict[str, str]], Any], Any]


@dataclass(frozen=True)
class DialogueResult:
    """What one dialogue produced: the named mechanism, admitted or not, and how many attempts it took."""

    name: str
    hook: str
    admission: Any  # the sandbox's Admission of the last attempt
    source: str  # the last attempt's code
    attempts: int

    @property
    def admitted(self) -> bool:
        return bool(self.admission is not None and self.admission.admitted)


def run_dialogue(ask: Ask, trace: TraceView, metric: str, facts: Mapping[str, Any],
                 tried: Sequence[Mapping[str, Any]], active: Sequence[Mapping[str, Any]], *, repairs: int,
                 number: int, taken: Collection[str] = (), context: dict[str, Any] | None = None,
                 folder: Path | None = None,
                 on_rejection: Callable[[str, str, int, Any], None] = lambda name, hook, attempt, admission: None,
                 on_repair: Callable[[int, str], None] = lambda attempt, feedback: None) -> DialogueResult:
    """The four rounds and the admission with repairs.

    ``taken`` are names already used in the run: a specified name among them
    gets ``_<number>`` appended. ``context`` (the request context) is filled
    with each round's choice as it is made. ``on_rejection`` is called for
    every rejected attempt, ``on_repair`` before each repair request.
    """
    from engine.llm import CritiqueAnswer, ExploreAnswer, GenerateAnswer, SpecifyAnswer
    from sandbox import admit

    context = context if context is not None else {}
    transcript: list[dict[str, Any]] = []

    def round_(purpose: str, messages: list[dict[str, str]], model: Any) -> Any:
        answer = ask(purpose, messages, model)
        transcript.append({"round": purpose, "messages": list(messages), "answer": answer.model_dump()})
        _save(folder, "rounds.json", transcript)
        return answer

    messages = explore_messages(trace, metric, dict(facts), [dict(t) for t in tried], [dict(a) for a in active])
    explore = round_("explore", messages, ExploreAnswer)
    context["candidates"] = [c.model_dump() for c in explore.candidates]
    messages += [{"role": "assistant", "content": explore.model_dump_json()},
                 {"role": "user", "content": critique_prompt(dict(facts))}]
    critique = round_("critique", messages, CritiqueAnswer)
    context["choice"] = critique.choice
    messages += [{"role": "assistant", "content": critique.model_dump_json()},
                 {"role": "user", "content": specify_prompt([dict(t) for t in tried])}]
    spec = round_("specify", messages, SpecifyAnswer)
    context["spec"] = spec.model_dump()
    name = f"{spec.name}_{number}" if spec.name in taken else spec.name
    messages += [{"role": "assistant", "content": spec.model_dump_json()},
                 {"role": "user", "content": generate_prompt(spec.hook, spec.class_name)}]
    source = round_("generate", messages, GenerateAnswer).code
    admission = None
    attempt = 0
    for attempt in range(1, repairs + 2):
        if folder is not None:
            (folder / f"attempt-{attempt}.py").write_text(source)
        admission = admit(source, spec.hook)
        _save(folder, f"admission-{attempt}.json", admission_dict(admission))
        if admission.admitted or attempt > repairs:
            break
        on_rejection(name, spec.hook, attempt, admission)
        feedback = rejection_feedback(admission)
        on_repair(attempt, feedback)
        messages += [{"role": "assistant", "content": source}, {"role": "user", "content": repair_prompt(feedback)}]
        source = round_("repair", messages, GenerateAnswer).code
    if admission is not None and not admission.admitted:
        on_rejection(name, spec.hook, attempt, admission)
    return DialogueResult(name, spec.hook, admission, source, attempt)


def _save(folder: Path | None, name: str, data: Any) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(data, indent=2, default=str))


def admission_dict(admission: Any, *, brief: bool = False) -> dict[str, Any]:
    """An admission as plain data: the whole record, or (``brief``) what a store event keeps."""
    if hasattr(admission, "to_dict") and not brief:
        return dict(admission.to_dict())
    violations = [
        {"code": v.code, "line": getattr(v, "line", None), "message": v.message}
        for v in getattr(admission, "violations", ())
    ]
    return {
        "admitted": bool(admission.admitted),
        "digest": getattr(admission, "digest", None),
        "violations": violations[:20],
        "counterexample": getattr(admission, "counterexample", None),
        "stages": [getattr(s, "stage", getattr(s, "name", "?")) + (":ok" if getattr(s, "ok", False) else ":failed")
                   for s in getattr(admission, "stages", ())],
    }


def rejection_feedback(admission: Any) -> str:
    """What the model is told about a rejected attempt: each violation at its line, or the counterexample."""
    lines = [f"line {getattr(v, 'line', '?')}: [{v.code}] {v.message}" for v in admission.violations][:15]
    if getattr(admission, "counterexample", None):
        lines.append("A property test failed. Counterexample:\n" + str(admission.counterexample)[:1500])
    return "\n".join(lines) or "admission failed without a reason"
