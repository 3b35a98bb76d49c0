"""Plain data: the only values allowed to leave a mechanism.

Checks use exact types (``type(x) is dict``), so a subclass with a hostile
``__eq__``, ``__hash__`` or ``__del__`` is refused rather than trusted.
"""

from __future__ import annotations

import types
import typing
from typing import Any

__all__ = ["is_plain", "matches_annotation", "return_annotation", "to_plain"]

_SCALARS = (type(None), bool, int, float, str)


class _NotPlain(Exception):
    pass


def to_plain(value: Any) -> tuple[bool, Any]:
    """``(True, copy)`` with every tuple made a list, or ``(False, None)`` when ``value`` is not plain.

    A mechanism's answer is often a tuple where a list is meant: a choice
    parameter whose values are tuples (``(0.9, 0.95)``), ``return a, b``.
    Both are the same plain data once encoded, so a tuple is converted, not
    refused; anything else outside :func:`is_plain` still is.
    """

    def convert(item: Any, depth: int) -> Any:
        if depth > 32:
            raise _NotPlain
        kind = type(item)
        if kind in _SCALARS:
            return item
        if kind is list or kind is tuple:
            return [convert(v, depth + 1) for v in item]
        if kind is dict:
            if not all(type(k) is str for k in item):
                raise _NotPlain
            return {k: convert(v, depth + 1) for k, v in item.items()}
        raise _NotPlain

    try:
        return True, convert(value, 0)
    except _NotPlain:
        return False, None


def is_plain(value: Any, *, depth: int = 0) -> bool:
    """True for None/bool/int/float/str and lists/dicts (str keys) of those."""
    if depth > 32:
        return False
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(is_plain(v, depth=depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and is_plain(v, depth=depth + 1) for k, v in value.items())
    return False


def return_annotation(protocol: Any, method: str) -> Any:
    """The resolved return annotation of ``protocol.method``."""
    return typing.get_type_hints(getattr(protocol, method)).get("return", Any)


def matches_annotation(value: Any, hint: Any) -> bool:
    """True when plain ``value`` fits ``hint`` (None, bool, int, float, str,
    Optional/Union, list[...] and dict[str, ...] forms)."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(matches_annotation(value, a) for a in args)
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float)
    if hint is str:
        return type(value) is str
    if hint in (list, dict):
        return type(value) is hint
    if origin is list:
        return type(value) is list and (not args or all(matches_annotation(v, args[0]) for v in value))
    if origin is dict:
        return type(value) is dict and (not args or all(
            matches_annotation(k, args[0]) and matches_annotation(v, args[1]) for k, v in value.items()))
    return False
