"""Level 1.5, the outer loop: adjust the search configuration from the trace.

Every ``every`` inner iterations the model reads a per-parameter summary of
the trace and answers with an :class:`engine.llm.OuterAnswer`. The request
starts with the same text as a Level 1 proposal (:func:`engine.levels.prompts.shared_prefix`:
the instructions, parameters, baseline and trials), so a server's prompt cache
serves that part to both, and only what is Level 1.5's own comes after it. The answer is
validated against guard rails before it takes effect: unknown or locked names
are ignored with a note, freezing never leaves fewer than ``min_active``
active parameters, and every change is stored as a snapshot with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from interfaces import RUN_STOPPING_PROVIDER_CODES, AutoresearchError, SearchConfig, SearchSpace, TraceView

from .inner import LoopEvents, ask_recorded
from .prompts import shared_prefix
from .proposers import by_source

__all__ = ["OuterLoop", "OuterUpdate", "parameter_summary", "apply_outer_answer"]


@dataclass(frozen=True)
class OuterUpdate:
    config: SearchConfig
    reason: str
    notes: tuple[str, ...]
    changed: bool


def parameter_summary(trace: TraceView, space: SearchSpace) -> list[dict[str, Any]]:
    """Per searchable parameter: tries, keeps, best gain it was part of."""
    rows = []
    baseline = trace.baseline()
    for name in space.searchable():
        touching = [t for t in trace.touching(name) if t.decision.value != "rejected"]
        kept = [t for t in touching if t.decision.value == "keep"]
        best = None
        if baseline is not None and baseline.metric is not None:
            for t in touching:
                metric = t.metric if t.ok else None
                if metric is not None:
                    gain = (baseline.metric - metric) if trace.minimize else (metric - baseline.metric)
                    best = gain if best is None or gain > best else best
        rows.append({"name": name, "tries": len(touching), "keeps": len(kept),
                     "best_gain_vs_baseline": best, "values_tried": list(trace.values_tried(name))[:6]})
    return rows


def apply_outer_answer(answer: Any, config: SearchConfig, space: SearchSpace) -> OuterUpdate:
    notes: list[str] = []
    searchable = set(space.searchable())
    new = config
    for name in answer.unfreeze:
        if name in new.frozen:
            new = new.unfreeze(name)
        else:
            notes.append(f"unfreeze {name} ignored: it is not frozen")
    for name in answer.freeze:
        if name not in searchable:
            notes.append(f"freeze {name} ignored: not a searchable parameter")
        elif name not in new.active:
            notes.append(f"freeze {name} ignored: already frozen")
        elif len(new.active) <= new.min_active:
            notes.append(f"freeze {name} refused: at least {new.min_active} parameters must stay active")
        else:
            new = new.freeze(name)
    new = replace(new, strategy=answer.strategy, guidance=answer.guidance.strip()[:600])
    proposer = getattr(answer, "proposer", None)
    if proposer is not None and proposer != new.proposer:
        notes.append(f"proposer {new.proposer} -> {proposer}")
        new = replace(new, proposer=proposer)
    return OuterUpdate(new, answer.reason.strip()[:600], tuple(notes), new != config)


class OuterLoop:
    def __init__(self, *, provider: Any, space: SearchSpace, metric: str, task_name: str, every: int = 5,
                 record_exchange: Callable[[Any], None] | None = None, events: LoopEvents | None = None) -> None:
        if every < 1:
            raise ValueError("the outer loop period must be at least 1 iteration")
        self.provider = provider
        self.space = space
        self.metric = metric
        self.task_name = task_name
        self.every = every
        self.record_exchange = record_exchange or (lambda exchange: None)
        self.events = events or LoopEvents()

    def due(self, iteration: int) -> bool:
        return iteration > 0 and iteration % self.every == 0

    def messages(self, trace: TraceView, config: SearchConfig) -> tuple[dict[str, str], ...]:
        system, shared = shared_prefix(task_name=self.task_name, metric=self.metric, minimize=trace.minimize,
                                       space=self.space, trace=trace, config=config)
        rows = parameter_summary(trace, self.space)
        lines = [f"- {r['name']}: tried {r['tries']}x, kept {r['keeps']}x, values {r['values_tried']}"
                 + ("" if r["best_gain_vs_baseline"] is None else f", best gain {r['best_gain_vs_baseline']:.4f}")
                 for r in rows]
        sources = by_source(trace)
        source_line = "; ".join(f"{kind} {row['trials']} trials, {row['kept']} kept"
                                for kind, row in sorted(sources.items())) or "none yet"
        best = trace.best_metric()
        user = "\n".join([
            *shared,
            # Level 1.5's own part, after the text it shares with the proposals.
            "Not a proposal this time: you supervise the search. From the trials above and the summary "
            "below, decide which parameters to freeze (tried often, never helped), which to unfreeze, the "
            "strategy (explore, exploit or balanced), one sentence of guidance for the next proposals, and "
            "who proposes them (keep the current proposer unless the trials by source show a reason).",
            f"Best {self.metric}: {best:.4f}" if best is not None else f"No {self.metric} yet.",
            f"Trials so far: {len(trace)}; current discard streak: {trace.discard_streak()}.",
            f"Active: {', '.join(config.active)}",
            f"Frozen: {', '.join(config.frozen) or 'none'}",
            f"Strategy: {config.strategy}. Guidance: {config.guidance or 'none'}",
            f"Proposer: {config.proposer} (sampler: Optuna {config.sampler}). Trials by source: {source_line}",
            "Per parameter:",
            *lines,
            f"Keep at least {config.min_active} parameters active.",
        ])
        return ({"role": "system", "content": system}, {"role": "user", "content": user})

    def update(self, trace: TraceView, config: SearchConfig) -> OuterUpdate:
        from engine.llm import LLMRequest, outer_answer_for

        context = {
            "space": self.space.to_dict(),
            "trace": trace.to_list(),
            "config": config.to_dict(),
            "summary": parameter_summary(trace, self.space),
            "by_source": by_source(trace),
            "metric": self.metric,
            "minimize": trace.minimize,
        }
        try:
            reply = ask_recorded(self.events, self.provider,
                                 LLMRequest("outer", self.messages(trace, config), context, "1.5"),
                                 outer_answer_for(tuple(config.active), tuple(config.frozen),
                                                  max(0, len(config.active) - config.min_active)),
                                 self.record_exchange)
        except AutoresearchError as exc:
            if exc.code in RUN_STOPPING_PROVIDER_CODES:
                raise
            return OuterUpdate(config, f"Level 1.5 skipped this cycle: {exc.message}", (), False)
        return apply_outer_answer(reply.value, config, self.space)
