"""Level 1 proposals the way an LLM with strong priors tends to make them.

It has a preferred order of parameters (for GPT-like names: learning rates
first, then weight decay, the attention window pattern, schedule ratios, the
shape of the model, and the total batch size rarely and only upward, since
LLMs were seen never to try a smaller batch) and a few canonical moves per
parameter (a known-good value, halve, double, the next power of two). It does
not remember what it tried: asked again from the same configuration, it most
often gives its favourite move again. Only the prompt's advice (from a
mechanism), guidance (from Level 1.5) and veto feedback change its mind.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from interfaces import ParamKind, ParamSpec, SearchSpace

from .._errors import provider_error
from ._context import config_of, names_mentioned, space_of, texts

__all__ = ["preferred_order", "moves", "propose"]

#: How often the stand-in gives its favourite move when nothing steers it.
RUT_PROBABILITY = 0.7

_GPT_ORDER = (
    "MATRIX_LR", "EMBEDDING_LR", "UNEMBEDDING_LR", "SCALAR_LR", "WEIGHT_DECAY", "WINDOW_PATTERN",
    "WARMDOWN_RATIO", "WARMUP_RATIO", "FINAL_LR_FRAC", "ADAM_BETAS", "DEPTH", "ASPECT_RATIO",
    "HEAD_DIM", "DEVICE_BATCH_SIZE", "TOTAL_BATCH_SIZE",
)
_KNOWN_GOOD: dict[str, Any] = {
    "MATRIX_LR": 0.04, "EMBEDDING_LR": 0.6, "UNEMBEDDING_LR": 0.004, "SCALAR_LR": 0.5,
    "WEIGHT_DECAY": 0.1, "WINDOW_PATTERN": "SSSL", "WARMDOWN_RATIO": 0.5, "WARMUP_RATIO": 0.05,
    "FINAL_LR_FRAC": 0.1, "ADAM_BETAS": (0.9, 0.95),
}
_UPWARD_ONLY = frozenset({"TOTAL_BATCH_SIZE"})
_RARE_WEIGHT = {"TOTAL_BATCH_SIZE": 0.1}


def _is_learning_rate(name: str) -> bool:
    return name.endswith("_LR") or name == "LR" or "LEARNING_RATE" in name


def preferred_order(space: SearchSpace) -> tuple[str, ...]:
    """GPT-like spaces: learning rates first, TOTAL_BATCH_SIZE last; others: the space's order."""
    names = space.names
    if sum(n in _GPT_ORDER for n in names) < 2:
        return names

    def rank(item: tuple[int, str]) -> tuple[int, int, int]:
        position, name = item
        if name in _UPWARD_ONLY:
            return (3, 0, position)
        if name in _GPT_ORDER:
            return (0 if _is_learning_rate(name) else 1, _GPT_ORDER.index(name), position)
        return (1 if not _is_learning_rate(name) else 0, len(_GPT_ORDER), position)

    return tuple(name for _, name in sorted(enumerate(names), key=rank))


def _round(value: float) -> float:
    return float(f"{value:.4g}") if value != 0 else 0.0


def _clamp(spec: ParamSpec, value: float) -> float:
    assert spec.low is not None and spec.high is not None
    return min(max(value, spec.low), spec.high)


def _numeric_moves(spec: ParamSpec, current: float) -> list[float]:
    candidates: list[float] = []
    known = _KNOWN_GOOD.get(spec.name)
    if isinstance(known, (int, float)) and not isinstance(known, bool):
        candidates.append(known)
    if spec.kind is ParamKind.INT:
        up = 2 ** math.ceil(math.log2(current)) if current > 0 else 1
        up = up * 2 if up == current else up
        candidates += [up, current * 2, current // 2 if current > 0 else current - 1]
    else:
        candidates += [current / 2, current * 2]
        if not spec.log:
            assert spec.low is not None and spec.high is not None
            candidates.append(current + (spec.high - spec.low) / 4)
    if spec.name in _UPWARD_ONLY:
        candidates = [c for c in candidates if c > current]
    values: list[float] = []
    for candidate in candidates:
        if spec.kind is ParamKind.INT:
            value: float = round(_clamp(spec, candidate))
        else:
            value = _clamp(spec, _round(float(candidate)))
        if value != current and value not in values and spec.check(value) is None:
            values.append(value)
    return values


def _as_answer_value(value: Any) -> Any | None:
    """How a value is written in an answer; None when the answer schema cannot hold it."""
    if isinstance(value, tuple):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [float(v) for v in value]
        return None
    return value


def moves(spec: ParamSpec, current: Any) -> list[Any]:
    """The canonical moves for one parameter from its current value, favourite first."""
    if spec.locked:
        return []
    if spec.kind is ParamKind.BOOL:
        return [not current]
    if spec.kind is ParamKind.CHOICE:
        options: list[Any] = []
        known = _KNOWN_GOOD.get(spec.name)
        if known in spec.choices:
            options.append(known)
        if current in spec.choices:
            options.append(spec.choices[(spec.choices.index(current) + 1) % len(spec.choices)])
        else:
            options.append(spec.choices[0])
        result = []
        for option in options:
            written = _as_answer_value(option)
            if option != current and written is not None and written not in result:
                result.append(written)
        return result
    return _numeric_moves(spec, current)


def _weighted_choice(rng: random.Random, names: list[str]) -> str:
    weights = [0.5**rank * _RARE_WEIGHT.get(name, 1.0) for rank, name in enumerate(names)]
    return rng.choices(names, weights=weights, k=1)[0]


def propose(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A ProposalAnswer as plain data."""
    space = space_of(context)
    config = config_of(context, space)
    current = dict(space.coerce(dict(space.defaults(), **dict(context.get("current") or {}))))
    active = set(context.get("active") or config.active) - set(context.get("frozen") or config.frozen)
    vetoed = set(names_mentioned(texts(context.get("feedback")), space.names))
    options = {
        name: moves(space[name], current[name])
        for name in preferred_order(space)
        if name in active and not space[name].locked and name not in vetoed
    }
    pool = [name for name, found in options.items() if found]
    if not pool:
        raise provider_error(
            "no-move", "the heuristic stand-in found no parameter it can change (all locked, frozen or vetoed)"
        )
    advised = [n for n in names_mentioned(texts(context.get("advice")), space.names) if n in pool]
    guided = [n for n in names_mentioned(texts(context.get("guidance") or config.guidance), space.names)
              if n in pool]
    if advised:
        first, why = advised[0], "following the advice"
    elif guided and rng.random() < 0.6:
        first, why = guided[0], "following the guidance"
    elif rng.random() < RUT_PROBABILITY:
        first, why = pool[0], "the usual first thing to tune"
    else:
        first, why = _weighted_choice(rng, pool), "worth a look"
    chosen = [(first, options[first][0] if why != "worth a look" else rng.choice(options[first]))]
    max_changes = int(context.get("max_changes", config.max_changes))
    strategy = context.get("strategy", config.strategy)
    if strategy == "explore" and max_changes >= 2 and len(pool) >= 2:
        second = _weighted_choice(rng, [n for n in pool if n != first])
        chosen.append((second, rng.choice(options[second])))
    described = ", ".join(f"{name} {current[name]!r} -> {value!r}" for name, value in chosen)
    return {
        "changes": [{"name": name, "value": value} for name, value in chosen],
        "rationale": f"{described}: {why} (heuristic stand-in)",
    }
