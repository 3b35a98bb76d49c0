"""Reading the facts the heuristic stand-in needs out of a request's context."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from interfaces import SearchConfig, SearchSpace, TraceView

from .._errors import provider_error

__all__ = ["require", "space_of", "trace_of", "config_of", "texts", "names_mentioned"]


def require(context: Mapping[str, Any], purpose: str, *keys: str) -> None:
    missing = [k for k in keys if k not in context]
    if missing:
        raise provider_error(
            "heuristic-context-missing",
            f"the heuristic provider needs context key(s) {', '.join(missing)} for a {purpose} request",
        )


def space_of(context: Mapping[str, Any]) -> SearchSpace:
    space = context["space"]
    return space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space)


def trace_of(context: Mapping[str, Any]) -> TraceView:
    trace = context.get("trace", ())
    minimize = bool(context.get("minimize", True))
    return trace if isinstance(trace, TraceView) else TraceView.from_list(trace, minimize=minimize)


def config_of(context: Mapping[str, Any], space: SearchSpace) -> SearchConfig:
    config = context.get("config")
    if config is None:
        return SearchConfig(active=space.searchable())
    return config if isinstance(config, SearchConfig) else SearchConfig.from_dict(config)


def texts(value: Any) -> tuple[str, ...]:
    """A context entry that may be one string or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return tuple(str(v) for v in value if str(v).strip())


def names_mentioned(text_items: Iterable[str], names: Iterable[str]) -> tuple[str, ...]:
    """Parameter names that occur as whole words in the texts, in order of first mention."""
    found: list[tuple[int, int, str]] = []
    for item_index, text in enumerate(text_items):
        for name in names:
            match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)
            if match:
                found.append((item_index, match.start(), name))
    ordered: list[str] = []
    for _, _, name in sorted(found):
        if name not in ordered:
            ordered.append(name)
    return tuple(ordered)
