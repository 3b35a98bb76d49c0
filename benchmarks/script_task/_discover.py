"""Find the hyperparameter block of a script: its module-level UPPERCASE literals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider

from interfaces import ParamKind, ParamSpec, SearchSpace, SpaceError

from ._literals import NotALiteral, literal_value

__all__ = ["Assignment", "find_assignments", "discover_space", "default_spec"]

_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Assignment:
    """One module-level ``NAME = literal`` (or ``NAME: type = literal``)."""

    name: str
    value: Any
    line: int


def _target_name(statement: cst.BaseSmallStatement) -> tuple[str, cst.BaseExpression] | None:
    if isinstance(statement, cst.Assign):
        if len(statement.targets) != 1 or not isinstance(statement.targets[0].target, cst.Name):
            return None
        return statement.targets[0].target.value, statement.value
    if isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name):
        if statement.value is None:
            return None
        return statement.target.value, statement.value
    return None


def find_assignments(source: str) -> tuple[Assignment, ...]:
    """Every module-level UPPERCASE name bound to a literal, in source order.

    Only top-level statements count: assignments inside functions, classes or
    ``if`` blocks (such as ``if __name__ == "__main__":``) are not part of the
    block. A name bound twice at module level is ambiguous and raises.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise SpaceError(f"the script does not parse: {exc.message}", code="script-syntax-error") from None
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    found: list[Assignment] = []
    for statement in wrapper.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target = _target_name(small)
            if target is None or not _UPPER.match(target[0]):
                continue
            name, value_node = target
            try:
                value = literal_value(value_node)
            except NotALiteral:
                continue
            found.append(Assignment(name, value, positions[small].start.line))
    names = [a.name for a in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        lines = "; ".join(f"{n} on lines {', '.join(str(a.line) for a in found if a.name == n)}"
                          for n in duplicated)
        raise SpaceError(f"a hyperparameter is assigned more than once: {lines}",
                         code="duplicate-assignment")
    return tuple(found)


def default_spec(name: str, value: Any) -> ParamSpec:
    """A generic spec for a discovered literal.

    Numbers get a wide multiplicative range around the default (x1/10 to x10
    for floats, x1/8 to x8 for positive ints; a zero int stays non-negative),
    strings and tuples are fixed single choices, locked until a task's
    overrides say what else is allowed. A random seed (``SEED``,
    ``..._SEED``, ``RANDOM_STATE``) is locked: changing it changes the noise,
    not the model, and a search that tunes it fits that noise.
    """
    if isinstance(value, bool):
        return ParamSpec(name, ParamKind.BOOL, value)
    if isinstance(value, int):
        seed = name in ("SEED", "RANDOM_STATE", "RANDOM_SEED") or name.endswith("_SEED")
        if value > 0:
            return ParamSpec(name, ParamKind.INT, value, low=max(1, value // 8), high=value * 8, log=True,
                             locked=seed)
        if value == 0:
            return ParamSpec(name, ParamKind.INT, value, low=0, high=8, locked=seed)
        span = max(8, abs(value) * 8)
        return ParamSpec(name, ParamKind.INT, value, low=value - span, high=value + span)
    if isinstance(value, float):
        if value > 0:
            return ParamSpec(name, ParamKind.FLOAT, value, low=value / 10, high=value * 10, log=True)
        if value == 0:
            return ParamSpec(name, ParamKind.FLOAT, value, low=0.0, high=1.0)
        return ParamSpec(name, ParamKind.FLOAT, value, low=value * 10, high=value / 10)
    return ParamSpec(name, ParamKind.CHOICE, value, choices=(value,), locked=True)


def discover_space(source: str) -> SearchSpace:
    """The search space of a script's hyperparameter block with generic bounds."""
    return SearchSpace(tuple(default_spec(a.name, a.value) for a in find_assignments(source)))
