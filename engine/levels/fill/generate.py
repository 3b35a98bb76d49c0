"""Sample several bodies, let the sandbox and the trace choose.

For one goal: ``samples`` completions at a temperature above zero, each
cleaned (:mod:`.body`), assembled into the engine's module (:mod:`.skeleton`),
admitted by the sandbox, loaded, and replayed on the run's recent iterations
(:mod:`.behaviour`); its likeness to the library, to earlier sessions'
mechanisms and to anything the prompt showed is measured (:mod:`.novelty`).
A sample the sandbox or the check refuses turns into pitfalls (what was
wrong; the record keeps the body's line) for a fresh sample, ``repairs``
times per session; the failed code itself is never shown back. Every candidate is
recorded with its verdict; :func:`best` ranks those that passed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interfaces import SearchConfig, SearchSpace, TraceView

from .behaviour import Behaviour, check_behaviour
from .body import Body, clean_body
from .goals import Goal
from .novelty import Likeness, body_likeness
from .prompt import STOP, fill_messages
from .skeleton import Skeleton, render

__all__ = ["Asker", "Candidate", "FillSettings", "best", "generate"]

#: A hook method's answer for "nothing to do", as source text.
_DECLINE = {"source": "None", "filter": "None", "advisor": '""'}

#: ``ask(messages, options) -> (continuation text, tokens)``; raises ProviderError like any request.
Asker = Callable[[list[dict[str, str]], Mapping[str, Any]], tuple[str, int]]


@dataclass(frozen=True)
class FillSettings:
    samples: int = 4
    repairs: int = 2
    temperature: float = 0.7
    max_tokens: int = 400
    max_lines: int = 12


@dataclass
class Candidate:
    """One sample and everything the engine found out about it."""

    number: int
    draw: str  # "sample" or "repair"
    body: Body
    source: str
    verdict: str  # "passed", "empty-body", "too-long", "rejected", "load-failed", "copy", or the behaviour's verdict
    reason: str = ""
    admission: Any = None
    behaviour: Behaviour | None = None
    likeness: Likeness | None = None
    seconds: float = 0.0
    tokens: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def copy(self) -> bool:
        return self.likeness is not None and self.likeness.verdict == "copy"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "draw": self.draw, "verdict": self.verdict, "reason": self.reason,
            "body": self.body.text, "completion": self.body.raw, "fixes": list(self.body.fixes),
            "violations": self.violations,
            "behaviour": None if self.behaviour is None else self.behaviour.to_dict(),
            "likeness": None if self.likeness is None else self.likeness.to_dict(),
            "seconds": round(self.seconds, 2), "tokens": self.tokens,
        }


_BOILERPLATE = re.compile(r"^the mechanism raised |; it must not raise on valid input$")


def _pitfalls(candidate: Candidate) -> list[str]:
    """What to tell the next sample about this one: what went wrong, without the code that did it.

    A small model copies what its prompt shows, so the failed line itself is
    left out (it is in the candidate's record, with its body line number).
    """
    out = [_BOILERPLATE.sub("", str(v["message"])) for v in candidate.violations[:3]]
    if not out and candidate.reason:
        out.append(candidate.reason)
    return out


def _violations(admission: Any, skeleton: Skeleton, body: str) -> list[dict[str, Any]]:
    found = []
    for violation in admission.violations:
        line = getattr(violation, "line", None)
        found.append({"code": violation.code, "line": line, "body_line": skeleton.body_line(line, body),
                      "message": violation.message})
    return found


def _evaluate(candidate: Candidate, skeleton: Skeleton, goal: Goal, trace: TraceView, space: SearchSpace,
              config: SearchConfig, host: Any, seed: int, settings: FillSettings,
              references: Mapping[str, Mapping[str, str]]) -> None:
    from sandbox import admit

    body = candidate.body
    if body.empty:
        candidate.verdict, candidate.reason = "empty-body", "the body does nothing; write the logic of the goal"
        return
    if len(body.text.splitlines()) > 3 * settings.max_lines:
        candidate.verdict = "too-long"
        candidate.reason = f"the body has {len(body.text.splitlines())} lines; keep it under {settings.max_lines}"
        return
    candidate.likeness = body_likeness(body.text, skeleton.method, earlier=references.get("earlier", {}),
                                       shown=references.get("shown", {}))
    admission = admit(candidate.source, goal.hook)
    candidate.admission = admission
    if not admission.admitted:
        candidate.violations = _violations(admission, skeleton, body.text)
        first = candidate.violations[0] if candidate.violations else {"code": "rejected", "message": ""}
        candidate.verdict, candidate.reason = "rejected", f"[{first['code']}] {first['message']}"
        return
    loaded = host.load(admission, seed)
    if not loaded.ok:
        candidate.verdict, candidate.reason = "load-failed", f"[{loaded.code}] {loaded.message}"
        return
    try:
        candidate.behaviour = check_behaviour(host, loaded.handle, goal.hook, trace, space, config, goal.rut)
    finally:
        host.unload(loaded.handle)
    if not candidate.behaviour.passed:
        candidate.verdict, candidate.reason = candidate.behaviour.verdict, candidate.behaviour.reason
        line = re.search(r"\(line (\d+)\)", candidate.behaviour.reason)
        if line:
            # The host reports the module's line; the model wrote the body, so it is told the body's line.
            body_line = skeleton.body_line(int(line.group(1)), body.text)
            where = f"(line {body_line} of the body)" if body_line is not None else "(in a helper)"
            candidate.reason = candidate.reason.replace(line.group(0), where)
            candidate.violations = [{"code": candidate.behaviour.verdict, "line": int(line.group(1)),
                                     "body_line": body_line, "message": candidate.reason}]
        return
    if candidate.likeness is not None and candidate.likeness.verdict == "copy":
        # A copy adds nothing the library or an earlier session does not already offer: not spliced.
        candidate.verdict = "copy"
        candidate.reason = (f"a copy of {candidate.likeness.nearest} (likeness {candidate.likeness.score:.2f}); "
                            "write a different approach")
        return
    candidate.verdict = "passed"


def generate(ask: Asker, goal: Goal, trace: TraceView, space: SearchSpace, config: SearchConfig, metric: str, *,
             host: Any, seed: int, settings: FillSettings, tried: Sequence[Mapping[str, Any]] = (),
             references: Mapping[str, Mapping[str, str]] | None = None,
             folder: Path | None = None, on_candidate: Callable[[Candidate], None] | None = None) -> list[Candidate]:
    """Draw ``samples`` candidates (plus up to ``repairs`` fresh ones after refusals) and evaluate each."""
    skeleton = render(goal.hook, goal.class_name, goal.sentence, goal.returns)
    active = [name for name in config.active if name in space]
    pitfalls: list[str] = []
    candidates: list[Candidate] = []
    repairs_left = settings.repairs
    pending = ["sample"] * settings.samples
    while pending:
        draw = pending.pop(0)
        number = len(candidates) + 1
        messages = fill_messages(goal, skeleton, trace, space, active, metric, tried=tried, pitfalls=pitfalls,
                                 max_lines=settings.max_lines)
        options = {"temperature": settings.temperature, "seed": seed * 1000 + number, "stop": list(STOP),
                   "max_tokens": settings.max_tokens}
        started = time.monotonic()
        text, tokens = ask(messages, options)
        body = clean_body(text, names=space.names, decline=_DECLINE.get(goal.hook) if "space" in skeleton.parameters
                          else None)
        candidate = Candidate(number, draw, body, skeleton.assemble(body.text), "pending", tokens=tokens)
        _evaluate(candidate, skeleton, goal, trace, space, config, host, seed, settings, references or {})
        candidate.seconds = time.monotonic() - started
        candidates.append(candidate)
        if folder is not None:
            (folder / f"candidate-{number}.py").write_text(candidate.source)
            (folder / "candidates.json").write_text(json.dumps([c.to_dict() for c in candidates], indent=2,
                                                               default=str))
        if on_candidate is not None:
            on_candidate(candidate)
        if not candidate.passed:
            pitfalls.extend(p for p in _pitfalls(candidate) if p not in pitfalls)
            if repairs_left > 0:
                repairs_left -= 1
                pending.append("repair")
    return candidates


def best(candidates: Sequence[Candidate], *, new_only: bool = False) -> Candidate | None:
    """The candidate to splice: passed; new before near before copy; leaving the rut most; least alike.

    ``new_only``: only a candidate whose likeness is measured and below the new threshold.
    """
    passed = [c for c in candidates if c.passed
              and (not new_only or (c.likeness is not None and c.likeness.verdict == "new"))]
    if not passed:
        return None
    order = {"new": 0, "near": 1, "copy": 2}

    def rank(c: Candidate) -> tuple[int, float, float, int]:
        likeness = c.likeness.score if c.likeness is not None else 0.0
        verdict = order.get(c.likeness.verdict, 1) if c.likeness is not None else 1
        leaves = c.behaviour.leaves_rut if c.behaviour is not None and c.behaviour.leaves_rut is not None else 0.0
        return verdict, -leaves, likeness, c.number

    return min(passed, key=rank)
