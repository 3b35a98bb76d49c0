"""Formatting shared by the report and the plot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["cell", "changes_text", "delta_text", "metric_text"]


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return (
        json.dumps(value, default=str)
        if not isinstance(value, tuple)
        else json.dumps(list(value), default=str)
    )


def changes_text(changes: Mapping[str, Any], limit: int | None = None) -> str:
    """``LR=0.02, DEPTH=6``; cut to ``limit`` characters with an ellipsis."""
    text = ", ".join(f"{name}={_value(value)}" for name, value in changes.items()) or "(no change)"
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def cell(text: Any, limit: int = 160) -> str:
    """One Markdown table cell: a single line, pipes escaped, long text cut."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def metric_text(metric: float | None) -> str:
    return "—" if metric is None else f"{metric:.6f}"


def delta_text(best: float, baseline: float) -> str:
    """``-0.050000 (-5.00%)``: absolute and relative change from the baseline."""
    delta = best - baseline
    relative = f" ({delta / baseline * 100:+.2f}%)" if baseline else ""
    return f"{delta:+.6f}{relative}"
