"""Prompts for Level 1 proposals, built from the records, never hand-kept text.

Compact on purpose: the default model is a 1.5B local code model. Every fact
the model needs is in the prompt (current best config, which parameters may
change and their bounds, what was tried and how it went, guidance, advice,
why the last answer was rejected); the answer format is enforced by the
response schema, so the prompt only names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interfaces import ParamKind, ParamSpec, SearchConfig, SearchSpace, TraceView, Trial

__all__ = ["HISTORY_LINES", "proposal_messages", "describe_param", "history_lines"]

HISTORY_LINES = 15


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def describe_param(spec: ParamSpec, current: Any) -> str:
    if spec.kind is ParamKind.CHOICE:
        allowed = "one of " + ", ".join(_fmt(c) for c in spec.choices)
    elif spec.kind is ParamKind.BOOL:
        allowed = "true or false"
    else:
        scale = ", log scale" if spec.log else ""
        allowed = f"{spec.kind.value} in [{_fmt(spec.low)}, {_fmt(spec.high)}]{scale}"
    note = f" ({spec.description})" if spec.description else ""
    return f"- {spec.name} = {_fmt(current)}: {allowed}{note}"


def history_lines(trials: Sequence[Trial], metric: str, limit: int = HISTORY_LINES) -> list[str]:
    lines = []
    for trial in list(trials)[-limit:]:
        changes = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.changes.items()) or "(baseline)"
        if trial.ok:
            result = f"{metric}={trial.metric:.4f}"
        else:
            result = trial.status.value + (f" ({trial.reason})" if trial.reason else "")
        lines.append(f"#{trial.index} {changes} -> {result}, {trial.decision.value}")
    return lines


def proposal_messages(
    *,
    task_name: str,
    metric: str,
    minimize: bool,
    space: SearchSpace,
    trace: TraceView,
    config: SearchConfig,
    incumbent_config: dict[str, Any],
    advice: Sequence[str] = (),
    feedback: Sequence[str] = (),
) -> tuple[dict[str, str], ...]:
    direction = "lower" if minimize else "higher"
    system = (
        f"You tune the hyperparameters of a {task_name} training script. "
        f"The objective is {metric}; {direction} is better. Each answer changes 1 to "
        f"{config.max_changes} parameters of the current best configuration: list only the "
        "parameters you change (the others keep their values), each with its new value, and give "
        "a rationale of one short sentence. Use only the parameters listed as changeable and keep values "
        "inside their bounds."
    )
    best = trace.best_metric()
    base = trace.baseline()
    parts = [
        f"Current best {metric}: {best:.4f}" if best is not None else f"No {metric} measured yet.",
    ]
    if base is not None and base.metric is not None:
        parts.append(f"Baseline {metric}: {base.metric:.4f}")
    parts.append("Changeable parameters (current best value: allowed values):")
    parts += [describe_param(space[n], incumbent_config.get(n)) for n in config.active if n in space]
    # Frozen parameters are not named: the 0.5B model proposed the names on a "do not change"
    # list as often as the changeable ones (half of its proposals once Level 1.5 froze some).
    parts.append("No other parameter may change.")
    history = history_lines(trace.trials, metric)
    if history:
        parts.append("Recent trials (changes -> result, decision); do not propose any of these changes again:")
        parts += history
    parts.append(f"Strategy: {config.strategy}.")
    if config.guidance:
        parts.append("Guidance: " + config.guidance)
    if advice:
        parts.append("Advice:")
        parts += [f"- {a}" for a in advice]
    if feedback:
        parts.append("Your previous answer was rejected:")
        parts += [f"- {f}" for f in feedback]
        parts.append("Propose something different.")
    parts.append("Propose the next change.")
    return ({"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)})
