"""Find the hyperparameter block of a script: its module-level UPPERCASE literals and dict literals.

Two shapes of module-level assignment are parameters (docs/space-toml.md):

* ``NAME = literal`` (or ``NAME: type = literal``) where ``NAME`` is
  UPPERCASE; the parameter is called ``NAME``.
* ``name = {"key": literal, ...}``, a dict literal bound to any name that
  does not start with ``_``; each key is a parameter called ``name.key``
  (``params.n_estimators``). The dict qualifies only when every key is a
  string literal that is a Python identifier (as in ``Model(**params)``),
  no key repeats, every value is a literal or ``None`` (a ``None`` key is
  not a parameter: there is nothing to search around), and the name is bound
  once at module level. Any other dict is not part of the block.

A literal is a number, a string, ``True``/``False`` or a tuple of those
(:mod:`._literals`). ``default_spec`` gives each parameter generic bounds,
narrowed by what its name says (:data:`NAME_RULES`).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider

from interfaces import ParamKind, ParamSpec, SearchSpace, SpaceError

from ._literals import NotALiteral, literal_value

__all__ = ["Assignment", "BoundsRule", "NAME_RULES", "SEED_PATTERN", "default_spec", "dict_entries",
           "discover_space", "find_assignments", "is_seed", "name_rule"]

_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Assignment:
    """One module-level ``NAME = literal`` (or ``NAME: type = literal``), or one key of a dict literal.

    For a dict key, ``name`` is ``<dict>.<key>``, ``container`` and ``key``
    name the dict and the key, and ``line`` is the key's own line; for a
    plain assignment both are empty.
    """

    name: str
    value: Any
    line: int
    container: str = ""
    key: str = ""


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


def dict_entries(node: cst.BaseExpression) -> list[tuple[str, Any, cst.DictElement]] | None:
    """``(key, value, element)`` for each parameter of a qualifying dict literal, or None.

    None when ``node`` is not a dict literal, is empty, or has a key that is
    not an identifier string literal, a repeated key, a ``**`` element or a
    value that is neither a literal nor ``None``. ``None`` values qualify the
    dict but give no entry.
    """
    if not isinstance(node, cst.Dict) or not node.elements:
        return None
    entries: list[tuple[str, Any, cst.DictElement]] = []
    seen: set[str] = set()
    for element in node.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        try:
            key = literal_value(element.key)
        except NotALiteral:
            return None
        if not isinstance(key, str) or not key.isidentifier() or key in seen:
            return None
        seen.add(key)
        if isinstance(element.value, cst.Name) and element.value.value == "None":
            continue
        try:
            entries.append((key, literal_value(element.value), element))
        except NotALiteral:
            return None
    return entries


def _module_statements(module: cst.Module):
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body


def find_assignments(source: str) -> tuple[Assignment, ...]:
    """Every parameter of the block (see the module docstring), in source order.

    Only top-level statements count: assignments inside functions, classes or
    ``if`` blocks (such as ``if __name__ == "__main__":``) are not part of the
    block. An UPPERCASE name bound to a literal twice at module level is
    ambiguous and raises ``duplicate-assignment``; a dict whose name is bound
    more than once does not qualify.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise SpaceError(f"the script does not parse: {exc.message}", code="script-syntax-error") from None
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    bound: dict[str, int] = {}
    for small in _module_statements(wrapper.module):
        target = _target_name(small)
        if target is not None:
            bound[target[0]] = bound.get(target[0], 0) + 1
    found: list[Assignment] = []
    for small in _module_statements(wrapper.module):
        target = _target_name(small)
        if target is None:
            continue
        name, value_node = target
        if isinstance(value_node, cst.Dict):
            entries = dict_entries(value_node) if not name.startswith("_") and bound[name] == 1 else None
            found.extend(Assignment(f"{name}.{key}", value, positions[element].start.line, name, key)
                         for key, value, element in entries or ())
            continue
        if not _UPPER.match(name):
            continue
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


@dataclass(frozen=True)
class BoundsRule:
    """What a parameter's name says about its valid values (one row of :data:`NAME_RULES`).

    ``locked``: keep the default (``why`` says why). ``floor``: the smallest
    valid value, applied when the default is at or above it (a default below
    it means the name does not mean what the rule assumes). ``span``: the
    factors ``(down, up)`` of a positive number's range, ``default / down``
    to ``default * up``, instead of the generic 8 (ints) or 10 (floats).
    ``unit``: a float whose default lies in [0, 1] stays in [0, 1].
    """

    locked: bool = False
    floor: float | None = None
    span: tuple[float, float] | None = None
    unit: bool = False
    why: str = ""


def _words(*words: str) -> str:
    # A whole underscore-separated word of the name: EPOCHS matches MAX_EPOCHS, not EPOCHSX.
    return rf"(?:^|_)(?:{'|'.join(words)})(?:_|$)"


#: A seed's name: ``SEED``, ``..._SEED``, ``SEED_...``, ``RANDOM_STATE`` (matched on the last name part, uppercased).
SEED_PATTERN = _words("SEED") + "|^RANDOM_STATE$"

NAME_RULES: tuple[tuple[str, BoundsRule], ...] = (
    (SEED_PATTERN,
     BoundsRule(locked=True, why="a seed changes the noise, not the model; tuning it fits that noise")),
    (_words("TEST_SIZE", "TEST_SPLIT", "TEST_FRACTION", "VAL_SIZE", "VAL_SPLIT", "VALIDATION_SIZE",
            "VALIDATION_SPLIT", "HOLDOUT"),
     BoundsRule(locked=True, why="the evaluation split changes what the metric measures")),
    (_words("N_JOBS", "NUM_WORKERS", "VERBOSE", "VERBOSITY"),
     BoundsRule(locked=True, why="a run setting: it changes speed or logging, not the model")),
    (_words("MIN_SAMPLES_SPLIT", "NUM_LEAVES", "MAX_LEAF_NODES"),
     BoundsRule(floor=2, why="a split needs at least two samples or leaves")),
    (_words("N_ESTIMATORS", "ESTIMATORS", "ITERATIONS", "ITERS", "MAX_ITER", "N_ITER", "NUM_BOOST_ROUND",
            "EPOCHS", "STEPS"),
     BoundsRule(floor=1, span=(4, 2), why="cost grows with the count: at most twice the default")),
    (_words("DROPOUT", "SUBSAMPLE", "COLSAMPLE", "FRACTION", "FRAC", "RATIO", "MAX_FEATURES", "MOMENTUM",
            "PROB", "PROBABILITY", "P"),
     BoundsRule(unit=True, why="a fraction or probability lies in [0, 1]")),
)
"""``(pattern, rule)`` rows, first match wins; a pattern is searched in the
parameter's last name part, uppercased (``params.random_state`` is matched as
``RANDOM_STATE``), so UPPERCASE names and dict keys share the table."""

_NO_RULE = BoundsRule()


def is_seed(name: str) -> bool:
    """Whether ``name`` (an UPPERCASE literal or a dict key ``params.random_state``) names a seed."""
    return re.search(SEED_PATTERN, name.rsplit(".", 1)[-1].upper()) is not None


def name_rule(name: str) -> BoundsRule | None:
    """The first row of :data:`NAME_RULES` whose pattern matches ``name``'s last part, or None."""
    base = name.rsplit(".", 1)[-1].upper()
    return next((rule for pattern, rule in NAME_RULES if re.search(pattern, base)), None)


def _int_spec(name: str, value: int, rule: BoundsRule) -> ParamSpec:
    if value > 0:
        down, up = rule.span or (8, 8)
        low, high = max(1, int(value // down)), math.ceil(value * up)
        if rule.floor is not None and value >= rule.floor:
            low = max(low, math.ceil(rule.floor))
        return ParamSpec(name, ParamKind.INT, value, low=low, high=high, log=True, locked=rule.locked)
    if value == 0:
        return ParamSpec(name, ParamKind.INT, value, low=0, high=8, locked=rule.locked)
    span = max(8, abs(value) * 8)
    return ParamSpec(name, ParamKind.INT, value, low=value - span, high=value + span, locked=rule.locked)


def _within_floats(low: float, high: float, value: float) -> tuple[float, float]:
    # At the ends of the float range x10 overflows to inf and /10 underflows to 0; keep finite bounds that
    # still hold the default (and a positive low for a log scale).
    low = low if math.isfinite(low) and (low > 0 or value <= 0) else (-sys.float_info.max if low < 0 else value)
    high = high if math.isfinite(high) else sys.float_info.max
    return low, high


def _float_spec(name: str, value: float, rule: BoundsRule) -> ParamSpec:
    if value > 0:
        down, up = rule.span or (10, 10)
        low, high = _within_floats(value / down, value * up, value)
        if rule.unit and value <= 1.0:
            high = min(high, 1.0)
        if rule.floor is not None and value >= rule.floor:
            low = max(low, float(rule.floor))
        return ParamSpec(name, ParamKind.FLOAT, value, low=low, high=high, log=True, locked=rule.locked)
    if value == 0:
        return ParamSpec(name, ParamKind.FLOAT, value, low=0.0, high=1.0, locked=rule.locked)
    low, high = _within_floats(value * 10, value / 10, value)
    return ParamSpec(name, ParamKind.FLOAT, value, low=low, high=high, locked=rule.locked)


def default_spec(name: str, value: Any) -> ParamSpec:
    """A generic spec for a discovered literal, narrowed by :data:`NAME_RULES`.

    Numbers get a wide multiplicative range around the default (x1/10 to x10
    for floats, x1/8 to x8 for positive ints; a zero int stays in [0, 8], a
    zero float in [0, 1]); strings and tuples are fixed single choices,
    locked until a space file says what else is allowed. A name rule then
    locks seeds (``SEED``, ``..._SEED``, ``RANDOM_STATE``, a dict's
    ``random_state``), evaluation splits and run settings, raises the floor of
    counts that need two (``min_samples_split``), narrows iteration counts to
    x1/4 to x2, and keeps fractions and probabilities in [0, 1].
    """
    rule = name_rule(name) or _NO_RULE
    if isinstance(value, bool):
        return ParamSpec(name, ParamKind.BOOL, value, locked=rule.locked)
    if isinstance(value, int):
        return _int_spec(name, value, rule)
    if isinstance(value, float):
        return _float_spec(name, value, rule)
    return ParamSpec(name, ParamKind.CHOICE, value, choices=(value,), locked=True)


def discover_space(source: str) -> SearchSpace:
    """The search space of a script's hyperparameter block with generic bounds."""
    return SearchSpace(tuple(default_spec(a.name, a.value) for a in find_assignments(source)))
