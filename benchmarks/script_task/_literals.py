"""Read and write the literal values of a hyperparameter block with libcst.

Only a closed set of literal node shapes is understood: numbers (with an
optional leading minus), plain strings, ``True``/``False`` and tuples of
those. Anything else is not a literal and is never evaluated; a new value
is rendered from its Python type and parsed back to check that it is exactly
the literal it claims to be before it can enter a script.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import libcst as cst

__all__ = ["NotALiteral", "literal_value", "render_literal"]


class NotALiteral(ValueError):
    """The expression is not one of the understood literal shapes."""


def literal_value(node: cst.BaseExpression) -> Any:
    """The Python value of a literal expression node; raises NotALiteral."""
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.SimpleString):
        prefix = node.prefix.lower()
        if "b" in prefix or "f" in prefix:
            raise NotALiteral("bytes and f-strings are not literals of a hyperparameter block")
        # ast.literal_eval on a single string token only decodes escapes; it runs nothing.
        return ast.literal_eval(node.value)
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = literal_value(node.expression)
        if isinstance(inner, bool) or not isinstance(inner, (int, float)):
            raise NotALiteral("a sign applies only to a number")
        return -inner if isinstance(node.operator, cst.Minus) else inner
    if isinstance(node, cst.Tuple):
        if any(isinstance(element, cst.StarredElement) for element in node.elements):
            raise NotALiteral("a starred element is not a literal")
        return tuple(literal_value(element.value) for element in node.elements)
    raise NotALiteral(f"{type(node).__name__} is not a literal")


def _render_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotALiteral(f"{value!r} has no literal form")
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(_render_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise NotALiteral(f"a value of type {type(value).__name__} cannot be written as a literal")


def render_literal(value: Any) -> cst.BaseExpression:
    """A libcst literal node for ``value``, checked to read back as exactly ``value``."""
    node = cst.parse_expression(_render_text(value))
    back = literal_value(node)
    if back != value or not _same_types(back, value):
        raise NotALiteral(f"{value!r} does not round-trip through a literal")
    return node


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True
