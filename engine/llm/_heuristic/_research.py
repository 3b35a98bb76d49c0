"""Level 2 by catalog: diagnose the trace, pick a mechanism that addresses it.

Symptoms (the names a catalog entry lists in ``addresses``):

* ``cold-start``: fewer than ``cold_start_trials`` trials have run;
* ``repetition``: the same change set keeps coming back, or one parameter
  takes most of the changes;
* ``plateau``: a long discard streak;
* ``noisy-keeps``: keeps that improved by less than the noise floor (given
  in the context, or estimated from repeated configurations).

The four rounds answer from the catalog entries: Explore lists the untried
entries that address the strongest symptoms, Critique weighs them and picks
the first, Specify restates its hook and class, Generate returns its source
verbatim. Mechanisms already tried in the run are not picked again.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from interfaces import Decision, TraceView

from .._errors import provider_error
from ._context import trace_of

__all__ = ["SYMPTOMS", "CatalogEntry", "ResearchRules", "diagnose", "rank_entries", "research_answer"]

SYMPTOMS = ("cold-start", "repetition", "plateau", "noisy-keeps")


class CatalogEntry(Protocol):
    """What the stand-in reads from a mechanism library entry (read-only, as the library's frozen
    entries are)."""

    @property
    def name(self) -> str: ...
    @property
    def hook(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def addresses(self) -> Sequence[str]: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class ResearchRules:
    cold_start_trials: int = 6
    plateau_streak: int = 5
    repeat_ratio: float = 0.25
    dominant_share: float = 0.6


def _repetition(trace: TraceView) -> tuple[float, str]:
    changed = [t for t in trace.ran() if t.changes]
    if len(changed) < 3:
        return 0.0, ""
    seen: list[Any] = []
    repeats = 0
    for trial in changed:
        if trial.changes in seen:
            repeats += 1
        else:
            seen.append(trial.changes)
    counts = Counter(name for t in changed for name in t.changes)
    top, top_count = counts.most_common(1)[0]
    return repeats / len(changed), f"{repeats} of {len(changed)} change sets were repeats; {top} in {top_count}"


def _noise_floor(trace: TraceView, context: Mapping[str, Any]) -> float | None:
    if context.get("noise_floor") is not None:
        return float(context["noise_floor"])
    by_config: dict[Any, list[float]] = {}
    for trial in trace.ran():
        metric = trial.metric if trial.ok else None
        if metric is not None:
            by_config.setdefault(trial.config, []).append(metric)
    spreads = [statistics.stdev(v) for v in by_config.values() if len(v) >= 2]
    return max(spreads) if spreads else None


def _noisy_keeps(trace: TraceView, floor: float | None) -> tuple[int, int]:
    if floor is None:
        return 0, 0
    incumbent: float | None = None
    noisy = keeps = 0
    for trial in trace.ran():
        if trial.decision is Decision.BASELINE:
            incumbent = trial.metric
        elif trial.decision is Decision.KEEP and trial.metric is not None:
            keeps += 1
            if incumbent is not None and abs(incumbent - trial.metric) < floor:
                noisy += 1
            incumbent = trial.metric
    return noisy, keeps


def diagnose(trace: TraceView, context: Mapping[str, Any], rules: ResearchRules) -> list[tuple[str, float, str]]:
    """Present symptoms as ``(name, strength, evidence)``, strongest first (strength >= 1)."""
    ran = len(trace.ran())
    if ran < rules.cold_start_trials:
        return [("cold-start", 10.0, f"only {ran} trials have run")]
    found: list[tuple[str, float, str]] = []
    ratio, evidence = _repetition(trace)
    changed = [t for t in trace.ran() if t.changes]
    share = max(Counter(n for t in changed for n in t.changes).values(), default=0) / max(1, len(changed))
    strength = max(ratio / rules.repeat_ratio, share / rules.dominant_share if len(changed) >= 5 else 0.0)
    if strength >= 1:
        found.append(("repetition", strength, evidence))
    streak = trace.discard_streak()
    if streak >= rules.plateau_streak:
        found.append(("plateau", streak / rules.plateau_streak, f"{streak} discards in a row"))
    floor = _noise_floor(trace, context)
    noisy, keeps = _noisy_keeps(trace, floor)
    if noisy:
        found.append(("noisy-keeps", 1.0 + noisy / keeps,
                      f"{noisy} of {keeps} keeps improved by less than the noise floor {floor:.4g}"))
    return sorted(found, key=lambda item: -item[1])


def _addresses(entry: CatalogEntry) -> set[str]:
    return {str(a).strip().lower() for a in entry.addresses}


def rank_entries(entries: Iterable[CatalogEntry], symptoms: list[tuple[str, float, str]],
                 tried: Iterable[str]) -> list[CatalogEntry]:
    """Untried entries, those addressing the strongest symptom first; catalog order breaks ties."""
    tried_set = set(tried)
    untried = [e for e in entries if e.name not in tried_set]
    order = [name for name, _, _ in symptoms]

    def key(item: tuple[int, CatalogEntry]) -> tuple[int, int]:
        position, entry = item
        hits = [order.index(s) for s in _addresses(entry) if s in order]
        return (min(hits) if hits else len(order), position)

    return [entry for _, entry in sorted(enumerate(untried), key=key)]


def _class_name(source: str) -> str:
    match = re.search(r"^class\s+([A-Z][A-Za-z0-9]*)", source, re.MULTILINE)
    if not match:
        raise provider_error("bad-catalog", "a catalog entry's source defines no CamelCase class")
    return match.group(1)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def research_answer(purpose: str, context: Mapping[str, Any], catalog: Callable[[], Iterable[CatalogEntry]],
                    rules: ResearchRules) -> dict[str, Any]:
    """The answer to one of the four rounds as plain data."""
    entries = list(catalog())
    by_name = {e.name: e for e in entries}
    tried = [str(n) for n in context.get("tried_mechanisms", ())]
    symptoms = diagnose(trace_of(context), context, rules)
    ranked = rank_entries(entries, symptoms, tried)
    named = context.get("choice") or (context.get("spec") or {}).get("name")
    if named and str(named) not in by_name:
        raise provider_error("unknown-mechanism", f"no catalog mechanism is named {named!r}")
    if not ranked and not (named and purpose in ("specify", "generate")):
        raise provider_error("catalog-exhausted", "every catalog mechanism has been tried in this run")
    chosen = by_name[str(named)] if named else ranked[0]
    if purpose == "explore":
        picks = ranked[:5]
        if len(picks) < 2:  # the schema asks for two; the other is one already tried, said so
            picks += [e for e in entries if e not in picks][: 2 - len(picks)]
        diagnosis = "; ".join(f"{name}: {evidence}" for name, _, evidence in symptoms) or "no clear symptom"
        return {
            "diagnosis": diagnosis + " (heuristic stand-in diagnosis)",
            "candidates": [
                {"name": e.name, "field": getattr(e, "field", "") or f"search heuristics ({e.hook} hook)",
                 "idea": _first_sentence(e.description) + (" Already tried in this run." if e.name in tried else "")}
                for e in picks
            ],
        }
    if purpose == "critique":
        names = [str(n) for n in context.get("candidates", ())] or [e.name for e in ranked[:5]]
        assessed = [by_name[n] for n in names if n in by_name] or ranked[:1]
        present = {name for name, _, _ in symptoms}
        choice = next((e for e in assessed if e.name not in tried), assessed[0])
        return {
            "assessments": [
                {"name": e.name,
                 "strength": "addresses " + (", ".join(sorted(_addresses(e) & present)) or "no present symptom"),
                 "weakness": "tried already in this run" if e.name in tried else
                 ("does not address " + ", ".join(sorted(present - _addresses(e))) if present - _addresses(e)
                  else "adds calls to every iteration")}
                for e in assessed
            ],
            "choice": choice.name,
            "reason": f"{choice.name} addresses the strongest symptom and has not been tried (heuristic stand-in)",
        }
    if purpose == "specify":
        return {"name": chosen.name, "hook": chosen.hook, "class_name": _class_name(chosen.source),
                "behaviour": " ".join(chosen.description.split())}
    if purpose == "generate":
        return {"code": chosen.source}
    raise provider_error(
        "heuristic-cannot-repair", "the heuristic stand-in cannot repair code; it only returns catalog sources"
    )
