"""Prompts for Level 1 proposals, built from the records, never hand-kept text.

Compact on purpose: the default model is a 1.5B local code model. Every fact
the model needs is in the prompt (current best config, which parameters may
change and their bounds, what was tried and how it went, guidance, advice,
why the last answer was rejected); the answer format is enforced by the
response schema, so the prompt only names it.

Ordered for the server's prompt cache: a local server evaluates only the
tokens after the first one that differs from its previous request, so what
stays the same from one proposal to the next comes first (the instructions,
the changeable parameters and their bounds, the trials so far) and what
changes comes last (the current best and its values, guidance, advice, the
reason the last answer was rejected). The trial list grows at its end and its
first line moves only every ``HISTORY_STEP`` trials, so most proposals reuse
the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interfaces import ParamKind, ParamSpec, SearchConfig, SearchSpace, TraceView, Trial

__all__ = ["HISTORY_LINES", "HISTORY_STEP", "proposal_messages", "shared_prefix", "describe_param",
           "history_lines"]

#: The proposal prompt shows at least this many of the latest trials ...
HISTORY_LINES = 15
#: ... starting at a multiple of this, so its first line (and the cached prefix) moves every HISTORY_STEP trials.
HISTORY_STEP = 5


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def describe_param(spec: ParamSpec, current: Any = None) -> str:
    """``- NAME = current: allowed (description)``; without ``current``, ``- NAME: allowed (description)``."""
    if spec.kind is ParamKind.CHOICE:
        allowed = "one of " + ", ".join(_fmt(c) for c in spec.choices)
    elif spec.kind is ParamKind.BOOL:
        allowed = "true or false"
    else:
        scale = ", log scale" if spec.log else ""
        allowed = f"{spec.kind.value} in [{_fmt(spec.low)}, {_fmt(spec.high)}]{scale}"
    note = f" ({spec.description})" if spec.description else ""
    value = "" if current is None else f" = {_fmt(current)}"
    return f"- {spec.name}{value}: {allowed}{note}"


def history_lines(trials: Sequence[Trial], metric: str, limit: int = HISTORY_LINES, step: int = 1) -> list[str]:
    """One line per trial, the latest ``limit`` or more: the first shown is the
    latest index at or before ``len - limit`` that is a multiple of ``step``."""
    trials = list(trials)
    start = max(0, len(trials) - limit)
    lines = []
    for trial in trials[start - start % step:]:
        changes = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.changes.items()) or "(baseline)"
        if trial.ok:
            result = f"{metric}={trial.metric:.4f}"
        else:
            result = trial.status.value + (f" ({trial.reason})" if trial.reason else "")
        lines.append(f"#{trial.index} {changes} -> {result}, {trial.decision.value}")
    return lines


def shared_prefix(*, task_name: str, metric: str, minimize: bool, space: SearchSpace, trace: TraceView,
                  config: SearchConfig) -> tuple[str, list[str]]:
    """The system message and the first user lines of every Level 1 and Level 1.5 request: the
    instructions, the changeable parameters, the baseline and the trials so far.

    Level 1.5 starts from the same text (:mod:`engine.levels.outer`), so its request reuses what the
    server cached for the proposal before it, and the proposal after it reuses the Level 1.5 request's
    prefix in turn; with a prompt of its own, each would evaluate the whole of the other's prompt again.
    """
    direction = "lower" if minimize else "higher"
    system = (
        f"You tune the hyperparameters of a {task_name} training script. "
        f"The objective is {metric}; {direction} is better. Each answer changes 1 to "
        f"{config.max_changes} parameters of the current best configuration: list only the "
        "parameters you change (the others keep their values), each with its new value, and give "
        "a rationale of a few words. Use only the parameters listed as changeable and keep values "
        "inside their bounds."
        # Generation is the slow part of a local model's answer: asked for one line, the 1.5B generated a
        # median 59 tokens a proposal instead of 87 (benchmarks/results/model-time, "One-line answers").
        ' Answer with compact JSON on one line, no spaces or line breaks: '
        '{"changes":[{"name":"...","value":...}],"rationale":"..."}'
    )
    changeable = [n for n in config.active if n in space]
    # What stays the same between proposals first (see the module docstring).
    parts = ["Changeable parameters (allowed values):"]
    parts += [describe_param(space[n]) for n in changeable]
    # Frozen parameters are not named: the 0.5B model proposed the names on a "do not change"
    # list as often as the changeable ones (half of its proposals once Level 1.5 froze some).
    parts.append("No other parameter may change.")
    base = trace.baseline()
    if base is not None and base.metric is not None:
        parts.append(f"Baseline {metric}: {base.metric:.4f}")
    history = history_lines(trace.trials, metric, step=HISTORY_STEP)
    if history:
        parts.append("Trials so far (changes -> result, decision); do not propose any of these changes again:")
        parts += history
    return system, parts


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
    system, parts = shared_prefix(task_name=task_name, metric=metric, minimize=minimize, space=space,
                                  trace=trace, config=config)
    changeable = [n for n in config.active if n in space]
    # What changes last.
    # The incumbent's metric, not the best ever measured: a better trial inside the noise was discarded,
    # and the values below are the incumbent's.
    incumbent = trace.incumbent()
    if incumbent is not None and incumbent.metric is not None:
        parts.append(f"Current best {metric}: {incumbent.metric:.4f} (trial #{incumbent.index})")
    else:
        parts.append(f"No {metric} measured yet.")
    parts.append("Current best values: " + ", ".join(f"{n}={_fmt(incumbent_config.get(n))}" for n in changeable))
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
