"""Write a search space as a ``--space`` TOML file (docs/space-toml.md), one that reads back as itself.

``render_space_file`` is what ``--dry-run`` prints: every parameter as a
``[params.NAME]`` table with its ``kind``, bounds (``low``, ``high``,
``log``) or ``choices``, ``locked`` and ``description``, and the excluded
names, so that :func:`._space_file.parse_space_table` on the printed text,
applied to the same script, gives the same space. Standard library only: TOML
is written by hand because it is a small, closed set of value shapes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from interfaces import ParamKind, ParamSpec, SearchSpace

from ._discover import name_rule

__all__ = ["render_space_file", "toml_key", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")  # TOML forbids raw control characters in a basic string
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"{text!r} holds a lone surrogate, which TOML (UTF-8) cannot represent")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """``value`` (bool, int, float, str, or a tuple/list of those) as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # repr round-trips and always has a '.' or an exponent: a TOML float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ValueError(f"a {type(value).__name__} has no TOML form")


def toml_key(name: str) -> str:
    """``name`` as one TOML key: bare when it can be, quoted otherwise (``"params.n_estimators"``)."""
    return name if _BARE_KEY.match(name) else _string(name)


def _summary(spec: ParamSpec) -> str:
    if spec.kind is ParamKind.CHOICE:
        allowed = "one of " + ", ".join(repr(c) for c in spec.choices)
    elif spec.kind is ParamKind.BOOL:
        allowed = "true or false"
    else:
        allowed = f"{spec.kind.value} in [{spec.low!r}, {spec.high!r}]" + (", log scale" if spec.log else "")
    line = f"# {spec.name} = {spec.default!r}: {allowed}"
    rule = name_rule(spec.name)
    if spec.locked:
        line += f"; locked ({rule.why})" if rule is not None and rule.locked else "; locked"
    return line


def _entry(spec: ParamSpec) -> list[str]:
    lines = [_summary(spec), f"[params.{toml_key(spec.name)}]", f"kind = {toml_value(spec.kind.value)}"]
    if spec.kind is ParamKind.CHOICE:
        lines.append(f"choices = {toml_value(list(spec.choices))}")
    elif spec.kind in (ParamKind.FLOAT, ParamKind.INT):
        lines += [f"low = {toml_value(spec.low)}", f"high = {toml_value(spec.high)}",
                  f"log = {toml_value(spec.log)}"]
    lines.append(f"locked = {toml_value(spec.locked)}")
    if spec.description:
        lines.append(f"description = {toml_value(spec.description)}")
    return lines


def render_space_file(space: SearchSpace, *, exclude: Iterable[str] = (), header: Iterable[str] = ()) -> str:
    """The TOML text of ``space`` in the ``--space`` format; ``header`` lines become leading comments."""
    lines = [f"# {' '.join(str(line).splitlines())}" for line in header]
    lines += ["# Edit the bounds, choices or locked flags, then pass this file back with --space FILE",
              "# (docs/space-toml.md). Names in exclude keep their value and are not searched.",
              "",
              f"exclude = {toml_value(list(exclude))}"]
    for spec in space:
        lines += ["", *_entry(spec)]
    return "\n".join(lines) + "\n"
