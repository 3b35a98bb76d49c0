"""A cheap behavioural check: replay the run's own recent iterations through a candidate.

Admission proves a mechanism is safe and keeps its contract on generated
inputs; it does not prove it does anything on *this* run. Before a candidate
is spliced in, it is called on the last few iterations exactly as the loop
would have called it (the trace as it was then, the proposal that was made)
and its answers are compared with what happened:

* a filter is also asked about two probes on the trace as it is now: a repeat
  of the last discarded change (a configuration that already ran) and, in a
  rut, a way out of it (a new change to a parameter other than the stuck one).
  It must veto at least one of the replayed proposals or the repeat, let at
  least one of them all run, and never veto the way out: in a rut every recent
  proposal changed the stuck parameter, so a filter doing its job vetoes all
  of those, and what shows it would not stall the search is that it lets the
  way out run;
* a source must propose at least once, valid changes, not the same change
  every time; in a rut, at least half its proposals must leave it (change a
  parameter other than the stuck one), and so must its answer on the trace as
  it is now, which must also be a change the loop would run: not the
  configuration as it stands, not one already tried (the loop rejects both);
* an advisor must give advice at least once; in a rut, some advice must name
  an active parameter other than the stuck one, and so must its advice on
  the trace as it is now;
* an acceptance rule must decide differently from the default at least once,
  and not every time.

Calls run in the candidate's own sandboxed process through the host, so a
candidate that raises or hangs here fails the check with the host's code.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from interfaces import Proposal, SearchConfig, SearchSpace, TraceView

from . import helpers
from .goals import Rut

__all__ = ["POINTS", "Behaviour", "check_behaviour"]

#: Recent iterations replayed through a candidate.
POINTS = 6


@dataclass(frozen=True)
class Behaviour:
    """What a candidate did on the replayed iterations, and whether that passes."""

    passed: bool
    verdict: str  # "effective", or why not: "call-failed", "no-effect", "all-vetoed", "constant", "stays-in-rut", ...
    reason: str
    calls: int
    effects: int
    leaves_rut: float | None = None  # share of effects that left the rut (None: no rut, or not applicable)
    samples: tuple[Any, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "verdict": self.verdict, "reason": self.reason, "calls": self.calls,
                "effects": self.effects, "leaves_rut": self.leaves_rut, "samples": list(self.samples)[:POINTS]}


def _points(trace: TraceView) -> list[tuple[TraceView, Proposal]]:
    """(the trace before a trial, that trial's proposal) for the last POINTS trials that proposed a change."""
    points = []
    for position in range(len(trace.trials) - 1, -1, -1):
        trial = trace.trials[position]
        if trial.changes:
            before = TraceView(trace.trials[:position], minimize=trace.minimize)
            points.append((before, Proposal(dict(trial.changes), trial.rationale or "", trial.source or "llm")))
        if len(points) == POINTS:
            break
    return points[::-1]


def _fail(code: str, message: str, calls: int) -> Behaviour:
    return Behaviour(False, "call-failed", f"{code}: {message}", calls, 0)


def check_behaviour(host: Any, handle: str, hook: str, trace: TraceView, space: SearchSpace,
                    config: SearchConfig, rut: Rut) -> Behaviour:
    """Replay the recent iterations through the loaded candidate ``handle``.

    A source or an advisor is also asked on the whole trace, as the next
    iteration will ask it: in a rut, that answer must leave the rut, or the
    mechanism would lead straight back into it once spliced in.
    """
    points = _points(trace)
    if not points:
        return Behaviour(False, "no-history", "the trace has no proposals to replay", 0, 0)
    now = None
    if hook in ("source", "advisor"):
        result = host.call(handle, trace, space, config)
        if not result.ok:
            return _fail(result.code, result.message, 1)
        now = dict(space.coerce(result.value)) if hook == "source" and isinstance(result.value, dict) else result.value
        if rut.stuck is not None and not _leaves(hook, now, rut, config):
            shown = repr(now)[:120] if now else "nothing"
            return Behaviour(False, "stays-in-rut", f"on the trace as it is now it answers {shown}, which does not "
                             f"move off {rut.stuck}", 1, 0, 0.0, (now,))
        if hook == "source" and isinstance(now, dict) and now:
            wasted = _wasted(now, trace, space)
            if wasted:
                return Behaviour(False, "no-change", f"on the trace as it is now it proposes {repr(now)[:120]}, "
                                 f"which {wasted}; the loop would reject it", 1, 0, None, (now,))
    answers = []
    for calls, (before, proposal) in enumerate(points, start=1):
        if hook == "filter":
            result = host.call(handle, proposal, before, space)
        elif hook in ("source", "advisor"):
            result = host.call(handle, before, space, config)
        elif hook == "acceptance":
            incumbent = before.incumbent()
            trial = next(t for t in trace.trials if t.index >= len(before.trials))
            if not trial.ok:
                continue
            result = host.call(handle, trial, incumbent, before)
            answers.append((result.value, incumbent is None or before.is_better(trial.metric, incumbent.metric)))
            if not result.ok:
                return _fail(result.code, result.message, calls)
            continue
        else:
            result = host.call(handle, before.trials[-1] if before.trials else trace.trials[0], before)
        if not result.ok:
            return _fail(result.code, result.message, calls)
        answers.append(result.value)
    if hook == "filter":
        probed: list[tuple[str, Proposal, Any]] = []
        for kind, proposal in _filter_probes(trace, space, config, rut):
            result = host.call(handle, proposal, trace, space)
            if not result.ok:
                return _fail(result.code, result.message, len(answers) + len(probed) + 1)
            probed.append((kind, proposal, result.value))
        return _judge_filter(answers, probed)
    judge = {"source": _judge_source, "advisor": _judge_advisor,
             "acceptance": _judge_acceptance}.get(hook)
    if judge is None:
        return Behaviour(True, "effective", "an observer's effect is its observation", len(answers), len(answers))
    return judge(answers, space, config, rut)


def _leaves(hook: str, answer: Any, rut: Rut, config: SearchConfig) -> bool:
    """Whether one answer of a source or an advisor moves off the stuck parameter."""
    if hook == "source":
        return isinstance(answer, dict) and any(name != rut.stuck for name in answer)
    if not isinstance(answer, str) or not answer.strip():
        return False
    others = [n for n in config.active if n != rut.stuck]
    return any(re.search(rf"\b{re.escape(n)}\b", answer) for n in others)


def _filter_probes(trace: TraceView, space: SearchSpace, config: SearchConfig,
                   rut: Rut) -> list[tuple[str, Proposal]]:
    """Proposals a filter is asked about on the trace as it is now: ("repeat", ...) and ("way-out", ...)."""
    probes: list[tuple[str, Proposal]] = []
    incumbent = trace.incumbent()
    current = dict(incumbent.config) if incumbent is not None else dict(space.defaults())
    last = next((t for t in reversed(trace.ran()) if t.changes and not t.kept), None)
    if last is not None and trace.has_tried(dict(current, **dict(last.changes))):
        probes.append(("repeat", Proposal(dict(last.changes), last.rationale or "", last.source or "llm")))
    if rut.stuck is not None:
        rng = random.Random(0)  # the probe is fixed by the trace: the same candidate, the same verdict
        names = [n for n in config.active if n != rut.stuck and n in space and n not in config.frozen]
        counts = trace.change_counts()
        for name in sorted(names, key=lambda n: (counts.get(n, 0), names.index(n))):
            change = dict(space.coerce(helpers.move(trace, space, name, rng)))
            if change.get(name) != current.get(name) and not trace.has_tried(dict(current, **change)):
                probes.append(("way-out", Proposal(change, f"change {name}, not {rut.stuck}", "llm")))
                break
    return probes


def _judge_filter(answers: list[Any], probed: list[tuple[str, Proposal, Any]]) -> Behaviour:
    repeat = [answer for kind, _, answer in probed if kind == "repeat"]
    way_out = [(proposal, answer) for kind, proposal, answer in probed if kind == "way-out"]
    judged = answers + repeat
    vetoes = [a for a in judged if a is not None]
    calls = len(answers) + len(probed)
    shown = f"the last {len(answers)} proposals" + (" and a repeat of a configuration that ran" if repeat else "")
    if not vetoes:
        return Behaviour(False, "no-effect", f"vetoed none of {shown}", calls, 0)
    if way_out and way_out[0][1] is not None:
        if len(vetoes) == len(judged):
            return Behaviour(False, "all-vetoed", f"vetoed all of {shown}, and the way out of the rut; the search "
                             "would stall", calls, calls)
        changes = way_out[0][0].changes
        return Behaviour(False, "blocks-way-out", f"vetoed {changes!r}, a new change off the stuck parameter, on "
                         f"the trace as it is now ({str(way_out[0][1])[:80]!r}); the search could not leave the rut",
                         calls, len(vetoes) + 1)
    if len(vetoes) == len(judged) and not way_out:
        return Behaviour(False, "all-vetoed", f"vetoed all of {shown}; the search would stall", calls, len(vetoes))
    return Behaviour(True, "effective", f"vetoed {len(vetoes)} of {shown}" + (", and let a way out of the rut run"
                     if way_out else ""), calls, len(vetoes), samples=tuple(str(v)[:120] for v in vetoes))


def _judge_source(answers: list[Any], space: SearchSpace, config: SearchConfig, rut: Rut) -> Behaviour:
    calls = len(answers)
    # Coerced as the engine coerces a source's proposal before it validates it: a choice of tuples comes
    # out of the sandbox as a list (plain data), and is the same choice.
    proposals = [dict(space.coerce(a)) for a in answers if isinstance(a, dict) and a]
    if not proposals:
        return Behaviour(False, "no-effect", f"proposed nothing in {calls} calls", calls, 0)
    invalid = [p for p in proposals if _problems(p, space, config)]
    if invalid:
        problems = _problems(invalid[0], space, config)
        return Behaviour(False, "invalid-proposal", f"proposed {invalid[0]!r}: {problems}", calls, len(proposals),
                         samples=tuple(proposals))
    distinct = {tuple(sorted((k, repr(v)) for k, v in p.items())) for p in proposals}
    if len(proposals) > 1 and len(distinct) == 1:
        return Behaviour(False, "constant", f"proposed the same change {proposals[0]!r} every time", calls,
                         len(proposals), samples=tuple(proposals))
    leaves = None
    if rut.stuck is not None:
        leaves = sum(1 for p in proposals if any(name != rut.stuck for name in p)) / len(proposals)
        if leaves < 0.5:
            return Behaviour(False, "stays-in-rut", f"{leaves:.0%} of its proposals change a parameter other "
                             f"than {rut.stuck}", calls, len(proposals), leaves, tuple(proposals))
    return Behaviour(True, "effective", f"proposed {len(proposals)} times in {calls} calls, {len(distinct)} distinct",
                     calls, len(proposals), leaves, tuple(proposals))


def _wasted(changes: dict[str, Any], trace: TraceView, space: SearchSpace) -> str:
    """Why a source's proposal would cost an iteration for nothing ('' when it is a real, new change)."""
    incumbent = trace.incumbent()
    current = dict(incumbent.config) if incumbent is not None else dict(space.defaults())
    coerced = dict(space.coerce(changes))
    if all(name in current and current[name] == value for name, value in coerced.items()):
        return "changes nothing in the configuration as it stands"
    if trace.has_tried(dict(current, **coerced)):
        return "was already tried"
    return ""


def _problems(changes: dict[str, Any], space: SearchSpace, config: SearchConfig) -> str:
    found = [str(v) for v in space.validate(changes, frozen=config.frozen)]
    found += [f"{name} is not active now" for name in changes if name in space and name not in config.active]
    return "; ".join(found)


def _judge_advisor(answers: list[Any], space: SearchSpace, config: SearchConfig, rut: Rut) -> Behaviour:
    calls = len(answers)
    advice = [a.strip() for a in answers if isinstance(a, str) and a.strip()]
    if not advice:
        return Behaviour(False, "no-effect", f"gave no advice in {calls} calls", calls, 0)
    leaves = None
    if rut.stuck is not None:
        others = [n for n in config.active if n != rut.stuck]
        naming = [a for a in advice if any(re.search(rf"\b{re.escape(n)}\b", a) for n in others)]
        leaves = len(naming) / len(advice)
        if not naming:
            return Behaviour(False, "stays-in-rut", f"no advice names a parameter other than {rut.stuck}", calls,
                             len(advice), 0.0, tuple(advice))
    return Behaviour(True, "effective", f"advised {len(advice)} times in {calls} calls", calls, len(advice), leaves,
                     tuple(advice))


def _judge_acceptance(answers: list[Any], space: SearchSpace, config: SearchConfig, rut: Rut) -> Behaviour:
    calls = len(answers)
    flips = sum(1 for value, default in answers if bool(value) != default)
    if calls == 0:
        return Behaviour(False, "no-history", "no recent trial ran to completion", 0, 0)
    if flips == 0:
        return Behaviour(False, "no-effect", f"decided like the default rule on all {calls} trials", calls, 0)
    if flips == calls:
        return Behaviour(False, "all-flipped", f"decided against the default rule on all {calls} trials", calls,
                         flips)
    return Behaviour(True, "effective", f"decided differently from the default on {flips} of {calls} trials",
                     calls, flips)
