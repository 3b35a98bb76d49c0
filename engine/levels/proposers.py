"""Who proposes Level 1's next trial: the search config's proposer policy.

The policy (:data:`interfaces.PROPOSERS`) is part of the search config, so it
is stored with every snapshot and Level 1.5 may change it with a reason.
Proposal-source mechanisms come first whatever the policy; then:

* during the ``warm_start`` (the first trials after the baseline), the model,
  from its reading of the script and the names;
* ``llm``: the model; ``sampler``: the config's Optuna sampler;
* ``alternate``: the two take turns, the sampler first after the warm start;
* ``pick``: the sampler offers ``pick_from`` candidates, the model picks one.

Trials are counted as they ran (the baseline, rejected proposals and the
re-measurements of trials flagged slow-machine are not counted), so a run
resumed from its store takes the same turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from interfaces import Decision, SearchConfig, TraceView

from .prompts import history_lines

__all__ = ["by_source", "next_proposer", "pick_messages"]


def next_proposer(config: SearchConfig, trace: TraceView) -> str:
    """``"llm"``, ``"sampler"`` or ``"pick"``: who proposes the next trial under ``config``."""
    ran = sum(1 for t in trace.ran() if t.decision is not Decision.BASELINE and t.remeasure_of is None)
    if ran < config.warm_start or config.proposer == "llm":
        return "llm"
    if config.proposer == "alternate":
        return "sampler" if (ran - config.warm_start) % 2 == 0 else "llm"
    return config.proposer


def by_source(trace: TraceView) -> dict[str, dict[str, int]]:
    """Per kind of source (``llm``, ``sampler:<name>``, ``pick:<name>``, ``mechanism:<name>``): trials that
    ran and trials kept. Every model's source counts as ``llm``. A re-measurement (``remeasure_of``) is no
    trial of its own here: it counts as its first trial's keep when it is kept."""
    found: dict[str, dict[str, int]] = {}
    for trial in trace.ran():
        if trial.decision is Decision.BASELINE:
            continue
        kind = trial.source if trial.source.startswith(("sampler:", "pick:", "mechanism:")) else "llm"
        row = found.setdefault(kind, {"trials": 0, "kept": 0})
        row["trials"] += trial.remeasure_of is None
        row["kept"] += trial.decision is Decision.KEEP
    return found


def _described(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" if isinstance(value, str) else f"{name}={value:.6g}"
                     if isinstance(value, float) else f"{name}={value}" for name, value in changes.items())


def pick_messages(*, task_name: str, metric: str, minimize: bool, trace: TraceView,
                  candidates: Sequence[Mapping[str, Any]], sampler: str, advice: Sequence[str] = (),
                  guidance: str = "") -> tuple[dict[str, str], ...]:
    """The question of a ``pick`` turn: which of the sampler's candidate changes to run next."""
    direction = "lower" if minimize else "higher"
    system = (f"You tune the hyperparameters of a {task_name} training script; {metric}, {direction} is better. "
              f"A {sampler} model of the trials so far offers candidate changes to the current best "
              "configuration. Pick the one most likely to improve, using what you know about these "
              "parameters, and say why in one short sentence.")
    best = trace.best_metric()
    parts = [f"Current best {metric}: {best:.4f}" if best is not None else f"No {metric} measured yet."]
    history = history_lines(trace.trials, metric)
    if history:
        parts.append("Recent trials (changes -> result, decision):")
        parts += history
    if guidance:
        parts.append("Guidance: " + guidance)
    if advice:
        parts.append("Advice:")
        parts += [f"- {a}" for a in advice]
    parts.append("Candidates:")
    parts += [f"{number}. {_described(changes)}" for number, changes in enumerate(candidates, start=1)]
    parts.append("Pick one candidate by its number.")
    return ({"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)})
